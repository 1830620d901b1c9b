/**
 * Make a board look like /dev/ttyACM0: socat creates a raw PTY (symlinked at a path of our choice)
 * and bridges it to the board's loopback TCP listener, so `serialport` (or screen, or minicom) can
 * open the path. Measured: all 256 byte values pass unchanged through `pty,raw,echo=0`
 * (toolchain facts).
 *
 * `wait-slave` makes socat connect to TCP only once a program opens the PTY, so an idle PTY does
 * not hold the listener's single client slot. socat exits when that program closes the PTY; we
 * start it again, so the path comes back about a second later for the next client.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

/** The socat binary, or a reason there is none (callers print the reason and carry on). */
export function findSocat(): { path: string } | { missing: string } {
  const r = spawnSync("sh", ["-c", "command -v socat"], { encoding: "utf8" });
  const path = r.stdout.trim();
  if (r.status === 0 && path) return { path };
  return { missing: "socat is not installed (apt-get install socat); no PTY exposure, use the TCP port instead" };
}

export interface PtyExposure {
  /** The path a serial client opens. */
  readonly path: string;
  close(): Promise<void>;
}

export interface PtyOptions {
  /** Loopback TCP port of the board's listener (from serveTcp). */
  tcpPort: number;
  /** Symlink to create, default /tmp/keycarrier-<pid>. Must not exist as a regular file. */
  path?: string;
  log?: (line: string) => void;
  /** How long to wait for socat to create the PTY, default 5000 ms. */
  startTimeoutMs?: number;
}

export async function exposePty(opts: PtyOptions): Promise<PtyExposure> {
  const socat = findSocat();
  if ("missing" in socat) throw new Error(`exposePty: ${socat.missing}`);
  const path = opts.path ?? `/tmp/keycarrier-${process.pid}`;
  if (!/^[A-Za-z0-9_./-]+$/.test(path)) {
    throw new Error(`exposePty: PTY path ${JSON.stringify(path)} has characters socat would misparse; use letters, digits, _ . / -`);
  }
  const log = opts.log ?? (() => {});
  let child: ChildProcess | undefined;
  let closing = false;

  const start = (): Promise<void> => new Promise((resolve, reject) => {
    const args = ["-d", "-d", `pty,raw,echo=0,link=${path},wait-slave`, `tcp:127.0.0.1:${opts.tcpPort}`];
    const proc = spawn(socat.path, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      proc.kill();
      reject(new Error(`exposePty: socat did not create ${path} within ${opts.startTimeoutMs ?? 5000} ms`));
    }, opts.startTimeoutMs ?? 5000);
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (text: string) => {
      if (!settled && /PTY is /.test(text)) {
        // socat prints this right after creating the PTY; the symlink follows immediately.
        const poll = (): void => {
          if (existsSync(path)) { settled = true; clearTimeout(timer); resolve(); } else setTimeout(poll, 10);
        };
        poll();
      }
      if (/ E /.test(text)) log(`socat: ${text.trim()}`);
    });
    proc.on("exit", (code) => {
      if (child === proc) child = undefined;
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`exposePty: socat exited with ${code} before creating ${path}`));
        return;
      }
      if (!closing) {
        log(`serial client on ${path} closed; reopening the PTY`);
        start().catch((e: Error) => log(e.message));
      }
    });
  });

  await start();
  return {
    path,
    close: () => new Promise<void>((done) => {
      closing = true;
      const c = child;
      if (!c) { done(); return; }
      c.once("exit", () => done());
      c.kill();
    }),
  };
}
