/**
 * `npm start -- --peer`: the peer payment (docs/PEER.md) with two virtual carriers on this machine.
 *   two virtual nRF52840 boards running keycarrier.full.js (the bundle with the peer applet) → the
 *   platform (temporary ledger) → both provisioned and personalised → the payee's host runs
 *   `keycarrier peer request` (its carrier's button pressed through the emulator's control port) →
 *   the payer's host runs `keycarrier peer pay` with what the payee's host printed → settled once →
 *   both hosts poll `keycarrier peer status` → a duplicate instruction is answered with the same settlement.
 * Everything created lives in one temporary directory, removed at the end.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator, type RunningEmulator } from "../cli/emulate.ts";
import { KeyCarrier } from "../client.ts";
import { startPlatformServer, type RunningPlatform } from "../platform/http.ts";
import { personalise, provision } from "../flows/personalise.ts";
import { main as cli } from "../cli/main.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const FULL = join(ROOT, "firmware", "dist", "keycarrier.full.js");
const STEPS = 6;

const out = (text: string): void => { process.stdout.write(text); };
const note = (text: string): void => { process.stdout.write(`   ${text}\n`); };
let stepNo = 0;
function step(title: string): void {
  stepNo++;
  out(`\n[${stepNo}/${STEPS}] ${title}\n`);
}

/** Runs the keycarrier CLI in this process, as a user would type it; returns its JSON answer. */
async function keycarrier(args: string[]): Promise<Record<string, unknown>> {
  note(`$ keycarrier ${args.join(" ")}`);
  let stdout = "";
  const code = await cli([...args, "--json"], { stdout: (t) => { stdout += t; }, stderr: (t) => note(t.trimEnd()), env: process.env });
  if (code !== 0) throw new Error(`keycarrier ${args[0]} ${args[1]} exited ${code}`);
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

export async function peerDemo(pin = "1234"): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "keycarrier-demo-"));
  process.env.KEYCARRIER_HOME = work;
  const started = performance.now();
  const emus: RunningEmulator[] = [];
  let platform: RunningPlatform | undefined;
  out("KeyCarrier peer demo: two virtual carriers, one payment request, one instruction, settled once by the platform.\n");
  try {
    step("firmware: keycarrier.full.js (the bundle with the peer applet, for the nrf52840)");
    if (!existsSync(FULL)) {
      note("not built yet: running npm run build …");
      const build = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "firmware/build/cli.ts")], { cwd: ROOT, encoding: "utf8" });
      if (!existsSync(FULL)) throw new Error(`the firmware build failed (exit ${build.status}); run \`npm run build\` to see why`);
    }

    step("two virtual nRF52840 carriers (payee and payer) and the platform");
    for (const who of ["payee", "payer"]) {
      const emu = await startEmulator({
        board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, firmwareFile: FULL,
        seed: Math.floor(Math.random() * 1e9), virtualClock: false, banner: false,
      });
      emus.push(emu);
      note(`${who}: ${emu.tcp.url}, control port ${emu.control.port}`);
    }
    platform = await startPlatformServer({ port: 0, dbFile: join(work, "platform.sqlite"), allowDevTransportKey: true });
    note(`platform on ${platform.url} (DEV FLAG: accepts the public development transport key)`);

    step(`provision and personalise both carriers; PIN ${pin} enrolled at the platform for each`);
    const ids: string[] = [];
    for (const emu of emus) {
      const kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 2000, retries: 2 });
      try {
        await provision(kc, platform.platform);
        const p = await personalise(kc, platform.platform, { pin });
        ids.push(p.carrierId);
        note(`carrier ${p.carrierId} is PERSONALISED`);
      } finally {
        await kc.close();
      }
    }

    step("the payee's host: keycarrier peer request (the payee presses its carrier's button)");
    const [payee, payer] = emus as [RunningEmulator, RunningEmulator];
    const req = await keycarrier(["peer", "request", "--port", payee.tcp.url, "--amount", "1250", "--currency", "EUR", "--platform", platform.url, "--control", String(payee.control.port)]);
    note(`request ${String(req.requestDigest)} for ${String(req.display)}: the payee's host hands the payer its bytes (QR, link, NFC between phones)`);

    step("the payer's host: keycarrier peer pay (the payer presses its carrier's button; the PIN goes to the platform)");
    const paid = await keycarrier(["peer", "pay", "--port", payer.tcp.url, "--request", String(req.request), "--pin", pin, "--platform", platform.url, "--control", String(payer.control.port)]);
    const s = paid.settlement as { settlementId: string; display: string; payerId: string; payeeId: string; atc: number };
    out(`\n   SETTLED ${s.display} from ${s.payerId} to ${s.payeeId}: settlement ${s.settlementId}, payer ATC ${s.atc}\n`);

    step("both hosts poll the platform; a duplicate instruction gets the same settlement");
    const status = await keycarrier(["peer", "status", "--digest", String(req.requestDigest), "--platform", platform.url]);
    note(`request ${String(status.requestDigest)} is ${String(status.state)}`);
    const row = platform.platform.ledger.get("SELECT instruction_hex FROM peer_settlements WHERE settlement_id = ?", [s.settlementId])!;
    const again = await fetch(`${platform.url}/v1/peer/instructions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sealed: row.instruction_hex }) });
    const body = (await again.json()) as { settlementId: string };
    note(`instruction sent again: HTTP ${again.status}, settlement ${body.settlementId} (${body.settlementId === s.settlementId ? "the same one: settled exactly once" : "A SECOND ONE"})`);
    const n = Number(platform.platform.ledger.get("SELECT count(*) AS n FROM peer_settlements")!.n);
    note(`peer settlements in the ledger: ${n}`);
    if (n !== 1 || body.settlementId !== s.settlementId) throw new Error("the platform settled the peer payment more than once");
    out(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`\nnpm start -- --peer failed at step ${stepNo}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await platform?.close().catch(() => {});
    for (const emu of emus) await emu.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
