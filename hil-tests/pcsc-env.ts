// A private pcscd with a vpcd reader for one test file: its own reader.conf (vpcd on a free
// loopback-chosen port), its own socket directory (pcscd 1.9.9 has its socket path compiled in, so
// it runs in a mount namespace where /run/pcscd is a temporary directory; clients find it through
// PCSCLITE_CSOCK_NAME, which libpcsclite honours). Two suites can run at once. When something is
// missing (pcscd, vpcd, unshare/mount rights, the Node binding) the reason is returned, and the test
// prints it and skips. KC_PCSCD_LOG=FILE appends pcscd's debug log to FILE.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";

export const VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

export interface PrivatePcscd { port: number; socket: string; readerName: string; stop(): Promise<void> }

/** Whether 127.0.0.1:port can be bound right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A port p with p and p + 1 free for vpcd's two slots, drawn at random below Linux's ephemeral range
 * (32768–60999): ports the kernel hands out come in sequence, so two test files starting a pcscd at
 * once got neighbouring ports and one vpcd found its slot taken (pcscd then runs with no reader).
 */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canBind(p)) && (await canBind(p + 1))) return p;
  }
  throw new Error("no two neighbouring free ports for vpcd in 20000–31999");
}

export async function startPrivatePcscd(): Promise<PrivatePcscd | { skip: string }> {
  if (spawnSync("sh", ["-c", "command -v pcscd"]).status !== 0) return { skip: "pcscd is not installed (scripts/install-system-deps.sh installs it)" };
  if (!existsSync(VPCD_DRIVER)) return { skip: `vpcd is not installed (${VPCD_DRIVER}; Debian vsmartcard-vpcd)` };
  try {
    (await import("node:module")).createRequire(import.meta.url)("@pokusew/pcsclite");
  } catch (e) {
    return { skip: `the Node PC/SC binding @pokusew/pcsclite is not built (${(e as Error).message.split("\n")[0]})` };
  }
  const dir = mkdtempSync(path.join(tmpdir(), "kc-pcscd-"));
  // vpcd opens two slots, on port and port + 1; both must be free
  const port = await freePortPair();
  const conf = path.join(dir, "reader.conf");
  const name = `KeyCarrier test ${port}`;
  writeFileSync(conf, `FRIENDLYNAME "${name}"\nDEVICENAME /dev/null:${port}\nLIBPATH ${VPCD_DRIVER}\nCHANNELID ${port}\n`);
  const child: ChildProcess = spawn("unshare", ["-m", "sh", "-c", `mkdir -p /run/pcscd && mount --bind "${dir}" /run/pcscd && exec pcscd -f -c "${conf}"${process.env.KC_PCSCD_LOG ? ` --debug >>"${process.env.KC_PCSCD_LOG}" 2>&1` : ""}`], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => { err += String(d); });
  const socket = path.join(dir, "pcscd.comm");
  const deadline = Date.now() + 5_000;
  while (!existsSync(socket) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    return { skip: `could not start a private pcscd (unshare + mount --bind on /run/pcscd needs root): ${err.trim().split("\n").slice(-2).join(" ") || `exit ${child.exitCode}`}` };
  }
  process.env.PCSCLITE_CSOCK_NAME = socket;
  return {
    port, socket, readerName: `${name} 00 00`,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 2_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One private pcscd for the tests of the enclosing describe (or file): started before them, stopped
 * after. `env` is undefined when it could not start; `skip` then says why (printed once, by `label`).
 */
export function usePrivatePcscd(label: string): { env: PrivatePcscd | undefined; skip: string } {
  const state: { env: PrivatePcscd | undefined; skip: string } = { env: undefined, skip: "" };
  beforeAll(async () => {
    const r = await startPrivatePcscd();
    if ("skip" in r) {
      state.skip = r.skip;
      console.log(`${label} skipped: ${r.skip}`);
    } else state.env = r;
  }, 20_000);
  afterAll(async () => {
    await state.env?.stop();
  });
  return state;
}
