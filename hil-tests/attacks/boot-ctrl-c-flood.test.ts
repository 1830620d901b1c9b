// Attack (issue 11 item 2, issue 10): a host the carrier is plugged into floods Ctrl-C (0x03) over USB
// through every millisecond of a metered boot of a PERSONALISED carrier, trying to stop the boot code
// at a REPL before the firmware has closed the console.
//
// How the virtual board judges it (board/src/runtime/ctrl-c.ts, facts §6): a byte sent at device ms t
// meets the receive IRQ at t on the cost model's timeline; a 0x03 on the device that is the console
// then, unlocked, sets EXEC_CTRL_C; SysTick (2^24 cycles, 262 ms at 64 MHz) promotes it to
// EXEC_CTRL_C_WAIT, where the next loop iteration enters the debugger (`debug>`, which evaluates what
// the host types), and then to EXEC_INTERRUPTED, which stops the code at its next statement. After a
// stopped boot the REPL stays on whatever device the console is on. "Taken" here is proven, not
// inferred: the host then types a line that reads a secret Storage file and gets its answer.
//
// Two carriers from the same personalised flash image and the same release bundle:
//  - release: as `keycarrier personalise` leaves it, with `.boot0` (the console lock Espruino runs
//    before `.bootcde`, so the console leaves USB at the first statement of the boot);
//  - late lock: the same flash without `.boot0`, i.e. a carrier personalised before the boot lock
//    existed, where the console is closed only once the bundle has built the carrier (its
//    `lockConsole()` call) — today's behaviour before this change.
// The test asserts 0 windows on the release carrier and at least one on the late-lock one (so it can
// fail), and prints where the windows are.
import { beforeAll, describe, expect, it } from "vitest";
import { VirtualBoard, type ConsoleChange } from "../../board/src/virtual-board.ts";
import { BoardConsole } from "../../board/src/console/attach.ts";
import { CostMeter } from "../../board/src/cost/meter.ts";
import { sysTickMs } from "../../board/src/runtime/ctrl-c.ts";
import { loadProfile, type BoardProfile } from "../../board/src/profiles.ts";
import { CarrierRig, CMD, ST, transportIdentity } from "../../firmware/test/applets/carrier-harness.ts";
import { CONSOLE_LOCK_CODE, CONSOLE_LOCK_FILE } from "../../firmware/src/security/boot-lock.ts";
import { diversifyCarrierKeys } from "../../host/src/channel/keys.ts";

// nRF52840: the board profile with a USB console (Puck.js has no USB; its console is Serial1/BLE).
const PROFILE: BoardProfile = loadProfile("nrf52840");
const SECRET_FILE = "kc.st"; // the page store's pages (STORAGE.md §1)
const PROBE_MARK = "KC-" + "TAKEN";
// Typed at the REPL after the boot: prints the marker and whether the secret file was readable.
const PROBE = `\rprint("KC-"+"TAKEN", require("Storage").read("${SECRET_FILE}")!==undefined)\r`;

interface BootResult {
  bootMs: number;
  taken: boolean;
  interrupts: { atMs: number; via: string; console: string | null }[];
  changes: readonly ConsoleChange[];
  text: string;
  boot0After: boolean;        // .boot0 holds the lock once the boot is over
}

/** One metered power-on of `image` with a 0x03 sent at each device ms in `ctrlCAt`, then the REPL probe. */
function bootWithCtrlC(image: Uint8Array, ctrlCAt: number[], opts: { lateLock: boolean }): BootResult {
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: PROFILE, seed: 9, flashImage: image, cost: meter });
  try {
    if (opts.lateLock) board.storage.erase(CONSOLE_LOCK_FILE);
    meter.startClock(PROFILE);
    const bc = new BoardConsole(board, { banner: true });
    for (const t of ctrlCAt) board.usb.write("\x03", { atMs: t });
    bc.powerOn();
    const bootMs = meter.clockMs();
    board.runUntilIdle(2_000);
    const before = board.usb.take();
    board.usb.write(PROBE);
    board.runUntilIdle(2_000);
    const after = board.usb.take();
    return {
      bootMs,
      taken: after.includes(`${PROBE_MARK} true`),
      interrupts: board.interrupts().map((i) => ({ atMs: i.atMs, via: i.via, console: i.console })),
      changes: board.consoleChanges(),
      text: before + after,
      boot0After: board.storage.read(CONSOLE_LOCK_FILE) === CONSOLE_LOCK_CODE,
    };
  } finally {
    board.dispose();
  }
}

/** Device ms before which a 0x03 still reaches an unlocked console on USB (the first move or lock ends it). */
function openUntil(changes: readonly ConsoleChange[]): number {
  const closed = changes.find((c) => c.device !== "USB" || c.locked);
  return closed ? closed.atMs : Infinity;
}

/** Maximal runs of consecutive milliseconds, as "a–b ms". */
function ranges(ms: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ms.length; i++) {
    let j = i;
    while (j + 1 < ms.length && ms[j + 1] === ms[j]! + 1) j++;
    out.push(i === j ? `${ms[i]} ms` : `${ms[i]}–${ms[j]} ms`);
    i = j;
  }
  return out;
}

interface Flood {
  quiet: BootResult;
  bootMs: number;
  openUntilMs: number;
  flood: BootResult;
  windows: number[];          // device ms at which one Ctrl-C takes the console
  aborted: number[];          // device ms at which one Ctrl-C stops the boot without taking the console (DoS)
  checked: number;            // single-Ctrl-C boots run to check the per-class prediction
}

/**
 * The attack on one carrier: (1) the flood itself, a 0x03 at every ms of the boot in one power-on;
 * (2) where a single 0x03 takes the console, for every ms. A 0x03 the IRQ accepts at t sets the same
 * flag as any other accepted one in the same SysTick period (the flag only moves at SysTicks), so
 * the outcome per ms is: refused when the console was closed at t, else the outcome of its period's
 * representative boot. That prediction is then checked against real single-Ctrl-C boots at every
 * 40th ms and at each period's edges.
 */
function attack(image: Uint8Array, lateLock: boolean): Flood {
  const quiet = bootWithCtrlC(image, [], { lateLock });
  expect(quiet.taken, "without a Ctrl-C the personalised carrier keeps its console closed").toBe(false);
  const bootMs = quiet.bootMs;
  const openUntilMs = openUntil(quiet.changes);
  const last = Math.ceil(bootMs) + 5;
  const every: number[] = [];
  for (let t = 0; t <= last; t++) every.push(t);

  const flood = bootWithCtrlC(image, every, { lateLock });

  const tick = sysTickMs(PROFILE.espruinoBoard, PROFILE.cpu.mhz);
  const byPeriod = new Map<number, BootResult>();
  const outcome = (t: number): "refused" | "taken" | "aborted" | "none" => {
    if (t >= openUntilMs) return "refused";
    const k = Math.floor(t / tick);
    let r = byPeriod.get(k);
    if (!r) {
      r = bootWithCtrlC(image, [Math.max(t, k * tick)], { lateLock });
      byPeriod.set(k, r);
    }
    return r.taken ? "taken" : r.interrupts.length > 0 ? "aborted" : "none";
  };
  const windows: number[] = [];
  const aborted: number[] = [];
  for (const t of every) {
    const o = outcome(t);
    if (o === "taken") windows.push(t);
    if (o === "aborted") aborted.push(t);
  }

  // Check the prediction with real boots: every 40th ms, and both sides of each SysTick edge.
  const samples = new Set<number>();
  for (let t = 0; t <= last; t += 40) samples.add(t);
  for (let k = 1; k * tick <= last; k++) { samples.add(Math.floor(k * tick)); samples.add(Math.ceil(k * tick)); }
  if (Number.isFinite(openUntilMs)) { samples.add(Math.floor(openUntilMs)); samples.add(Math.ceil(openUntilMs)); }
  for (const t of samples) {
    if (t > last) continue;
    const r = bootWithCtrlC(image, [t], { lateLock });
    expect(r.taken, `single Ctrl-C at ${t} ms: prediction ${windows.includes(t) ? "taken" : "not taken"}`).toBe(windows.includes(t));
  }
  return { quiet, bootMs, openUntilMs, flood, windows, aborted, checked: samples.size };
}

function report(name: string, f: Flood): void {
  const taken = f.flood.interrupts.map((i) => `${i.via} at ${i.atMs.toFixed(1)} ms (console ${i.console ?? "null"})`).join(", ") || "none";
  console.log(
    `boot Ctrl-C flood, ${name}: boot ${f.bootMs.toFixed(1)} device ms on ${PROFILE.id}; console open until ` +
    `${Number.isFinite(f.openUntilMs) ? f.openUntilMs.toFixed(2) + " ms" : "the end"}; flood (0x03 every ms) ` +
    `${f.flood.taken ? "TOOK the console" : "did not take the console"} (interrupts: ${taken}); ` +
    `single-Ctrl-C windows: ${f.windows.length} ms${f.windows.length ? " [" + ranges(f.windows).join(", ") + "]" : ""}; ` +
    `boot stopped without the console (DoS): ${f.aborted.length} ms${f.aborted.length ? " [" + ranges(f.aborted).join(", ") + "]" : ""}; ` +
    `${f.checked} single-Ctrl-C boots checked the per-period prediction`,
  );
}

describe("attack: Ctrl-C flood over USB during the boot of a personalised carrier", () => {
  let image: Uint8Array;

  beforeAll(async () => {
    const rig = await CarrierRig.boot({ board: PROFILE, bootcde: true });
    try {
      const cid = new TextEncoder().encode("KC-FLOOD-0001");
      const ch = await rig.openChannel(transportIdentity(rig.serial));
      const keys = diversifyCarrierKeys(new Uint8Array(32).fill(7), cid);
      const r = await rig.inner(ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
        [1, cid], [2, new TextEncoder().encode("KC-PLATFORM-TEST")], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000],
      ]));
      expect(r.status).toBe(ST.OK);
      expect(rig.board.storage.read(SECRET_FILE), "the personalisation stored its keys").toBeTruthy();
      expect(rig.board.storage.read(CONSOLE_LOCK_FILE), "PERSONALISE left the boot lock").toBe(CONSOLE_LOCK_CODE);
      image = rig.board.flash.snapshot();
    } finally {
      rig.board.dispose();
    }
  }, 60_000);

  it("release carrier (.boot0 lock): the flood never takes the console; 0 windows", () => {
    const f = attack(image, false);
    report("release (.boot0)", f);
    expect(f.openUntilMs, "the console leaves USB within the first millisecond of the boot").toBeLessThan(1);
    // as the real 2v29 interpreter shows it with the same .boot0 and bundle (Linux build, measured:
    // "\r\x1b[J-> null\r\n" and nothing else): the console is gone before the bundle prints a byte
    expect(f.quiet.text.startsWith("\r\x1b[J-> null\r\n")).toBe(true);
    expect(f.quiet.text).not.toContain("KeyCarrier");
    expect(f.flood.taken).toBe(false);
    expect(f.windows).toEqual([]);
  }, 60_000);

  it("late-lock carrier (no .boot0, lock in the bundle): the console stays on USB for most of the boot and a Ctrl-C stops it", () => {
    const f = attack(image, true);
    report("late lock (no .boot0)", f);
    // Without .boot0 the console is open on USB until the bundle locks it, and a 0x03 in that time
    // stops the boot. On the page store every statement before the lock runs inside the carrier's
    // construction, whose catch fails closed (lockConsole), so a stopped boot is a denial of service,
    // not the REPL (with store v1 some of them were outside it: that boot gave the REPL away). Only
    // .boot0 closes the console before the bundle runs at all (the test above).
    expect(f.openUntilMs, "the late lock leaves the console open").toBeGreaterThan(100);
    expect(f.windows.length + f.aborted.length, "a Ctrl-C during the open console stops the boot").toBeGreaterThanOrEqual(1);
    if (f.flood.taken) expect(f.windows.length).toBeGreaterThanOrEqual(1);
    // a boot that runs to its end repairs the carrier: the next one is closed from the first instant
    expect(f.quiet.boot0After).toBe(true);
  }, 60_000);

  it("control: a BLANK carrier has no .boot0, so its boot keeps the console on USB (BTN1 recovery and EspruinoTools still work)", async () => {
    const rig = await CarrierRig.boot({ board: PROFILE, bootcde: true });
    try {
      expect(rig.board.storage.read(CONSOLE_LOCK_FILE)).toBeUndefined();
      const blank = bootWithCtrlC(rig.board.flash.snapshot(), [], { lateLock: false });
      // only the USB link takes it, at the end of the boot, after the boot log reached the REPL
      expect(openUntil(blank.changes)).toBeGreaterThan(blank.bootMs * 0.9);
      // the boot text as the real 2v29 interpreter prints it for this bundle (Linux build, measured:
      // "\r\x1b[JKeyCarrier 0.1.0 on LINUX_KC_PICO 00000000-addeadde-addeadde\r\n-> null\r\n")
      expect(blank.text.startsWith(`\r\x1b[JKeyCarrier 0.1.0 on ${PROFILE.espruinoBoard} `)).toBe(true);
      expect(blank.text).toMatch(/^[^\n]*\r\n-> null\r\n/);
    } finally {
      rig.board.dispose();
    }
  }, 60_000);
});
