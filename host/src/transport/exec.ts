import { spawn, type ChildProcess } from "node:child_process";
import { TransportBase } from "./base.ts";
import { openFailure, TransportError } from "../errors.ts";

/**
 * Runs `command` through the shell and speaks over its stdin/stdout, e.g.
 * `exec:espruino-linux` or `exec:npx keycarrier emulate --stdio`. stderr goes to `stderr` when
 * given (verbose mode) and is dropped otherwise, so console noise never corrupts stdout framing.
 */
export class ExecTransport extends TransportBase {
  readonly description: string;
  private child: ChildProcess | undefined;

  constructor(
    readonly command: string,
    private readonly stderr?: (text: string) => void,
  ) {
    super();
    if (!command.trim()) throw new TransportError("exec transport needs a command, e.g. exec:\"keycarrier emulate --stdio\"");
    this.description = `exec ${command}`;
  }

  open(): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, { shell: true, stdio: ["pipe", "pipe", "pipe"] });
      let settled = false;
      child.once("error", (err) => {
        if (!settled) {
          settled = true;
          reject(openFailure("exec", this.command, err));
        } else this.emitError(new TransportError(`${this.description}: ${err.message}`, undefined, { cause: err }));
      });
      child.stdout!.on("data", (chunk: Buffer) => this.emitData(chunk));
      child.stderr!.on("data", (chunk: Buffer) => this.stderr?.(chunk.toString("utf8")));
      child.stdin!.on("error", (err) => this.emitError(new TransportError(`${this.description}: stdin: ${err.message}`, undefined, { cause: err })));
      child.once("exit", (code, signal) => {
        this.child = undefined;
        if (!settled) {
          settled = true;
          // A shell that cannot find the command exits 127 right away.
          reject(
            new TransportError(
              code === 127 ? `cannot start ${this.command}: command not found` : `${this.command} exited at once (${signal ?? `code ${code}`})`,
              code === 127 ? "ENOENT" : undefined,
            ),
          );
          return;
        }
        const clean = code === 0 || signal === "SIGTERM";
        this.emitClose(clean ? undefined : new TransportError(`${this.command} exited (${signal ?? `code ${code}`})`));
      });
      child.once("spawn", () => {
        this.child = child;
        this.opened = true;
        // The shell spawns even when the command is missing; give it a moment to exit 127.
        setTimeout(() => {
          if (!settled) {
            settled = true;
            resolve();
          }
        }, 50);
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const child = this.child;
    if (!child || !this.opened || !child.stdin || child.stdin.destroyed) {
      return Promise.reject(new TransportError(`${this.description} is not running`));
    }
    const stdin = child.stdin;
    return new Promise((resolve, reject) => {
      stdin.write(bytes, (err) => {
        if (err) reject(new TransportError(`write to ${this.description} failed: ${err.message}`, undefined, { cause: err }));
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.emitClose();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 1000);
      child.once("exit", () => {
        clearTimeout(kill);
        this.emitClose();
        resolve();
      });
      child.stdin?.end();
      child.kill("SIGTERM");
    });
  }
}
