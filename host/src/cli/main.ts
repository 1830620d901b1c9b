import { parseArgs, checkOptions, UsageError, DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES, type GlobalOptions } from "./args.ts";
import { listDevices } from "../devices.ts";
import { registryDir } from "../registry.ts";
import { KeyCarrier, MAX_PING_BYTES, type DeviceInfo } from "../client.ts";
import { KeyCarrierError, ProtocolError } from "../errors.ts";
import { formatFrameTrace } from "../link.ts";
import {
  cmdPlatformServe, cmdMerchantRegister, cmdMerchantQr, cmdPay, PlatformUsageError, DEFAULT_PLATFORM_PORT,
} from "../platform/cli.ts";
import { POS_HELP, POS_OPTIONS, cmdPosInit, cmdPosLog, cmdPosPay, cmdPosRevocations, cmdPosUpload } from "../pos/cli.ts";
import { FLOW_HELP, cmdChangePin, cmdFlash, cmdPersonalise, cmdProvision, cmdPayWithCarrier, cmdLog } from "../flows/cli.ts";
import { PEER_HELP, cmdPeer, cmdPeerStatus } from "../peer/cli.ts";

/** Where the CLI writes; tests pass collectors, the bin passes process streams. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_DEVICE = 1;
export const EXIT_USAGE = 2;

const GLOBAL_HELP = `Global options:
  -p, --port <spec>    device: /dev/ttyACM0[@baud], serial:<path>, tcp://host:port, exec:<command>
                       (default: $KEYCARRIER_PORT)
      --json           machine-readable JSON on stdout only (errors as JSON on stdout too)
      --timeout <ms>   per-request timeout (default ${DEFAULT_TIMEOUT_MS})
      --retries <n>    retransmissions with the same sequence number (default ${DEFAULT_RETRIES})
      --baud <rate>    serial speed (default 115200)
  -v, --verbose        frame trace on stderr
  -h, --help           help (also per command: keycarrier <command> --help)`;

const HELP: Record<string, string> = {
  "": `keycarrier — talk to a KeyCarrier over USB serial, TCP or a child process

Usage: keycarrier <command> [options]

Commands:
  devices              list serial ports, running virtual boards and PC/SC readers
  info                 show the device's identity, firmware and protocol version
  ping [--size N]      round-trip N random bytes (default 16) and time it
  emulate [...]        run a virtual board (see keycarrier emulate --help)
  platform serve       run the reference payment platform on 127.0.0.1
  merchant register    register a merchant with the platform
  merchant qr          issue a merchant payment QR code (terminal and PNG/JPEG)
  pay --qr <image>     scan a payment QR code, validate it and create the order
                       (with --port and --db: the carrier authorises it and the platform settles)
  flash                upload firmware to a board's .bootcde with EspruinoTools, verify, reboot
  provision            factory step: write the carrier's per-device transport key kc.tk
  change-pin           change the PIN at the platform (the carrier holds no PIN)
  personalise          install keys, identity and limit into a provisioned BLANK carrier; enrol the PIN at the platform
  log                  read and verify the carrier's hash-chained transaction log
  pos                  offline payment terminal: init, revocations, pay, upload, log (keycarrier pos --help)
  peer request|pay     a peer payment between two carriers through the platform (payee: request, payer: pay)

${GLOBAL_HELP}

Exit codes: 0 ok, 1 device or transport error, 2 usage error.`,
  pos: `${POS_HELP}

${GLOBAL_HELP}`,
  devices: `Usage: keycarrier devices [--json]

Lists candidate ports: /dev/ttyACM*, /dev/ttyUSB*, what SerialPort.list() reports, and virtual boards
registered by \`keycarrier emulate\` (~/.keycarrier/emulators), and the PC/SC readers pcscd knows, each
with whether a KeyCarrier is on it (\`--port pcsc:"READER"\`; KEYCARRIER_NO_PCSC=1 skips them). Ports you
cannot open are marked with a hint about the dialout group / udev rule.

${GLOBAL_HELP}`,
  info: `Usage: keycarrier info --port <spec> [--json]

Asks the device for its identity: firmware version, protocol version, board, serial and limits.

${GLOBAL_HELP}`,
  ping: `Usage: keycarrier ping --port <spec> [--size N] [--json]

Sends N random bytes (default 16), checks they come back unchanged, and prints the round-trip time.

Options:
  --size <N>           payload bytes, 0–500 (default 16)

${GLOBAL_HELP}`,
  platform: `Usage: keycarrier platform serve [--port P] [--db FILE|postgres://…] [--json]

Runs the reference payment platform (HTTP + JSON, docs/PLATFORM.md) on 127.0.0.1 until Ctrl-C.
  --port <P>           TCP port (default ${DEFAULT_PLATFORM_PORT}; 0 picks a free one and prints it)
  --db <FILE|URL>      SQLite ledger file (default $KEYCARRIER_HOME/platform.sqlite, ~/.keycarrier/platform.sqlite),
                       or postgres://user@host/db: a PostgreSQL ledger several platform processes share
                       (its admin key goes to $KEYCARRIER_HOME/platform.sqlite.admin-key)
Secrets at rest are sealed with $KEYCARRIER_PLATFORM_KEY (64 hex digits); without it the platform
runs in DEV mode with plaintext keys and says so. The first open of a ledger creates the admin API
key and writes it to <ledger>.admin-key (mode 0600); the ledger keeps only its hash.`,
  merchant: `Usage: keycarrier merchant register --name NAME [--id N] [--api-key-file ADMIN_KEY] [--key-out FILE] [--platform URL]
       keycarrier merchant qr --merchant N --amount 12.34 --currency EUR [--out code.png|code.jpg]
                              [--ttl SECONDS] [--order-ref HEX16] [--api-key-file MERCHANT_KEY] [--platform URL]

register  registers a merchant (admin API key: --api-key-file, $KEYCARRIER_API_KEY, or
          $KEYCARRIER_HOME/platform.sqlite.admin-key); the platform creates and keeps its QR key, and
          the merchant's own API key is written to --key-out (default $KEYCARRIER_HOME/merchant-N.key, mode 0600)
qr        asks the platform for a signed payment code (merchant API key: --api-key-file,
          $KEYCARRIER_API_KEY, or $KEYCARRIER_HOME/merchant-N.key) and shows it as a QR code in the
          terminal (and writes an image with --out)
  --platform <URL>     platform address (default $KEYCARRIER_PLATFORM or http://127.0.0.1:${DEFAULT_PLATFORM_PORT})`,
  pay: `Usage: keycarrier pay --qr <image.png|image.jpg> [--platform URL] [--json]
       keycarrier pay --code <text> [--platform URL] [--json]

Reads the merchant's payment QR code, has the platform validate it (refused when expired, forged,
truncated or not ours, with the reason) and creates the order, then prints it.
  --platform <URL>     platform address (default $KEYCARRIER_PLATFORM or http://127.0.0.1:${DEFAULT_PLATFORM_PORT})

With a carrier: keycarrier pay --qr <image> --port <spec> [--db FILE] [--pin DIGITS] [--control PORT]
The platform runs in this process on its ledger --db (it holds the carrier keys the secure channel
needs); the order and the PIN (asked on the terminal without --pin) go to the carrier sealed in one
PAY, the user confirms with a short press on the carrier's button (--control PORT presses the virtual
board's button through its control port), and the platform settles the cryptogram once.`,
  flash: FLOW_HELP.flash,
  provision: FLOW_HELP.provision,
  "change-pin": FLOW_HELP["change-pin"],
  personalise: FLOW_HELP.personalise,
  log: FLOW_HELP.log,
  peer: PEER_HELP,
  emulate: `Usage: keycarrier emulate [options]

Runs a virtual board reachable over TCP / a PTY. Options are those of the emulator module.`,
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function jsonSafe(value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: hex(value) };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonSafe(v)]));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

async function openDevice(globals: GlobalOptions, io: CliIo): Promise<KeyCarrier> {
  if (!globals.port) throw new UsageError("no device given: pass --port <spec> or set KEYCARRIER_PORT (run `keycarrier devices` to find one)");
  return KeyCarrier.open(globals.port, {
    timeoutMs: globals.timeoutMs,
    retries: globals.retries,
    baudRate: globals.baudRate,
    trace: globals.verbose ? (event) => io.stderr(formatFrameTrace(event) + "\n") : undefined,
    stderr: globals.verbose ? (text) => io.stderr(text) : undefined,
  });
}

async function withDevice<T>(globals: GlobalOptions, io: CliIo, run: (kc: KeyCarrier) => Promise<T>): Promise<T> {
  const kc = await openDevice(globals, io);
  try {
    return await run(kc);
  } finally {
    await kc.close();
  }
}

async function cmdDevices(globals: GlobalOptions, io: CliIo): Promise<number> {
  const listing = await listDevices({ registry: registryDir(io.env), pcsc: io.env["KEYCARRIER_NO_PCSC"] === undefined });
  if (globals.json) {
    io.stdout(JSON.stringify(listing) + "\n");
    return EXIT_OK;
  }
  if (globals.verbose) for (const note of listing.notes) io.stderr(`note: ${note}\n`);
  if (listing.devices.length === 0) {
    io.stdout("no devices found — plug a board in (check `dmesg` for ttyACM/ttyUSB) or start one with `keycarrier emulate`\n");
    return EXIT_OK;
  }
  for (const d of listing.devices) {
    io.stdout(`${d.port}\t${d.source}\t${d.description}${d.accessible ? "" : `\t${d.hint ?? "not accessible"}`}\n`);
  }
  return EXIT_OK;
}

async function cmdInfo(globals: GlobalOptions, io: CliIo): Promise<number> {
  // The open handshake is an INFO (PROTOCOL.md §4); no need to ask twice.
  const info = await withDevice(globals, io, async (kc) => kc.handshakeInfo ?? kc.info());
  io.stdout(globals.json ? JSON.stringify(jsonSafe(info)) + "\n" : formatInfo(info));
  return EXIT_OK;
}

/** INFO for a person: one aligned line per fact, capabilities and versions in words. */
export function formatInfo(info: DeviceInfo): string {
  const caps = [info.capabilities.usb && "USB", info.capabilities.nfc && "NFC", info.capabilities.nativeSha256 && "native SHA-256", info.capabilities.nativeAes && "native AES", info.capabilities.display && "trusted display"].filter(Boolean);
  const rows: [string, string][] = [
    ["firmware", `KeyCarrier ${info.firmwareVersion} (protocol ${info.protocolVersion.major}.${info.protocolVersion.minor})`],
    ["board", `${info.board}, serial ${info.serial}`],
    ["state", `${info.stateName} (${info.state})`],
  ];
  if (info.triesLeft !== undefined) rows.push(["PIN tries left", String(info.triesLeft)]);
  if (info.carrierId !== undefined) rows.push(["carrier id", info.carrierId]);
  if (info.lastAtc !== undefined) rows.push(["last ATC", String(info.lastAtc)]);
  rows.push(["capabilities", caps.length ? caps.join(", ") : "none"], ["free storage", `${info.freeStorageBytes} B`], ["max frame body", `${info.maxBody} B`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}

async function cmdPing(globals: GlobalOptions, options: Record<string, string | true>, io: CliIo): Promise<number> {
  const sizeText = options.size ?? "16";
  if (sizeText === true || !/^\d+$/.test(sizeText)) throw new UsageError(`--size needs a non-negative integer, got "${String(sizeText)}"`);
  const size = Number(sizeText);
  if (size > MAX_PING_BYTES) throw new UsageError(`--size ${size} is over PING's limit of ${MAX_PING_BYTES} bytes`);
  const payload = new Uint8Array(size);
  crypto.getRandomValues(payload);
  const result = await withDevice(globals, io, async (kc) => {
    const started = performance.now();
    const echo = await kc.ping(payload);
    return { echo, ms: performance.now() - started };
  });
  const ok = result.echo.length === payload.length && result.echo.every((b, i) => b === payload[i]);
  if (!ok) {
    throw new ProtocolError(`ping echo differs from what was sent (${size} bytes sent, ${result.echo.length} back) — the link is corrupting data; retry with --verbose`);
  }
  const rttMs = Math.round(result.ms * 100) / 100;
  io.stdout(globals.json ? JSON.stringify({ ok: true, size, rttMs }) + "\n" : `${size} bytes echoed in ${rttMs} ms\n`);
  return EXIT_OK;
}

async function cmdEmulate(rest: string[], io: CliIo): Promise<number> {
  let mod: { runEmulate?: (argv: string[]) => Promise<number> };
  try {
    // A computed specifier: emulate.ts belongs to another module owner and may not exist yet.
    const specifier = "./emulate.ts";
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    io.stderr(`keycarrier emulate is not available in this build (${(e as Error).message.split("\n")[0]})\n`);
    return EXIT_DEVICE;
  }
  if (typeof mod.runEmulate !== "function") {
    io.stderr("keycarrier emulate is not available in this build (host/src/cli/emulate.ts has no runEmulate)\n");
    return EXIT_DEVICE;
  }
  return mod.runEmulate(rest);
}

function reportError(err: unknown, globals: GlobalOptions | undefined, io: CliIo): number {
  const usage = err instanceof UsageError || err instanceof PlatformUsageError;
  const code = usage ? EXIT_USAGE : EXIT_DEVICE;
  const message = err instanceof Error ? err.message : String(err);
  if (globals?.json) {
    const error: Record<string, unknown> = { message, type: usage ? "UsageError" : err instanceof Error ? err.name : "Error" };
    if (err instanceof KeyCarrierError) {
      error.status = err.status;
      error.statusName = err.statusName;
    }
    // Platform and payment-code refusals carry a stable reason id (expired, forged, replayed, …).
    if (err instanceof Error && typeof (err as { reason?: unknown }).reason === "string") error.reason = (err as unknown as { reason: string }).reason;
    io.stdout(JSON.stringify({ ok: false, error }) + "\n");
  } else {
    // A refusal's stable reason id (over-carrier-limit, atc-out-of-window, unauthenticated, …) follows the message.
    const reason = err instanceof Error && typeof (err as { reason?: unknown }).reason === "string" ? ` [${(err as unknown as { reason: string }).reason}]` : "";
    io.stderr(`keycarrier: ${message}${reason}\n`);
    if (usage) io.stderr("run `keycarrier --help` for usage\n");
  }
  if (globals?.verbose && err instanceof Error && !usage && err.stack) io.stderr(err.stack + "\n");
  return code;
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it in-process. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let globals: GlobalOptions | undefined;
  try {
    const parsed = parseArgs(argv, io.env);
    globals = parsed.globals;
    const command = parsed.command;
    if (command === undefined) {
      (globals.help ? io.stdout : io.stderr)(HELP[""] + "\n");
      return globals.help ? EXIT_OK : EXIT_USAGE;
    }
    if (command === "help") {
      const topic = parsed.positionals[0] ?? "";
      if (!(topic in HELP)) throw new UsageError(`no help for unknown command "${topic}"`);
      io.stdout(HELP[topic] + "\n");
      return EXIT_OK;
    }
    if (!(command in HELP)) throw new UsageError(`unknown command "${command}" (commands: devices, info, ping, emulate, platform, merchant, pay, flash, provision, personalise, change-pin, log, pos, peer)`);
    if (globals.help && command !== "emulate") {
      io.stdout(HELP[command] + "\n");
      return EXIT_OK;
    }
    switch (command) {
      case "devices":
        checkOptions(command, parsed.options, []);
        if (parsed.positionals.length) throw new UsageError(`devices takes no arguments, got "${parsed.positionals[0]}"`);
        return await cmdDevices(globals, io);
      case "info":
        checkOptions(command, parsed.options, []);
        if (parsed.positionals.length) throw new UsageError(`info takes no arguments, got "${parsed.positionals[0]}"`);
        return await cmdInfo(globals, io);
      case "ping":
        checkOptions(command, parsed.options, ["size"]);
        if (parsed.positionals.length) throw new UsageError(`ping takes no positional arguments (use --size N), got "${parsed.positionals[0]}"`);
        return await cmdPing(globals, parsed.options, io);
      case "platform": {
        const sub = parsed.positionals[0];
        if (sub !== "serve" || parsed.positionals.length > 1) throw new UsageError(`platform takes one subcommand, "serve" (got ${sub === undefined ? "none" : `"${parsed.positionals.join(" ")}"`})`);
        checkOptions("platform serve", parsed.options, ["db"]);
        // --port is the global device option; only an explicit one is the platform's HTTP port ($KEYCARRIER_PORT names a device).
        const explicitPort = argv.some((a) => a === "--port" || a === "-p" || a.startsWith("--port="));
        const stop = new Promise<void>((done) => {
          process.once("SIGINT", () => done());
          process.once("SIGTERM", () => done());
        });
        return await cmdPlatformServe(explicitPort ? globals.port : undefined, parsed.options, io, globals.json, stop);
      }
      case "merchant": {
        const sub = parsed.positionals[0];
        if (parsed.positionals.length !== 1 || (sub !== "register" && sub !== "qr")) throw new UsageError(`merchant takes one subcommand, "register" or "qr" (got ${sub === undefined ? "none" : `"${parsed.positionals.join(" ")}"`})`);
        if (sub === "register") {
          checkOptions("merchant register", parsed.options, ["name", "id", "platform", "api-key-file", "key-out"]);
          return await cmdMerchantRegister(parsed.options, io, globals.json);
        }
        checkOptions("merchant qr", parsed.options, ["merchant", "amount", "currency", "out", "ttl", "order-ref", "platform", "api-key-file"]);
        return await cmdMerchantQr(parsed.options, io, globals.json);
      }
      case "pay":
        checkOptions("pay", parsed.options, ["qr", "code", "platform", "db", "pin", "control"]);
        if (parsed.positionals.length) throw new UsageError(`pay takes no positional arguments (use --qr <image>), got "${parsed.positionals[0]}"`);
        if (globals.port !== undefined && argv.some((a) => a === "--port" || a === "-p" || a.startsWith("--port="))) {
          const g = globals;
          return await withDevice(g, io, (kc) => cmdPayWithCarrier(kc, parsed.options, io, g.json));
        }
        return await cmdPay(parsed.options, io, globals.json);
      case "flash":
        checkOptions("flash", parsed.options, ["firmware", "no-reboot", "ram"]);
        if (parsed.positionals.length) throw new UsageError(`flash takes no positional arguments (use --firmware FILE), got "${parsed.positionals[0]}"`);
        return await cmdFlash(globals.port, globals.baudRate, parsed.options, { ...io, stderrIsTty: Boolean(process.stderr.isTTY) }, globals.json);
      case "change-pin": {
        checkOptions("change-pin", parsed.options, ["db", "old", "new"]);
        if (parsed.positionals.length) throw new UsageError(`change-pin takes no positional arguments, got "${parsed.positionals[0]}"`);
        const g = globals;
        return await withDevice(g, io, (kc) => cmdChangePin(kc, parsed.options, io, g.json));
      }
      case "provision": {
        checkOptions("provision", parsed.options, ["db", "dev-transport-key"]);
        if (parsed.positionals.length) throw new UsageError(`provision takes no positional arguments, got "${parsed.positionals[0]}"`);
        const g = globals;
        return await withDevice(g, io, (kc) => cmdProvision(kc, parsed.options, io, g.json));
      }
      case "personalise": {
        checkOptions("personalise", parsed.options, ["db", "pin", "limit", "issuer", "currency", "offline-limit", "offline-total", "offline-expiry", "offline-height", "dev-transport-key"]);
        if (parsed.positionals.length) throw new UsageError(`personalise takes no positional arguments, got "${parsed.positionals[0]}"`);
        const g = globals;
        return await withDevice(g, io, (kc) => cmdPersonalise(kc, parsed.options, io, g.json));
      }
      case "log": {
        checkOptions("log", parsed.options, []);
        if (parsed.positionals.length) throw new UsageError(`log takes no arguments, got "${parsed.positionals[0]}"`);
        const g = globals;
        return await withDevice(g, io, (kc) => cmdLog(kc, io, g.json));
      }
      case "pos": {
        const sub = parsed.positionals[0];
        if (parsed.positionals.length !== 1 || sub === undefined || !(sub in POS_OPTIONS)) {
          throw new UsageError(`pos takes one subcommand: ${Object.keys(POS_OPTIONS).join(", ")} (got ${sub === undefined ? "none" : `"${parsed.positionals.join(" ")}"`})`);
        }
        checkOptions(`pos ${sub}`, parsed.options, POS_OPTIONS[sub]!);
        const g = globals;
        if (sub === "init") return await cmdPosInit(parsed.options, io, g.json);
        if (sub === "revocations") return await cmdPosRevocations(parsed.options, io, g.json);
        if (sub === "upload") return await cmdPosUpload(parsed.options, io, g.json);
        if (sub === "log") return await cmdPosLog(parsed.options, io, g.json);
        return await withDevice(g, io, (kc) => cmdPosPay(kc, parsed.options, io, g.json));
      }
      case "peer": {
        const sub = parsed.positionals[0];
        if (parsed.positionals.length !== 1 || (sub !== "request" && sub !== "pay" && sub !== "status")) throw new UsageError(`peer takes one subcommand, "request", "pay" or "status" (got ${sub === undefined ? "none" : `"${parsed.positionals.join(" ")}"`})`);
        checkOptions(`peer ${sub}`, parsed.options, sub === "request" ? ["amount", "currency", "ttl", "platform", "control"] : sub === "pay" ? ["request", "digest", "pin", "platform", "control"] : ["digest", "platform"]);
        if (sub === "status") return await cmdPeerStatus(parsed.options, io, globals.json);
        const g = globals;
        return await withDevice(g, io, (kc) => cmdPeer(kc, sub, parsed.options, io, g.json));
      }
      case "emulate":
        // `keycarrier --help emulate` asks the emulator for its help, like `emulate --help`.
        return await cmdEmulate(globals.help ? ["--help", ...parsed.rest] : parsed.rest, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return reportError(err, globals, io);
  }
}

/** Entry used by host/bin/keycarrier.mjs. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<number> {
  return main(argv, {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  });
}
