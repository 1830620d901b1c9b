/**
 * Talks to an Espruino REPL through its packet protocol (facts §6): an EVAL packet
 * `10 01 HH LL expr` is answered with ACK (0x06) and a RESPONSE packet carrying `E.toJS(result)`,
 * or NAK (0x15) plus the error text. Used by `keycarrier flash` before the upload (is there a REPL,
 * which firmware version) and after it (read `.bootcde` back, reboot).
 */
import type { Transport } from "../transport/types.ts";
import { parsePort } from "../transport/index.ts";

const DLE = 0x10;
const SOH = 0x01;
const ACK = 0x06;
const NAK = 0x15;
const TYPE_EVAL = 0x2000;
const TYPE_RESPONSE = 0x0000;
const TYPE_MASK = 0xe000;
const LENGTH_MASK = 0x1fff;

/** Frames an EVAL packet; `expr` must be ASCII and at most 8,191 bytes. */
export function encodeEvalPacket(expr: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(expr)) throw new Error("encodeEvalPacket: the expression must be printable ASCII");
  if (expr.length > LENGTH_MASK) throw new Error(`encodeEvalPacket: ${expr.length} bytes is over the packet limit of ${LENGTH_MASK}`);
  const flags = TYPE_EVAL | expr.length;
  const out = new Uint8Array(4 + expr.length);
  out.set([DLE, SOH, flags >> 8, flags & 0xff]);
  for (let i = 0; i < expr.length; i++) out[4 + i] = expr.charCodeAt(i);
  return out;
}

export type EvalOutcome =
  | { kind: "value"; text: string }     // E.toJS(result)
  | { kind: "error"; text: string }     // NAK: the console text after it
  | { kind: "silent"; text: string };   // nothing recognisable before the timeout: console text seen

/**
 * Parses what came back after an EVAL. Console text (echo, banners) around the reply is skipped;
 * returns undefined while the reply is incomplete.
 */
export function parseEvalReply(bytes: number[]): EvalOutcome | undefined {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === NAK) return { kind: "error", text: latin1(bytes.slice(i + 1)) };
    if (b !== ACK) continue;
    // after the ACK: a RESPONSE packet, possibly after console text
    for (let j = i + 1; j + 3 < bytes.length; j++) {
      if (bytes[j] !== DLE || bytes[j + 1] !== SOH) continue;
      const flags = (bytes[j + 2]! << 8) | bytes[j + 3]!;
      if ((flags & TYPE_MASK) !== TYPE_RESPONSE) continue;
      const len = flags & LENGTH_MASK;
      if (bytes.length < j + 4 + len) return undefined;
      return { kind: "value", text: latin1(bytes.slice(j + 4, j + 4 + len)) };
    }
    return undefined;
  }
  return undefined;
}

function latin1(bytes: number[]): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** A raw byte connection to a board's console. */
export class ConsoleWire {
  private received: number[] = [];
  private waiter: (() => void) | undefined;

  private constructor(private readonly transport: Transport) {
    transport.onData((chunk) => {
      for (const b of chunk) this.received.push(b);
      this.waiter?.();
    });
  }

  static async open(port: string, baudRate?: number): Promise<ConsoleWire> {
    const transport = parsePort(port, baudRate !== undefined ? { baudRate } : {});
    await transport.open();
    return new ConsoleWire(transport);
  }

  /** Everything received since the last EVAL was sent, as text (for diagnostics). */
  get pendingText(): string {
    return latin1(this.received);
  }

  /** Sends one EVAL packet and waits up to `timeoutMs` for its reply. */
  async evaluate(expr: string, timeoutMs: number): Promise<EvalOutcome> {
    this.received = [];
    await this.transport.write(encodeEvalPacket(expr));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = parseEvalReply(this.received);
      if (outcome?.kind === "value") return outcome;
      if (outcome?.kind === "error") {
        // the error text follows the NAK on the console; give it a moment to arrive
        await this.waitForData(Math.min(200, Math.max(0, deadline - Date.now())));
        return parseEvalReply(this.received) ?? outcome;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { kind: "silent", text: latin1(this.received) };
      await this.waitForData(left);
    }
  }

  /** Writes raw bytes (no reply expected). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    await this.transport.write(bytes);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiter = () => {
        this.waiter = undefined;
        done();
      };
    });
  }
}
