/**
 * `npm start`: the whole KeyCarrier story on this machine, step by step, for a newcomer.
 *
 *   build firmware (if missing) → boot a virtual carrier (a bare Espruino REPL) → `keycarrier flash`
 *   it with EspruinoTools → start the payment platform (temporary ledger) → personalise the carrier
 *   → register a merchant and show its payment QR → pay it (the virtual button is pressed through
 *   the emulator's control port) → print the settlement and the carrier's verified log.
 *
 * Everything runs in this process except the firmware build and the EspruinoTools upload, and
 * everything it creates lives in one temporary directory that is removed at the end.
 * Options: --board nrf52840|nrf52840-oled|pico|puckjs (default nrf52840, the primary target; nrf52840-oled
 * has the trusted display: the demo prints the carrier's screen at the confirmation step), --pin DIGITS (default 1234), --keep (keep the
 * temp dir), --bootcde (flash .bootcde even when the bundle leaves the store too little room), --nfc (provision, personalise and pay over NFC through a virtual reader).
 */
import { largestBundleBytes } from "../../firmware/build/cli.ts";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator, type RunningEmulator } from "./cli/emulate.ts";
import { KeyCarrier } from "./client.ts";
import { NfcMailboxTransport } from "./transport/nfc-mailbox.ts";
import { VirtualTagReader } from "./transport/virtual-tag-reader.ts";
import { flashFirmware, progressBar, DEFAULT_FIRMWARE_FILE, NFC_FIRMWARE_FILE } from "./flash/flash.ts";
import { startPlatformServer, type RunningPlatform } from "./platform/http.ts";
import { PlatformClient } from "./platform/client.ts";
import { renderQrPng, renderQrTerminal } from "./qr/image.ts";
import { personalise, provision } from "./flows/personalise.ts";
import { pay, type PaymentPlatform } from "./flows/pay.ts";
import { readLog } from "./flows/log.ts";
import { loadProfile } from "../../board/src/profiles.ts";
import { ControlClient } from "../../board/src/expose/control.ts";

const FULL_FIRMWARE_FILE = "firmware/dist/keycarrier.full.js";

/** Once the carrier asks (LED1 lit), print what its own screen shows (control port "screen") and save it as PNG. */
async function printCarrierScreen(controlPort: number, pngFile: string, signal: AbortSignal): Promise<void> {
  const control = await ControlClient.connect(controlPort);
  try {
    const until = Date.now() + 10_000;
    while (!signal.aborted && Date.now() < until && !((await control.request("leds")).leds as boolean[])[0]) await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) return;
    const shot = await control.request("screen", { scale: 4 });
    writeFileSync(pngFile, Buffer.from(String(shot["png"]), "base64"));
    note(`the carrier's own screen now (what it will sign; saved as ${pngFile}):`);
    for (const line of String(shot["text"]).split("\n")) note(line);
  } finally {
    control.close();
  }
}
import { formatLog, pressVirtualButton } from "./flows/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STEPS = 8;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const out = (text: string): void => { process.stdout.write(text); };
const note = (text: string): void => { process.stdout.write(`   ${text}\n`); };
let stepNo = 0;
let stepStarted = 0;
function step(title: string): void {
  if (stepNo > 0) note(`(${((performance.now() - stepStarted) / 1000).toFixed(1)} s)`);
  stepNo++;
  stepStarted = performance.now();
  out(`\n[${stepNo}/${STEPS}] ${title}\n`);
}

/**
 * .bootcde when the bundle leaves the carrier's store the room it needs (STORAGE.md §7.1: its files
 * and one rotation per boot, no file header in the last page), else RAM — the way the firmware's own
 * payment test runs a bundle too big for a board's Storage.
 */
function flashTarget(board: string, firmwareFile: string, storage: { bytes: number; pageBytes: number }): { ram: boolean; why: string } {
  const bytes = statSync(firmwareFile).size;
  const largest = largestBundleBytes(storage.bytes, storage.pageBytes);
  if (process.argv.includes("--bootcde") || bytes <= largest) {
    return { ram: false, why: `the bundle (${bytes} B) leaves ${board}'s store its room (largest bundle ${largest} B of ${storage.bytes} B Storage)` };
  }
  return {
    ram: true,
    why: `the bundle (${bytes} B) is over the ${largest} B that leave ${board}'s store its room in ${storage.bytes} B of Storage ` +
      "(personalisation would answer STORAGE_FULL); so it goes to RAM, as EspruinoTools' plain upload does " +
      "(pass --bootcde to try .bootcde anyway)",
  };
}

async function main(): Promise<number> {
  const board = arg("board", "nrf52840");
  const pin = arg("pin", "1234");
  const keep = process.argv.includes("--keep");
  // --nfc: personalise and pay over NFC (PROTOCOL.md §10) through a virtual reader in front of the
  // board's NFC controller, instead of over the USB console (the flash step stays on USB).
  const nfc = process.argv.includes("--nfc");
  const work = mkdtempSync(join(tmpdir(), "keycarrier-demo-"));
  process.env.KEYCARRIER_HOME = work; // the emulator registry and the ledger stay in the temp dir
  const started = performance.now();
  let emu: RunningEmulator | undefined;
  let platform: RunningPlatform | undefined;
  let kc: KeyCarrier | undefined;
  let nfcTransport: NfcMailboxTransport | undefined;
  // Ctrl-C: the in-process emulator and platform die with the process; the temp dir must not stay.
  const interrupted = (): void => {
    if (!keep) rmSync(work, { recursive: true, force: true });
    process.stderr.write("\nnpm start interrupted; temporary files removed\n");
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  out("KeyCarrier demo: a virtual key carrier is flashed, personalised, and pays a merchant's QR code.\n");
  try {
    step("firmware bundle");
    // --nfc needs the bundle with the NFC link; keycarrier.js has it compiled out (USB only).
    // A board with a display takes the bundle with it (keycarrier.full.js, KC_DISPLAY).
    const firmwareName = loadProfile(board).peripherals.display ? FULL_FIRMWARE_FILE : nfc ? NFC_FIRMWARE_FILE : DEFAULT_FIRMWARE_FILE;
    const firmwareFile = join(ROOT, firmwareName);
    if (existsSync(firmwareFile)) note(`using ${firmwareName} (delete it or run \`npm run build\` to rebuild)`);
    else {
      note("not built yet: running the TypeScript → Espruino ES5 pipeline (npm run build) …");
      const build = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "firmware/build/cli.ts")], { cwd: ROOT, encoding: "utf8" });
      for (const line of `${build.stdout}${build.stderr}`.trim().split("\n")) if (line.trim()) note(line);
      if (!existsSync(firmwareFile)) throw new Error(`the firmware build failed (exit ${build.status}); run \`npm run build\` to see why`);
    }

    step(`virtual carrier (board profile ${board}) with a bare Espruino REPL`);
    emu = await startEmulator({
      board, tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined,
      seed: Math.floor(Math.random() * 1e9), virtualClock: false, banner: true,
    });
    note(`console on ${emu.tcp.url}, control port 127.0.0.1:${emu.control.port} (buttons, LEDs, power)`);

    const target = flashTarget(board, firmwareFile, emu.board.profile.storage);
    step(`keycarrier flash --port ${emu.tcp.url}${target.ram ? " --ram" : ""} (EspruinoTools upload${target.ram ? " to RAM" : " to .bootcde, verify, reboot"})`);
    note(target.why);
    const bar = progressBar((t) => process.stdout.write(t), Boolean(process.stdout.isTTY));
    const flashed = await flashFirmware({
      port: emu.tcp.url, firmwareFile, target: target.ram ? "ram" : "bootcde",
      onProgress: (sent, total) => bar.update(sent, total),
      log: (line) => { if (!line.startsWith("espruino: ")) note(line); },
    });
    bar.finish();
    note(`${flashed.bytes} bytes${target.ram ? "" : `, CRC-32 ${flashed.crc32.toString(16).padStart(8, "0")} verified`}; running KeyCarrier ${flashed.booted!.firmwareVersion}, state ${flashed.booted!.stateName}`);

    step("payment platform (HTTP on loopback, SQLite ledger in the temp dir)");
    platform = await startPlatformServer({ port: 0, dbFile: join(work, "platform.sqlite"), allowDevTransportKey: true });
    note(`listening on ${platform.url}`);
    note("DEV FLAG: this platform accepts the public development transport key (allowDevTransportKey), so a");
    note("recording of this personalisation is readable by anyone. A production platform refuses it and");
    note("provisions each carrier's kc.tk from a secret batch key in its keystore (`keycarrier provision`).");

    step(`provision (kc.tk, dev batch key) and personalise the carrier${nfc ? " over NFC" : ""}; PIN ${pin} enrolled at the platform`);
    if (nfc) {
      if (!emu.board.profile.peripherals.nfc) throw new Error(`--nfc: board ${board} has no NFC; use nrf52840 or puckjs`);
      const reader = new VirtualTagReader(emu.board.nfc, { advance: () => {}, realTime: true }, "virtual reader (the board's NFC controller)");
      nfcTransport = new NfcMailboxTransport(reader);
      note("the carrier lies on a virtual contactless reader: requests are WRITEs of Type 2 Tag pages, replies READs (PROTOCOL.md §10)");
      kc = await KeyCarrier.open(nfcTransport, { timeoutMs: 4000, retries: 2 });
    } else kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 2000, retries: 2 });
    await provision(kc, platform.platform, note);
    const personalised = await personalise(kc, platform.platform, { pin, onStep: note });
    note(`carrier ${personalised.carrierId} is PERSONALISED; ${personalised.triesLeft} PIN tries at the issuer`);

    step("a merchant registers and shows a payment QR code");
    // The admin key was created with the ledger (also in platform.sqlite.admin-key, mode 0600); the
    // merchant's key comes back once, at registration. The payer's app needs no key.
    const admin = new PlatformClient(platform.url, { apiKey: platform.platform.createdAdminKey });
    const merchant = await admin.registerMerchant({ name: "Corner Café" });
    note(`merchant registered with the admin API key; its own API key (shown once) mints its codes`);
    const shop = new PlatformClient(platform.url, { apiKey: merchant.apiKey });
    const code = await shop.issuePaymentCode(merchant.merchantId, { amount: 1250, currency: "EUR" });
    const http = new PlatformClient(platform.url);
    out(await renderQrTerminal(code.code));
    const png = join(work, "payment-code.png");
    writeFileSync(png, await renderQrPng(code.code));
    note(`merchant ${merchant.merchantId} (${merchant.name}) asks ${code.display}; code ${code.code}`);

    step("pay: platform validates → order → PIN encrypted to the platform, checked there → its MAC'd verdict + order in one PAY → button press → cryptogram → settle");
    const running = platform;
    const paymentPlatform: PaymentPlatform = {
      validatePaymentCode: (c) => http.validatePaymentCode(c),
      createOrder: (c) => http.createOrder(c),
      authorize: (req) => http.authorize(req),
      getCarrier: (id) => running.platform.getCarrier(id),
      carrierKeys: (id) => running.platform.carrierKeys(id),
      // online PIN over HTTP: the PIN block goes to the platform's API, the verdict comes back
      pinChallenge: (req) => http.pinChallenge(req),
      verifyOrderPin: (req) => http.verifyOrderPin(req),
    };
    const controlPort = emu.control.port;
    const paid = await pay(kc, paymentPlatform, code.code, {
      pin,
      confirm: async (signal) => {
        if (running && emu?.board.display) await printCarrierScreen(controlPort, join(work, "carrier-screen.png"), signal);
        note("pressing the carrier's button (short press) through the control port once it shows the order");
        await pressVirtualButton(controlPort, 100, signal);
      },
      onStep: note,
    });
    const s = paid.settlement;
    out(`\n   SETTLED ${s.display} to ${paid.order.merchantName}: settlement ${s.settlementId}, carrier ${s.carrierId}, ATC ${s.atc}\n`);
    if (nfcTransport) note(`NFC reader frames so far: ${nfcTransport.stats.frames} (${nfcTransport.stats.retries} retries, ${nfcTransport.stats.polls} status polls while the carrier waited)`);
    note(`wire after the channel opened: ${paid.authorization.wire.roundTrips} round trip${paid.authorization.wire.roundTrips === 1 ? "" : "s"}, ${paid.authorization.wire.bytesOut + paid.authorization.wire.bytesIn} bytes`);

    step("the carrier's transaction log (keycarrier log)");
    const log = await readLog(kc);
    for (const line of formatLog(log).trimEnd().split("\n")) note(line);
    if (log.head !== paid.authorization.logHead) throw new Error("the log head differs from the one the carrier returned with the authorization");
    note("log verified: the hash chain folds to the head the carrier returned with the cryptogram");
    note(`(${((performance.now() - stepStarted) / 1000).toFixed(1)} s)`);
    out(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s. Next: README.md "Quick start" shows the same steps as CLI commands.\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`\nnpm start failed at step ${stepNo}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await kc?.close().catch(() => {});
    await platform?.close().catch(() => {});
    await emu?.stop().catch(() => {});
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    if (keep) out(`temp files kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

// --peer: the peer payment between two virtual carriers (host/src/peer/demo.ts, docs/PEER.md).
process.exitCode = process.argv.includes("--peer") ? await (await import("./peer/demo.ts")).peerDemo(arg("pin", "1234")) : await main();
