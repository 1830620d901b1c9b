/**
 * One platform process for the PostgreSQL bench (bench-postgres.ts): `platform serve` with the
 * bench's settings — velocity limits off (a few carriers pay thousands of orders) — on the
 * database given as argv[2], admin key written to argv[3]. Prints {"url": …} once listening; stops
 * on SIGTERM. Bench only.
 */
import { startPlatformServer } from "./http.ts";
import { BENCH_RISK } from "./bench-postgres.ts";

const [db, adminKeyFile] = process.argv.slice(2);
if (!db || !adminKeyFile) throw new Error("usage: bench-server.ts POSTGRES_URL ADMIN_KEY_FILE");
const running = await startPlatformServer({ db, adminKeyFile, risk: BENCH_RISK, port: 0 });
process.stdout.write(JSON.stringify({ url: running.url }) + "\n");
process.once("SIGTERM", () => {
  void running.close().then(() => process.exit(0));
});
