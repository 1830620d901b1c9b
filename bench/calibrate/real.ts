// Drives a real Espruino Linux interpreter (scripts/real-espruino/) as a child process: the console
// ("USB") is its stdin/stdout, byte 0x04 ends it, and its Storage is ./espruino.flash in its working
// directory, so every instance gets its own temp dir. Optional tooling: CI never runs this.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Transport } from "../../host/src/transport/types.ts";
import { parseCallgrindTotal, parseRigLine, type RigLine } from "./parse.ts";

export interface StartOptions {
  /** Run under `valgrind --tool=callgrind` and allow `dump(label)` instruction counts. */
  callgrind?: boolean;
  /** Called with everything the interpreter prints on stderr. */
  stderr?: (text: string) => void;
}

/** A fresh temp dir for one interpreter instance (its Storage lives there). */
export function instanceDir(prefix = "kc-real-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * One interactive interpreter process (REPL on stdin/stdout, `.boot0`/`.bootcde` autoloaded). The
 * rig hooks of the build (scripts/real-espruino/kc-rig.patch) answer signals on stderr between
 * events, so measuring needs no JavaScript (and no JsVars) on the device.
 */
export class RealEspruino {
  /** The last 2,000 characters the interpreter (or valgrind) printed on stderr. */
  stderrTail = "";
  /** Everything printed on stdout while no link listens (boot output, REPL). */
  text = "";
  /** Set once the interpreter reported that the boot code and E.on('init') have run. */
  ready = false;
  private readonly child: ChildProcess;
  private exited = false;
  private readonly exitPromise: Promise<number | null>;
  private waiters: (() => void)[] = [];
  private linkListeners: ((chunk: Uint8Array) => void)[] = [];
  private rigWaiters: { kind: RigLine["kind"]; resolve: (l: RigLine) => void }[] = [];
  private stderrLine = "";
  private dumps = 0;

  constructor(readonly bin: string, readonly dir: string, private readonly opts: StartOptions = {}) {
    const cmd = opts.callgrind ? "valgrind" : bin;
    const args = opts.callgrind
      ? ["--tool=callgrind", `--callgrind-out-file=${join(dir, "cg.out")}`, "--dump-instr=no", "--collect-jumps=no", bin]
      : [];
    this.child = spawn(cmd, args, { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (b: Buffer) => this.onStdout(b));
    this.child.stderr!.on("data", (b: Buffer) => this.onStderr(b.toString("latin1")));
    this.child.stdin!.on("error", () => {});
    this.exitPromise = new Promise((resolve) => {
      this.child.once("exit", (code) => { this.exited = true; this.wake(); resolve(code); });
      this.child.once("error", () => { this.exited = true; this.wake(); resolve(null); });
    });
  }

  get pid(): number { return this.child.pid ?? -1; }
  get isRunning(): boolean { return !this.exited; }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onStdout(b: Buffer): void {
    if (this.linkListeners.length) {
      const bytes = Uint8Array.from(b);
      for (const l of this.linkListeners) l(bytes);
    } else this.text += b.toString("latin1");
    this.wake();
  }

  private onStderr(t: string): void {
    this.stderrTail = (this.stderrTail + t).slice(-2000);
    this.opts.stderr?.(t);
    this.stderrLine += t;
    let nl: number;
    while ((nl = this.stderrLine.indexOf("\n")) >= 0) {
      const rig = parseRigLine(this.stderrLine.slice(0, nl));
      this.stderrLine = this.stderrLine.slice(nl + 1);
      if (!rig) continue;
      if (rig.kind === "ready") this.ready = true;
      const i = this.rigWaiters.findIndex((w) => w.kind === rig.kind);
      if (i >= 0) this.rigWaiters.splice(i, 1)[0]!.resolve(rig);
    }
    this.wake();
  }

  /**
   * Asks the rig hooks: "mem" garbage-collects and reports process.memory().usage (SIGUSR1),
   * "mem-nogc" the same without the collection (SIGURG), "press" presses BTN1 and releases it
   * 120 ms later (SIGUSR2). The answer comes between events, so it also proves the interpreter idle.
   */
  rig(what: "mem" | "mem-nogc" | "press", timeoutMs = 10_000): Promise<RigLine> {
    const kind: RigLine["kind"] = what === "press" ? "press" : "mem";
    return new Promise((resolve, reject) => {
      const entry = { kind, resolve: (l: RigLine) => { clearTimeout(t); resolve(l); } };
      const t = setTimeout(() => {
        this.rigWaiters = this.rigWaiters.filter((w) => w !== entry);
        reject(new Error(`the interpreter did not answer ${what} in ${timeoutMs} ms${this.exited ? " (it exited)" : ""}`));
      }, timeoutMs);
      this.rigWaiters.push(entry);
      if (this.exited || !this.child.kill(what === "mem" ? "SIGUSR1" : what === "mem-nogc" ? "SIGURG" : "SIGUSR2")) {
        clearTimeout(t);
        reject(new Error(`cannot signal the interpreter (${what}): it is not running`));
      }
    });
  }

  write(s: string): void {
    if (!this.exited) this.child.stdin!.write(Buffer.from(s, "latin1"));
  }

  /** Waits until `done(text)` holds, the process exits, or `timeoutMs` passes (then throws). */
  async waitFor(done: (text: string) => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!done(this.text)) {
      if (this.exited) throw new Error(`${what}: the interpreter exited; it printed:\n${tail(this.text)}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out after ${timeoutMs} ms; it printed:\n${tail(this.text)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Waits until nothing new was printed for `quietMs` (or `maxMs` passed). */
  async waitQuiet(quietMs: number, maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    let seen = -1;
    while (Date.now() < end && !this.exited) {
      if (this.text.length === seen) return;
      seen = this.text.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await this.waitFor(() => this.ready, timeoutMs, "boot (waiting for the interpreter's ready report)");
  }

  /** Hands the stdout stream to a link (KeyCarrier host library) from now on. */
  transport(): Transport {
    const self = this;
    return {
      description: `real Espruino ${this.bin} in ${this.dir}`,
      get isOpen() { return self.isRunning; },
      open: () => Promise.resolve(),
      close: () => Promise.resolve(),
      write: (bytes: Uint8Array) => { self.write(Buffer.from(bytes).toString("latin1")); return Promise.resolve(); },
      onData: (l) => { self.linkListeners.push(l); },
      onClose: (l) => { void self.exitPromise.then(() => l()); },
      onError: () => {},
    };
  }

  /** callgrind: dumps the instructions counted since the last dump and returns their number. */
  dump(label: string): number {
    if (!this.opts.callgrind) throw new Error("dump() needs a process started with callgrind: true");
    // callgrind_control passes the label on a command line of its own: keep it to [A-Za-z0-9_-].
    const r = spawnSync("callgrind_control", ["-d", label.replace(/[^A-Za-z0-9_-]+/g, "_"), String(this.pid)], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`callgrind_control -d ${label} failed: ${r.stderr || r.stdout}`);
    this.dumps++;
    const file = join(this.dir, `cg.out.${this.dumps}`);
    // callgrind writes the dump when the process next runs client code; wait for a complete file.
    for (let i = 0; i < 1200 && !(existsSync(file) && /^totals:/m.test(readFileSync(file, "utf8"))); i++) spawnSync("sleep", ["0.05"]);
    if (!existsSync(file)) throw new Error(`callgrind_control -d ${label}: no ${file} after 60 s (${r.stdout.trim()})`);
    return parseCallgrindTotal(readFileSync(file, "utf8"));
  }

  /**
   * Ends the interpreter: byte 0x04 (which exits it only while USB is the console), then SIGKILL
   * after `graceMs` (it ignores SIGTERM).
   */
  async stop(graceMs = 1000): Promise<void> {
    if (this.exited) return;
    this.write("\x04");
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exitPromise;
    clearTimeout(t);
  }
}

function tail(s: string, n = 600): string {
  return JSON.stringify(s.length > n ? "…" + s.slice(-n) : s);
}

/** Base64 chunks of `data` (latin1) and the REPL lines that write them into Storage file `name`. */
export function storageWriteLines(name: string, data: string, chunkBytes = 512): string[] {
  if (data.length === 0) throw new Error(`storageWriteLines: ${name} is empty (Storage refuses zero-length files)`);
  const lines: string[] = [];
  for (let off = 0; off < data.length; off += chunkBytes) {
    const b64 = Buffer.from(data.slice(off, off + chunkBytes), "latin1").toString("base64");
    lines.push(`require("Storage").write(${JSON.stringify(name)},atob("${b64}"),${off},${data.length})\n`);
  }
  return lines;
}

/**
 * Writes files into the Storage of `dir` through the REPL of a fresh interpreter (as EspruinoTools
 * does), one ≤512-byte piece per line, each checked for `=true`.
 */
export async function uploadFiles(bin: string, dir: string, files: { name: string; data: string }[]): Promise<void> {
  const p = new RealEspruino(bin, dir);
  try {
    await p.waitFor((t) => t.includes(">"), 10_000, "REPL prompt");
    for (const f of files) {
      for (const line of storageWriteLines(f.name, f.data)) {
        const before = p.text.length;
        p.write(line);
        await p.waitFor((t) => /=true\r\n>/.test(t.slice(before)) || /Error|=false|=undefined/.test(t.slice(before)), 20_000, `writing ${f.name}`);
        if (!/=true\r\n>/.test(p.text.slice(before))) throw new Error(`writing ${f.name} into Storage failed: ${tail(p.text.slice(before))}`);
      }
    }
  } finally {
    await p.stop();
  }
}

/** Boots `dir` (its .boot0/.bootcde run), collects the console until quiet, then stops it. */
export async function bootAndCollect(bin: string, dir: string, opts: { quietMs?: number; maxMs?: number; until?: RegExp } = {}): Promise<string> {
  const p = new RealEspruino(bin, dir);
  try {
    if (opts.until) await p.waitFor((t) => opts.until!.test(t), opts.maxMs ?? 30_000, "boot output").catch(() => {});
    else await p.waitQuiet(opts.quietMs ?? 1500, opts.maxMs ?? 30_000);
    return p.text;
  } finally {
    await p.stop();
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The interpreter's banner version (e.g. "2v29.277") and process.env.BOARD, from a script run. */
export function interpreterIdentity(bin: string): { version: string; board: string } {
  const dir = instanceDir();
  try {
    const script = join(dir, "id.js");
    writeFileSync(script, 'print("KCID "+process.env.VERSION+" "+process.env.BOARD);quit()');
    const r = spawnSync(bin, [script], { cwd: dir, encoding: "latin1", timeout: 10_000, input: "" });
    const m = /KCID (\S+) (\S+)/.exec(r.stdout ?? "");
    if (!m) throw new Error(`${bin} did not run a script (exit ${r.status}): ${(r.stdout ?? "").slice(-300)}`);
    return { version: m[1]!, board: m[2]! };
  } finally {
    removeDir(dir);
  }
}
