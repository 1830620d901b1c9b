/**
 * `keycarrier emulate`: run a virtual board and make it reachable like a real one.
 *
 *   keycarrier emulate --board nrf52840 [--tcp PORT] [--pty [PATH]] [--control PORT]
 *                      [--flash FILE] [--seed N] [--virtual-clock] [--no-banner] [--screen [DIR]]
 *
 * The TCP port (and PTY) carry the board's console wire: USB, or Serial1 on boards without USB.
 * Prints one machine-readable line once everything listens:
 *   keycarrier-emulate: tcp=127.0.0.1:PORT control=127.0.0.1:PORT pty=PATH|none board=ID clock=real|virtual
 * Real time by default (for people); --virtual-clock for deterministic tests, where time moves
 * only through the control port's `advance`. With --flash, the flash image is loaded from FILE if
 * it exists and written back to FILE on exit (SIGINT/SIGTERM).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VirtualBoard } from "../../../board/src/virtual-board.ts";
import { BoardConsole } from "../../../board/src/console/attach.ts";
import { serveTcp, type TcpExposure } from "../../../board/src/expose/tcp.ts";
import { exposePty, findSocat, type PtyExposure } from "../../../board/src/expose/pty.ts";
import { serveControl, type ControlExposure, type ControlTarget } from "../../../board/src/expose/control.ts";
import { registerEmulator } from "../registry.ts";
import { VirtualIcc } from "../transport/vicc.ts";
import { loadProfile } from "../../../board/src/profiles.ts";
import { NFC_FIRMWARE_PATH } from "../flash/flash.ts";
import { fileURLToPath } from "node:url";

export interface EmulateOptions {
  board: string;
  tcpPort: number;
  pty: boolean;
  ptyPath: string | undefined;
  controlPort: number;
  flashFile: string | undefined;
  firmwareFile?: string | undefined;
  stdio?: boolean;
  seed: number;
  virtualClock: boolean;
  banner: boolean;
  /** --nfc: present the board as a card in vpcd's reader at this address (pcscd; PROTOCOL.md §10). */
  nfc?: { host: string; port: number } | undefined;
  /** --screen [DIR]: print each new frame of the board's display to stderr (block characters); with DIR also save it as DIR/frame-NNNN.png. */
  screen?: { dir: string | undefined } | undefined;
}

export const EMULATE_USAGE = `Usage: keycarrier emulate --board nrf52840 [--tcp PORT] [--pty [PATH]] [--control PORT]
                          [--flash FILE] [--firmware FILE] [--stdio] [--seed N] [--virtual-clock] [--no-banner]
  --board ID        board profile (board/boards/ID.json): nrf52840, nrf52840-oled, puckjs, pico
  --tcp PORT        serve the USB console on 127.0.0.1:PORT (default: a free port)
  --pty [PATH]      also expose it as a PTY at PATH (default /tmp/keycarrier-<pid>; needs socat)
  --control PORT    JSON-lines control port (buttons, LEDs, power, NFC, clock); default: a free port
  --flash FILE      load the flash image from FILE if present; save it there on exit
  --firmware [FILE] pre-flash FILE as .bootcde before power-on, as a board flashed with
                    \`espruino --storage .bootcde:FILE\` would hold it. Without FILE: the board's bundle
                    from \`npm run build\`: firmware/dist/keycarrier.nfc.js (NFC link) with --nfc or on a
                    board with NFC and no USB (puckjs), else firmware/dist/keycarrier.js (USB only)
  --stdio           also speak the USB console on stdin/stdout (for \`--port "exec:keycarrier emulate ... --stdio"\`);
                    the start line and logs then go to stderr, and the emulator exits when stdin closes
  --seed N          RNG / serial number / NFC UID seed (default 1)
  --virtual-clock   deterministic time, moved only by the control port's "advance"
  --no-banner       skip Espruino's start-up banner on boots
  --screen [DIR]    (boards with a display: nrf52840-oled) print every new frame of the carrier's
                    screen to stderr as block characters; with DIR also save each as DIR/frame-NNNN.png
                    (the control port's "screen" command returns the current one as PNG at any time)
  --nfc [HOST:PORT] present the board to pcscd as a card on vsmartcard's vpcd reader (default
                    127.0.0.1:35963, vpcd's port), so pcsc_scan and \`--port pcsc:\` reach it over NFC;
                    the control port's nfc-tap / nfc-remove / nfc-drop-after move the card
`;

export class EmulateUsageError extends Error {}

function portArg(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new EmulateUsageError(`${flag} needs a port number 0-65535, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function parseEmulateArgs(argv: string[]): EmulateOptions {
  const o: EmulateOptions = {
    board: "", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0,
    flashFile: undefined, firmwareFile: undefined, stdio: false, seed: 1, virtualClock: false, banner: true,
  };
  let firmwareDefault = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case "--board": o.board = next() ?? ""; break;
      case "--tcp": o.tcpPort = portArg(a, next()); break;
      case "--control": o.controlPort = portArg(a, next()); break;
      case "--pty":
        o.pty = true;
        if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) o.ptyPath = next();
        break;
      case "--flash": {
        const f = next();
        if (!f) throw new EmulateUsageError("--flash needs a file path");
        o.flashFile = f;
        break;
      }
      case "--firmware": {
        // No FILE: the board's default bundle, chosen once --board and --nfc are known (below).
        if (argv[i + 1] === undefined || argv[i + 1]!.startsWith("--")) { firmwareDefault = true; break; }
        const f = next()!;
        if (!existsSync(f)) throw new EmulateUsageError(`--firmware: no such file ${JSON.stringify(f)} (run \`npm run build\` first?)`);
        o.firmwareFile = f;
        break;
      }
      case "--seed": {
        const v = next();
        const n = Number(v);
        if (!Number.isInteger(n)) throw new EmulateUsageError(`--seed needs an integer, got ${JSON.stringify(v)}`);
        o.seed = n;
        break;
      }
      case "--stdio": o.stdio = true; break;
      case "--screen":
        o.screen = { dir: argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--") ? next() : undefined };
        break;
      case "--virtual-clock": o.virtualClock = true; break;
      case "--no-banner": o.banner = false; break;
      case "--nfc": {
        let host = "127.0.0.1";
        let port = 35963;
        if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) {
          const m = /^(?:([^:]+):)?(\d+)$/.exec(next()!);
          if (!m) throw new EmulateUsageError(`--nfc takes [HOST:]PORT of vpcd, got ${JSON.stringify(argv[i])}`);
          host = m[1] ?? host;
          port = portArg(a, m[2]);
        }
        o.nfc = { host, port };
        break;
      }
      default: throw new EmulateUsageError(`unknown option ${JSON.stringify(a)}\n${EMULATE_USAGE}`);
    }
  }
  if (!o.board) throw new EmulateUsageError(`--board is required\n${EMULATE_USAGE}`);
  if (o.screen) {
    let display = false;
    try { display = loadProfile(o.board).peripherals.display; } catch (e) { throw new EmulateUsageError((e as Error).message); }
    if (!display) throw new EmulateUsageError(`--screen: board ${o.board} has no display; use --board nrf52840-oled`);
  }
  if (firmwareDefault) {
    o.firmwareFile = defaultFirmwareFor(o.board, o.nfc !== undefined);
    if (!existsSync(o.firmwareFile)) throw new EmulateUsageError(`--firmware: ${o.firmwareFile} is not built; run \`npm run build\``);
  }
  return o;
}

/**
 * The bundle `npm run build` makes for a board: the one its profile names (board/boards/*.json
 * "firmware": keycarrier.js on pico, keycarrier.nfc.js on puckjs, keycarrier.full.js on nrf52840);
 * with --nfc on a board whose bundle has the NFC link compiled out, keycarrier.nfc.js.
 */
export function defaultFirmwareFor(boardId: string, nfc: boolean): string {
  let profile;
  try {
    profile = loadProfile(boardId);
  } catch (e) {
    throw new EmulateUsageError((e as Error).message);
  }
  // the board's own bundle (its profile's "firmware"), unless that one has no NFC link and --nfc asks for it
  const own = fileURLToPath(new URL(`../../../firmware/dist/${profile.firmware}`, import.meta.url));
  return nfc && profile.firmware === "keycarrier.js" ? NFC_FIRMWARE_PATH : own;
}

export interface RunningEmulator {
  readonly board: VirtualBoard;
  readonly tcp: TcpExposure;
  readonly control: ControlExposure;
  readonly pty: PtyExposure | undefined;
  /** The machine-readable line printed at start. */
  readonly announce: string;
  /** Stop listening, save flash (if --flash), unregister. */
  stop(): Promise<void>;
}

/** Start an emulator in this process (used by runEmulate and by tests). */
export async function startEmulator(o: EmulateOptions, log: (line: string) => void = () => {}): Promise<RunningEmulator> {
  const flashImage = o.flashFile && existsSync(o.flashFile) ? new Uint8Array(readFileSync(o.flashFile)) : undefined;
  const board = new VirtualBoard({
    board: o.board, seed: o.seed, clock: o.virtualClock ? "virtual" : "real",
    ...(flashImage ? { flashImage } : {}),
  });
  if (o.firmwareFile && o.nfc && /(^|[\\/])keycarrier\.js$/.test(o.firmwareFile)) {
    log(`--firmware ${o.firmwareFile} is the USB-only bundle (NFC link compiled out): the card will not answer over NFC; use firmware/dist/keycarrier.nfc.js`);
  }
  if (o.firmwareFile) {
    // Storage holds byte strings; the bundle is ASCII, and latin1 keeps any other byte as one char.
    board.storage.write(".bootcde", readFileSync(o.firmwareFile).toString("latin1"));
  }
  const bc = new BoardConsole(board, { banner: o.banner });
  bc.powerOn();

  // The console's wire: USB where the board has it, else Serial1 (Puck.js), as VirtualBoard routes it.
  const consolePort = board.profile.peripherals.usb ? board.usb : board.serial1;
  const tcp = await serveTcp(consolePort, { port: o.tcpPort, log });
  let pty: PtyExposure | undefined;
  if (o.pty) {
    const socat = findSocat();
    if ("missing" in socat) log(`no PTY: ${socat.missing}`);
    else pty = await exposePty({ tcpPort: tcp.port, ...(o.ptyPath ? { path: o.ptyPath } : {}), log });
  }
  const target: ControlTarget = {
    pressButton: (n) => board.pressButton(n),
    releaseButton: (n) => board.releaseButton(n),
    leds: () => board.leds(),
    powerOn: () => bc.powerOn(),
    powerCut: () => bc.powerCut(),
    reset: () => bc.reset(),
    ...(board.profile.peripherals.nfc ? { nfc: board.nfc } : {}),
    ...(o.virtualClock ? { advance: (ms: number) => board.advance(ms) } : {}),
    ...(board.display ? { screen: { png: (scale?: number) => board.display!.png(scale), text: () => board.display!.text(), width: board.display.spec.width, height: board.display.spec.height } } : {}),
  };
  const screenWatch = o.screen ? watchScreen(board, o.screen.dir, log) : undefined;
  let vicc: VirtualIcc | undefined;
  if (o.nfc) {
    if (!board.profile.peripherals.nfc) throw new Error(`--nfc: board ${o.board} has no NFC; use nrf52840 or puckjs`);
    vicc = new VirtualIcc(board.nfc, o.nfc, log);
    await vicc.tap();
    target.reader = vicc;
    log(`card in vpcd's reader at ${o.nfc.host}:${o.nfc.port}`);
  }
  const control = await serveControl(target, { board: o.board, clock: o.virtualClock ? "virtual" : "real" }, { port: o.controlPort });
  const unregister = registerEmulator({ pid: process.pid, tcp: tcp.url, pty: pty?.path ?? null, board: o.board });
  const announce = `keycarrier-emulate: tcp=${tcp.host}:${tcp.port} control=127.0.0.1:${control.port} pty=${pty?.path ?? "none"} board=${o.board} clock=${o.virtualClock ? "virtual" : "real"}`;

  let stopped = false;
  return {
    board, tcp, control, pty, announce,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      unregister();
      if (screenWatch) clearInterval(screenWatch);
      vicc?.remove();
      await Promise.all([tcp.close(), control.close(), pty?.close()]);
      board.dispose();
      if (o.flashFile) {
        const tmp = `${o.flashFile}.tmp-${process.pid}`;
        writeFileSync(tmp, board.flash.snapshot());
        renameSync(tmp, o.flashFile);
        log(`flash saved to ${o.flashFile}`);
      }
    },
  };
}

/** --screen: every 100 ms of host time, a frame that differs from the last one shown is printed (and saved). */
function watchScreen(board: VirtualBoard, dir: string | undefined, log: (line: string) => void): ReturnType<typeof setInterval> {
  if (!board.display) throw new EmulateUsageError(`--screen: board ${board.profile.id} has no display; use --board nrf52840-oled`);
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  let last = "";
  let n = 0;
  const timer = setInterval(() => {
    const text = board.display!.text();
    if (text === last) return;
    last = text;
    n++;
    let saved = "";
    if (dir !== undefined) {
      const file = join(dir, `frame-${String(n).padStart(4, "0")}.png`);
      writeFileSync(file, board.display!.png(4));
      saved = ` → ${file}`;
    }
    log(`screen frame ${n}${saved}\n${text}`);
  }, 100);
  timer.unref();
  return timer;
}

/** `keycarrier emulate …`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function runEmulate(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(EMULATE_USAGE);
    return 0;
  }
  let opts: EmulateOptions;
  try {
    opts = parseEmulateArgs(argv);
  } catch (e) {
    process.stderr.write(`keycarrier emulate: ${(e as Error).message}\n`);
    return 2;
  }
  let emu: RunningEmulator;
  try {
    emu = await startEmulator(opts, (line) => process.stderr.write(`keycarrier emulate: ${line}\n`));
  } catch (e) {
    process.stderr.write(`keycarrier emulate: ${(e as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    if (opts.stdio) {
      process.stderr.write(emu.announce + "\n");
      const consolePort = emu.board.profile.peripherals.usb ? emu.board.usb : emu.board.serial1;
      consolePort.onData((bytes) => process.stdout.write(bytes));
      process.stdin.on("data", (chunk: Buffer) => consolePort.write(new Uint8Array(chunk)));
      process.stdin.once("end", done);
      process.stdin.once("close", done);
    } else {
      process.stdout.write(emu.announce + "\n");
    }
  });
  await emu.stop();
  return 0;
}
