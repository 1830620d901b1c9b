/**
 * CLI commands of the host flows: `flash`, `personalise`, `pay` (with the carrier step) and `log`.
 * main.ts parses the global options and calls these.
 *
 * Where the platform runs: the secure channel's platform end needs the carrier keys, which the
 * platform keeps in-process (its HTTP API never returns keys). So `personalise` and the carrier
 * step of `pay` run the platform IN THIS PROCESS on its ledger file (`--db FILE`, the file
 * `platform serve --db` uses; not while a server has it open). See docs/FLOWS.md.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline/promises";
import { randomInt } from "node:crypto";
import type { KeyCarrier } from "../client.ts";
import { Platform } from "../platform/service.ts";
import { startPlatformServer } from "../platform/http.ts";
import { platformKeyFromEnv, PLATFORM_KEY_ENV } from "../platform/keystore.ts";
import { checkLedgerLocation } from "../platform/ledger.ts";
import { cmdPay, defaultLedgerFile, PlatformUsageError, text, type Options, type PlatformCliIo } from "../platform/cli.ts";
import { formatAmount } from "../qr/currency.ts";
import { ControlClient } from "../../../board/src/expose/control.ts";
import { DEFAULT_FIRMWARE_FILE, NFC_FIRMWARE_FILE, flashFirmware, progressBar } from "../flash/flash.ts";
import { personalise, provision, DEFAULT_LIMIT_MINOR } from "./personalise.ts";
import { changePin } from "./pin.ts";
import { authorizeOnCarrier } from "./pay.ts";
import { personalisedCarrierId } from "./personalise.ts";
import { readLog, type CarrierLog } from "./log.ts";

export interface FlowCliIo extends PlatformCliIo {
  /** Whether stderr is a terminal (progress bar redraws in place). */
  stderrIsTty?: boolean;
}

export const FLOW_HELP = {
  flash: `Usage: keycarrier flash --port <serial path | tcp://host:port> [--firmware FILE] [--no-reboot] [--ram] [--json]

Uploads the firmware bundle (default: the one the board's profile names, found by the board's
process.env.BOARD — keycarrier.js on a Pico, keycarrier.nfc.js on a Puck.js, keycarrier.full.js on the
nRF52840 build; \`npm run build\` makes them) into the board's .bootcde with EspruinoTools, showing progress on stderr; reads .bootcde back and compares its
length and CRC-32 with the file; then reboots the board and waits for the firmware's INFO.
Needs a live Espruino REPL: a blank board, or one powered on with BTN1 held (recovery). A carrier
running KeyCarrier has its console off USB, and a personalised one refuses for good.
  --ram                send the code to RAM instead (EspruinoTools' plain upload): it runs at once and
                       is gone at the next reset; verified by the firmware answering INFO. For a bundle
                       too big to leave the carrier's store room in Storage (see build-report.json).
  --firmware FILE      upload this bundle instead (e.g. ${NFC_FIRMWARE_FILE}, or ${DEFAULT_FIRMWARE_FILE}
                       whose NFC link is compiled out); needed for a board no profile describes`,
  "change-pin": `Usage: keycarrier change-pin --port <spec> [--db FILE] --old DIGITS --new DIGITS [--json]

Changes the cardholder's PIN at the platform (online PIN: the carrier holds no PIN; it is asked only
for its carrier id). Both PINs go to the platform encrypted to it; the old one is checked and counted
like a payment's (3 wrong PINs block the card).`,
  provision: `Usage: keycarrier provision --port <spec> [--db FILE] [--dev-transport-key] [--json]

Factory step: writes the BLANK carrier's per-device transport key kc.tk (PROVISION, PROTOCOL.md §7.4),
diversified from a batch key only the platform's keystore (--db) holds. Once per carrier. With
--dev-transport-key the public development batch key is used instead (development only).`,
  personalise: `Usage: keycarrier personalise --port <spec> [--db FILE] [--pin DIGITS] [--limit MINOR_UNITS] [--currency EUR] [--issuer ID] [--dev-transport-key] [--json]

Issues a carrier on the platform and installs its keys, identity and per-payment limit into a
provisioned BLANK carrier through a sealed transport session (PROTOCOL.md §7.4), then enrols the PIN
at the platform, encrypted to it (online PIN: the carrier never sees the PIN). The platform runs in
this process on its ledger --db (default $KEYCARRIER_HOME/platform.sqlite; not while \`platform serve\`
has it open). Without --pin a random 6-digit PIN is chosen and printed. --limit defaults to
${DEFAULT_LIMIT_MINOR}; the platform records the same limit and --currency (default EUR) and refuses any
authorization over it or in another currency (docs/PLATFORM.md §"Risk rules"). --dev-transport-key
accepts a carrier provisioned with the public dev key.`,
  log: `Usage: keycarrier log --port <spec> [--json]

Reads the carrier's hash-chained transaction log (PROTOCOL.md §7.6), verifies the chain, and prints
the entries oldest first.`,
} as const;

/** `keycarrier flash` */
export async function cmdFlash(port: string | undefined, baudRate: number | undefined, options: Options, io: FlowCliIo, json: boolean): Promise<number> {
  if (!port) throw new PlatformUsageError("flash needs --port <serial path | tcp://host:port> (run `keycarrier devices`)");
  const given = text(options, "firmware");
  const bar = progressBar(io.stderr, io.stderrIsTty ?? false);
  try {
    const result = await flashFirmware({
      port, ...(given !== undefined ? { firmwareFile: given } : {}), reboot: options["no-reboot"] !== true, target: options["ram"] === true ? "ram" : "bootcde",
      ...(baudRate !== undefined ? { baudRate } : {}),
      onProgress: (sent, total) => bar.update(sent, total),
      log: (line) => { if (!line.startsWith("espruino: ")) io.stderr(`${line}\n`); },
    });
    bar.finish();
    if (json) io.stdout(JSON.stringify({ ok: true, ...result }) + "\n");
    else {
      io.stdout(result.target === "ram"
        ? `sent ${result.firmwareFile} to RAM: ${result.bytes} bytes in ${(result.uploadMs / 1000).toFixed(1)} s\n`
        : `flashed ${result.firmwareFile}: ${result.bytes} bytes in ${(result.uploadMs / 1000).toFixed(1)} s, CRC-32 ${result.crc32.toString(16).padStart(8, "0")} verified on the board\n`);
      if (result.target === "ram") io.stdout("(in RAM: lost at the next reset)\n");
      if (result.booted) io.stdout(`running KeyCarrier ${result.booted.firmwareVersion} on ${result.booted.board} (serial ${result.booted.serial}), state ${result.booted.stateName}\n`);
    }
    return 0;
  } catch (e) {
    bar.finish();
    throw e;
  }
}

async function openLedgerPlatform(options: Options, io: FlowCliIo): Promise<Platform> {
  const dbFile = text(options, "db") ?? defaultLedgerFile(io.env);
  checkLedgerLocation(dbFile);
  mkdirSync(dirname(dbFile), { recursive: true });
  const dev = options["dev-transport-key"] === true;
  const platform = await Platform.open({ dbFile, platformKey: platformKeyFromEnv(io.env), allowDevTransportKey: dev });
  if (dev) io.stderr("note: DEV transport key accepted (--dev-transport-key): a recording of this personalisation is readable by anyone\n");
  if (platform.keyProtection === "dev-plaintext") io.stderr(`note: DEV mode — issuer keys are stored in plaintext in ${dbFile}; set ${PLATFORM_KEY_ENV} to seal them\n`);
  return platform;
}

/** `keycarrier change-pin` */
export async function cmdChangePin(kc: KeyCarrier, options: Options, io: FlowCliIo, json: boolean): Promise<number> {
  const oldPin = text(options, "old");
  const newPin = text(options, "new");
  if (oldPin === undefined || newPin === undefined) throw new PlatformUsageError("change-pin needs --old DIGITS and --new DIGITS");
  const carrierId = await personalisedCarrierId(kc);
  if (!carrierId) throw new PlatformUsageError("this carrier is not personalised: run `keycarrier personalise` first");
  const platform = await openLedgerPlatform(options, io);
  try {
    const r = await changePin(platform, carrierId, oldPin, newPin);
    if (json) io.stdout(JSON.stringify({ ok: true, carrierId, triesLeft: r.triesLeft }) + "\n");
    else io.stdout(`PIN of carrier ${carrierId} changed at the platform; ${r.triesLeft} tries at the issuer\n`);
    return 0;
  } finally {
    platform.close();
  }
}

/** `keycarrier provision` */
export async function cmdProvision(kc: KeyCarrier, options: Options, io: FlowCliIo, json: boolean): Promise<number> {
  const platform = await openLedgerPlatform(options, io);
  try {
    const r = await provision(kc, platform, json ? undefined : (line) => io.stderr(`• ${line}\n`));
    if (json) io.stdout(JSON.stringify({ ok: true, serial: r.serial, devTransportKey: platform.devTransportKey }) + "\n");
    else io.stdout(`carrier ${r.serial} provisioned${platform.devTransportKey ? " with the DEV transport key" : ""}\n`);
    return 0;
  } finally {
    platform.close();
  }
}

/** `keycarrier personalise` */
export async function cmdPersonalise(kc: KeyCarrier, options: Options, io: FlowCliIo, json: boolean): Promise<number> {
  let pin = text(options, "pin");
  const chosen = pin === undefined;
  if (pin === undefined) pin = String(randomInt(0, 1_000_000)).padStart(6, "0");
  if (!/^\d{4,12}$/.test(pin)) throw new PlatformUsageError("--pin needs 4–12 digits");
  const limitText = text(options, "limit");
  if (limitText !== undefined && !/^[1-9]\d{0,15}$/.test(limitText)) throw new PlatformUsageError(`--limit needs a whole number of minor units ≥ 1, got "${limitText}"`);
  const issuerId = text(options, "issuer");
  const currency = text(options, "currency")?.toUpperCase();
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw new PlatformUsageError(`--currency needs an ISO 4217 code such as EUR, got "${currency}"`);
  const platform = await openLedgerPlatform(options, io);
  try {
    const result = await personalise(kc, platform, {
      pin, ...(limitText ? { limit: Number(limitText) } : {}), ...(issuerId ? { issuerId } : {}), ...(currency ? { currency } : {}),
      onStep: json ? undefined : (line) => io.stderr(`• ${line}\n`),
    });
    if (json) io.stdout(JSON.stringify({ ok: true, carrierId: result.carrierId, issuerId: result.issuerId, triesLeft: result.triesLeft, state: result.info.stateName, ...(chosen ? { pin } : {}) }) + "\n");
    else {
      io.stdout(`carrier ${result.carrierId} personalised (issuer ${result.issuerId}); PIN tries left ${result.triesLeft}; its console is locked from the next boot\n`);
      if (chosen) io.stdout(`PIN: ${pin}  (chosen at random — write it down; it is not stored on this host)\n`);
    }
    return 0;
  } finally {
    platform.close();
  }
}

async function askPin(): Promise<string> {
  if (!process.stdin.isTTY) throw new PlatformUsageError("no --pin given and stdin is not a terminal to ask for it");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question("PIN (after confirming on the carrier): ")).trim();
  } finally {
    rl.close();
  }
}

/**
 * `keycarrier pay` with a carrier (--port given): the platform runs in-process on --db (served on
 * an ephemeral loopback port so the scan/validate/order/settle half is the same HTTP path as
 * without a carrier), and the carrier step plugs into cmdPay's `authorize` hook.
 */
export async function cmdPayWithCarrier(kc: KeyCarrier, options: Options, io: FlowCliIo, json: boolean): Promise<number> {
  if (text(options, "platform") !== undefined) {
    throw new PlatformUsageError("pay with a carrier runs the platform in this process (it holds the carrier keys the secure channel needs): pass --db FILE instead of --platform, and stop `platform serve` on that file first");
  }
  const pinOption = text(options, "pin");
  const controlPort = text(options, "control");
  if (controlPort !== undefined && !/^\d{1,5}$/.test(controlPort)) throw new PlatformUsageError(`--control needs the emulator's control port number, got "${controlPort}"`);
  const platform = await openLedgerPlatform(options, io);
  const running = await startPlatformServer({ port: 0, platform });
  try {
    const carrierId = await personalisedCarrierId(kc);
    if (!carrierId) throw new PlatformUsageError("this carrier is not personalised: run `keycarrier personalise` first");
    const carrier = platform.getCarrier(carrierId);
    const keys = platform.carrierKeys(carrierId);
    return await cmdPay({ ...options, platform: running.url }, io, json, {
      authorize: async (order) => {
        const auth = await authorizeOnCarrier(kc, { carrierId, issuerId: carrier.issuerId, channelKey: keys.channelKey }, order, {
          pin: pinOption ?? (() => askPin()),
          confirm: controlPort !== undefined ? async (signal) => { await pressVirtualButton(Number(controlPort), 100, signal); } : async () => {},
          onStep: json ? undefined : (line) => io.stderr(`• ${line}\n`),
        }, platform);
        return { orderId: auth.orderId, carrierId: auth.carrierId, atc: auth.atc, cryptogram: auth.cryptogram };
      },
    });
  } finally {
    await running.close();
  }
}

/**
 * A short press (100 ms) of BTN1 through the emulator's control port, as a person would do it: once
 * the carrier shows the order (LED1 lit, PROTOCOL.md §7.7). Resolves false without pressing when
 * `signal` aborts first (the carrier answered without asking, e.g. PAY_OVER_LIMIT) or LED1 stays
 * dark for `waitMs`.
 */
export async function pressVirtualButton(controlPort: number, holdMs = 100, signal?: AbortSignal, waitMs = 10_000): Promise<boolean> {
  const control = await ControlClient.connect(controlPort);
  try {
    const until = Date.now() + waitMs;
    for (;;) {
      if (signal?.aborted) return false;
      const leds = (await control.request("leds")).leds as boolean[] | undefined;
      if (leds?.[0]) break;
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    await control.request("press", { button: 1 });
    await new Promise((r) => setTimeout(r, holdMs));
    await control.request("release", { button: 1 });
    return true;
  } finally {
    control.close();
  }
}

export function formatLog(log: CarrierLog): string {
  const lines = log.entries.map((e) =>
    `ATC ${String(e.atc).padStart(4)}  ${e.result.padEnd(10)}  ${formatAmount(e.amount, e.currency).padStart(14)}  merchant ${e.merchantId}  order ${e.orderId}  ${e.hash.slice(0, 16)}…`);
  return [
    ...(lines.length ? lines : ["(no entries)"]),
    `${log.entries.length} of ${log.kept} kept entries; chain verified from base ${log.base.slice(0, 16)}… to head ${log.head.slice(0, 16)}…`,
  ].join("\n") + "\n";
}

/** `keycarrier log` */
export async function cmdLog(kc: KeyCarrier, io: FlowCliIo, json: boolean): Promise<number> {
  const log = await readLog(kc);
  io.stdout(json ? JSON.stringify(log) + "\n" : formatLog(log));
  return 0;
}
