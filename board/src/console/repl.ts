/**
 * The Espruino console: bytes in from the host, bytes out to the host, modelled on
 * jsiHandleChar / jsiHandleNewLine / jsiConsoleRemoveInputLine / jsiConsoleReturnInputLine in
 * src/jsinteractive.c and the packet table of facts §6.
 *
 * One `receive()` call is one turn of Espruino's idle loop: every byte is handled, then a pending
 * Ctrl-C clears the line and the prompt is put back. Bytes that arrive together therefore behave
 * like bytes queued together on a board (a line typed right after Enter is not echoed until the
 * prompt returns). Output the board makes on its own (timers, events) goes through `print()`, and
 * the board calls `idle()` at the end of that turn so the prompt is reprinted after it.
 *
 * The cursor always stays at the end of the line: arrow keys, Home/End and history are read and
 * ignored (their escape sequences never leak into the line).
 */
import { formatReplValue, formatToJS, formatUncaught } from "./format.ts";
import { heatshrinkDecompress } from "./heatshrink.ts";
import { countOpenBrackets, parseLooseJson } from "./lex.ts";
import {
  ACK, DLE, FILE_RECV_BLOCK, FILE_TRANSFER_TIMEOUT_MS, NAK, PACKET_LENGTH_MASK, PACKET_TIMEOUT_MS,
  PACKET_TYPE_MASK, PacketType, SOH, encodePacket,
} from "./packets.ts";

export type EvalResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Timers on the board's clock (virtual or real); handles are opaque to the console. */
export interface ConsoleClock {
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The subset of Espruino Storage the packet protocol needs (byte strings, Espruino semantics). */
export interface ConsoleStorage {
  read(name: string): string | undefined;
  write(name: string, data: string, offset?: number, size?: number): unknown;
}

export interface PacketUploadInfo { l: number; o: number; s: number; fn: string }

/** What the console needs from the board it lives on. */
export interface ConsoleHost {
  /** Board ID printed by ENQ, e.g. "NRF52840DK". */
  readonly boardId: string;
  /** Interpreter version printed by ENQ and the banner, e.g. "2v29". */
  readonly version: string;
  /** Bytes to the host side of the console device (a byte string). */
  write(bytes: string): void;
  /** Run code in the board's global scope. `lineNumberOffset` comes from `ESC [ n d`. */
  evaluate(code: string, opts: { lineNumberOffset: number }): EvalResult;
  storage: ConsoleStorage;
  /** E.emit('packet', obj); must return whether any listener was registered. */
  emitPacketEvent(obj: unknown): boolean;
  /** E.emit('packetUpload', info) — optional; called once per DATA block written. */
  emitPacketUpload?(info: PacketUploadInfo): void;
  clock: ConsoleClock;
  /**
   * Text after "Uncaught " for an error (may span lines with "\n"). `source` is the REPL text that
   * was evaluated, when the error came from it. Default: formatUncaught with frame file `replFile`.
   */
  describeError?(error: unknown, source?: string): string;
  /** The file name the host's evaluate() gives REPL code in stack frames (default "REPL"). */
  readonly replFile?: string;
  /** REPL text after "=" (default: Espruino's pretty printer). */
  formatResult?(value: unknown): string;
  /** E.toJS(value) (default: Espruino's compact printer). */
  toJS?(value: unknown): string;
  /** Ctrl-C seen by the receive IRQ while unlocked: interrupt running JS if any. */
  interrupt?(): void;
  /**
   * Where E.setPassword/E.lockConsole state lives when the board keeps it (VirtualBoard does);
   * without it the console keeps its own (setPassword/lock below).
   */
  lockState?: { get(): { password: string | undefined; locked: boolean }; unlock(): void };
  /**
   * Called once per turn after the input bytes are handled and before the prompt returns — where
   * jsiIdle runs due timers and reset()/load() requests, so their output precedes the prompt.
   */
  endOfTurn?(): void;
}

type EscState = "none" | "esc" | "esc-O" | "esc-[" | "esc-[-num";

interface PacketRx { header: string; type: number; length: number; payload: string; timer: unknown }
interface Upload { fn: string; size: number; offset: number; timer: unknown; compressed: boolean }

export class EspruinoConsole {
  private inputLine = "";
  private inputLineRemoved = true;
  private echoOff = false;
  private echoOffForLine = false;
  private password: string | undefined;
  private locked = false;
  private enabled = true;
  private esc: EscState = "none";
  private escNumber = 0;
  private lineNumberOffset = 0;
  private dleAtLineStart = false;
  private ctrlCPending = false;
  private packet: PacketRx | undefined;
  private upload: Upload | undefined;
  /** Bumped by resetState(), so a line whose evaluation rebooted the board prints no result. */
  private generation = 0;

  constructor(private readonly host: ConsoleHost) {}

  // ---------------------------------------------------------------- state the runtime drives

  /** E.setConsole(null) → false: no REPL, no packets, no console output. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    if (!on) this.abortPacket(false);
  }
  isEnabled(): boolean { return this.enabled; }

  /** A packet is being received: the receive IRQ ignores Ctrl-C (jsiCtrlC). */
  receivingPacket(): boolean { return this.packet !== undefined; }

  /** jsiSetConsoleDevice's "-> USB" / "<- USB" lines, printed only with echo on. */
  printConsoleMove(text: string): void {
    if (!this.enabled || !this.echoEnabled()) return;
    this.removeInputLine();
    this.printRaw(text);
  }

  /** echo(0) / echo(1). */
  setEcho(on: boolean): void { this.echoOff = !on; }
  echoEnabled(): boolean { return !this.echoOff && !this.echoOffForLine; }

  /** E.setPassword(pw) (undefined clears it). Espruino stores at most 20 chars of input. */
  setPassword(pw: string | undefined): void {
    if (pw !== undefined && pw.length > 20) {
      throw new Error(`E.setPassword: password is ${pw.length} chars; Espruino compares at most 20, use a shorter one`);
    }
    this.password = pw;
    if (pw === undefined) this.locked = false;
  }

  /** E.lockConsole(): locks only when a password is set (jswrap_espruino.c). */
  lock(): void { if (this.password !== undefined) this.locked = true; }
  isLocked(): boolean { return this.host.lockState ? this.host.lockState.get().locked : this.locked; }

  private currentPassword(): string | undefined {
    return this.host.lockState ? this.host.lockState.get().password : this.password;
  }

  private unlock(): void {
    if (this.host.lockState) this.host.lockState.unlock();
    this.locked = false;
  }

  /**
   * Soft (re)initialisation as jsiSemiInit does on reset()/load()/power-on: `resetState()`, then
   * the board runs its boot code, then `announce()`. `softInit` does both for boards with no boot
   * code in between.
   */
  softInit(opts: { banner: boolean }): void {
    this.resetState();
    this.announce(opts);
  }

  /** Forget the line, packets and upload; echo back on; password and lock gone (they live in RAM). */
  resetState(): void {
    this.generation++;
    this.abortPacket(false);
    this.closeUpload();
    this.inputLine = "";
    // The (empty) line counts as shown: the first output after a boot erases it with "\r\x1b[J"
    // (measured on 2v29: a boot that prints "a" sends "\r\x1b[Ja\r\n").
    this.inputLineRemoved = false;
    this.echoOff = false;
    this.echoOffForLine = false;
    this.password = undefined;
    this.locked = false;
    this.esc = "none";
    this.lineNumberOffset = 0;
    this.dleAtLineStart = false;
    this.ctrlCPending = false;
  }

  /** Banner (optional) and the newline after it; the prompt is then due at the next idle(). */
  announce(opts: { banner: boolean }): void {
    if (this.echoEnabled()) {
      if (opts.banner) this.printRaw(this.bannerText());
      this.printRaw("\n");
    }
    this.inputLineRemoved = true;
  }

  /** The start-up banner of a board build (non-LINUX builds first disable terminal line wrap). */
  bannerText(): string {
    return "\x1b[?7l\n" +
      " ____                 _ \n" +
      "|  __|___ ___ ___ _ _|_|___ ___ \n" +
      "|  __|_ -| . |  _| | | |   | . |\n" +
      "|____|___|  _|_| |___|_|_|_|___|\n" +
      "         |_| espruino.com\n" +
      " " + this.host.version + " (c) 2025 G.Williams\n";
  }

  // ---------------------------------------------------------------- output from the board

  /** print()/console.log output: takes the prompt away first, "\n" becomes "\r\n". */
  print(text: string): void {
    if (!this.enabled) return;
    this.removeInputLine();
    this.printRaw(text);
  }

  /** An uncaught error from a callback, printed like jsiCheckErrors does. */
  reportUncaught(error: unknown, source?: string): void {
    this.print("Uncaught " + this.describe(error, source) + "\n");
  }

  /** End of an event-loop turn: put the prompt back if something took it away. */
  idle(): void {
    if (!this.enabled) return;
    if (this.ctrlCPending) {
      this.ctrlCPending = false;
      this.clearInputLine(true);
    }
    this.returnInputLine();
  }

  // ---------------------------------------------------------------- input from the host

  /** Bytes from the host (a byte string or bytes). One call = one idle-loop turn. */
  receive(data: string | Uint8Array): void {
    if (!this.enabled) return;
    const bytes = typeof data === "string" ? data : bytesToByteString(data);
    for (let i = 0; i < bytes.length; i++) {
      const code = bytes.charCodeAt(i) & 0xff;
      // Ctrl-C is caught by the receive IRQ before the byte is queued: it interrupts even
      // mid-packet, but a locked console ignores it (jsiCtrlC).
      if (code === 3 && !this.isLocked()) {
        this.ctrlCPending = true;
        this.host.interrupt?.();
      }
      if (this.packet) this.packetByte(code);
      else this.handleChar(code);
    }
    this.host.endOfTurn?.();
    this.idle();
  }

  private handleChar(code: number): void {
    if (this.isLocked()) { this.passwordChar(code); return; }
    const ch = String.fromCharCode(code);
    const dleBefore = this.dleAtLineStart;
    this.dleAtLineStart = false;
    if (dleBefore && code === SOH) { this.startPacket(); return; }

    if (code === 0) { this.esc = "none"; return; }
    if (code === 1) return; // Ctrl-A: home (cursor stays at end)
    if (code === 4) return; // Ctrl-D: delete forwards — nothing after the cursor
    if (code === 5) {
      if (this.inputLine.length === 0) this.printRaw(`Espruino ${this.host.version} ${this.host.boardId}\n`);
      return; // else Ctrl-E: end of line — already there
    }
    if (code === 21 || code === 23) { this.clearInputLine(true); return; } // Ctrl-U / Ctrl-W
    if (code === 27) { this.esc = "esc"; return; }
    if (this.esc === "esc") {
      this.esc = code === 79 ? "esc-O" : code === 91 ? "esc-[" : "none";
      if (code === 10) this.handleNewLine(false); // ESC LF: newline without executing
      return;
    }
    if (this.esc === "esc-O") {
      this.esc = "none";
      const numpad: Record<number, string> = { 111: "/", 106: "*", 109: "-", 107: "+", 77: "\r" };
      if (numpad[code] !== undefined) this.handleChar(numpad[code]!.charCodeAt(0));
      return;
    }
    if (this.esc === "esc-[") {
      this.esc = "none";
      if (code >= 48 && code <= 57) { this.escNumber = code - 48; this.esc = "esc-[-num"; }
      return; // arrows, Home/End: cursor and history are not modelled
    }
    if (this.esc === "esc-[-num") {
      if (code >= 48 && code <= 57) { this.escNumber = (this.escNumber * 10 + code - 48) & 0xffff; return; }
      this.esc = "none";
      if (ch === "d") this.lineNumberOffset = this.escNumber; // EspruinoTools' line-number hint
      else if (ch === "H" && this.escNumber === 2) this.clearInputLine(true);
      return;
    }
    if (code === DLE && this.inputLine.length === 0) {
      this.echoOffForLine = true;
      this.dleAtLineStart = true;
      return;
    }
    // jsiHandleChar resets its state before testing for "\n after \r", so that test never
    // fires: a "\r\n" pair is two newlines on 2v29 (the second one is an empty line).
    if (code === 8 || code === 127) { this.backspace(); return; }
    if (code === 13 || code === 10) { this.handleNewLine(true); return; }
    if (code >= 32 || code === 9) this.appendToInputLine(code === 9 ? "    " : ch);
  }

  private passwordChar(code: number): void {
    if (code === 13 || code === 10) {
      const password = this.currentPassword();
      const ok = password !== undefined && this.inputLine === password;
      this.inputLine = "";
      if (ok) {
        this.unlock();
        this.printRaw("\n  Logged in.\n");
        this.inputLineRemoved = true;
        this.returnInputLine();
      } else {
        this.printRaw("\n  Invalid password\npassword>");
      }
      return;
    }
    if (this.inputLine.length < 20) this.inputLine += String.fromCharCode(code);
  }

  private showInputLine(): boolean {
    return this.echoEnabled() && !this.inputLineRemoved && !this.isLocked();
  }

  private appendToInputLine(s: string): void {
    this.inputLine += s;
    if (this.showInputLine()) this.printRaw(s);
  }

  private backspace(): void {
    if (this.inputLine.length === 0) return;
    const deletingNewline = this.inputLine.endsWith("\n");
    const before = this.inputLine;
    this.inputLine = this.inputLine.slice(0, -1);
    if (!this.showInputLine()) return;
    if (deletingNewline) {
      // erase to end of screen, rub out the ':' and step back to the end of the previous line
      this.printRaw("\x1b[J\x08 ");
      this.printRaw(cursorMove(before, before.length, before.length - 1));
    } else {
      this.printRaw("\x08 \x08");
    }
  }

  private handleNewLine(execute: boolean): void {
    if (execute && countOpenBrackets(this.inputLine) <= 0) {
      if (this.showInputLine()) this.printRaw("\n");
      if (!this.echoOffForLine) this.inputLineRemoved = true;
      const line = this.inputLine.replace(/\s+$/, "");
      this.inputLine = "";
      const isEmpty = line.length === 0;
      const generation = this.generation;
      const result: EvalResult = isEmpty
        ? { ok: true, value: undefined }
        : this.host.evaluate(line, { lineNumberOffset: this.lineNumberOffset });
      // A board that reset()/load()ed synchronously has already printed its boot output; a board
      // would have printed this line's result first — we drop it rather than print it out of order.
      if (generation !== this.generation) return;
      this.lineNumberOffset = 0;
      if (result.ok) {
        if (this.echoEnabled() && !isEmpty) this.printRaw("=" + this.formatResult(result.value) + "\n");
      } else {
        this.reportUncaught(result.error, line);
      }
      this.echoOffForLine = false;
      return;
    }
    if (this.showInputLine()) this.printRaw("\n:");
    this.inputLine += "\n";
  }

  // ---------------------------------------------------------------- prompt handling

  /** jsiConsoleRemoveInputLine: cursor to the line start, "\r", erase to end of screen. */
  private removeInputLine(): void {
    if (this.inputLineRemoved) return;
    this.inputLineRemoved = true;
    if (this.echoEnabled()) {
      this.printRaw(cursorMove(this.inputLine, this.inputLine.length, 0) + "\r\x1b[J");
    }
  }

  /** jsiConsoleReturnInputLine: prompt (password> when locked) and the line so far. */
  private returnInputLine(): void {
    if (!this.inputLineRemoved) return;
    this.inputLineRemoved = false;
    if (!this.echoEnabled()) return;
    this.printRaw((this.isLocked() ? "password>" : ">") + this.inputLine.replace(/\n/g, "\n:"));
  }

  private clearInputLine(updateConsole: boolean): void {
    if (this.inputLine.length === 0) return;
    if (updateConsole) this.removeInputLine();
    this.inputLine = "";
  }

  /** Console text: every "\n" is sent as "\r\n" (jsiConsolePrintString). */
  private printRaw(text: string): void {
    if (!this.enabled || text.length === 0) return;
    this.host.write(text.replace(/\n/g, "\r\n"));
  }

  /** Bytes that must pass unchanged (ACK/NAK/packets). */
  private writeBytes(bytes: string): void {
    if (this.enabled) this.host.write(bytes);
  }

  private formatResult(v: unknown): string {
    return this.host.formatResult ? this.host.formatResult(v) : formatReplValue(v);
  }

  private describe(error: unknown, source?: string): string {
    if (this.host.describeError) return this.host.describeError(error, source);
    return formatUncaught(error, source, this.host.replFile ?? "REPL");
  }

  // ---------------------------------------------------------------- packets

  private startPacket(): void {
    const timer = this.host.clock.setTimeout(() => {
      // Unfinished after 5 s: NAK and return to the REPL.
      this.abortPacket(true);
      this.idle();
    }, PACKET_TIMEOUT_MS);
    this.packet = { header: "", type: 0, length: 0, payload: "", timer };
  }

  private abortPacket(nak: boolean): void {
    if (!this.packet) return;
    this.host.clock.clearTimeout(this.packet.timer);
    this.packet = undefined;
    this.echoOffForLine = false;
    if (nak) this.writeBytes(NAK);
  }

  private packetByte(code: number): void {
    const p = this.packet!;
    if (p.header.length < 2) {
      p.header += String.fromCharCode(code);
      if (p.header.length < 2) return;
      const flags = (p.header.charCodeAt(0) << 8) | p.header.charCodeAt(1);
      p.type = flags & PACKET_TYPE_MASK;
      p.length = flags & PACKET_LENGTH_MASK;
    } else {
      p.payload += String.fromCharCode(code);
    }
    if (p.payload.length < p.length) return;
    this.host.clock.clearTimeout(p.timer);
    this.packet = undefined;
    this.echoOffForLine = false;
    this.handlePacket(p.type, p.payload);
  }

  private handlePacket(type: number, payload: string): void {
    switch (type) {
      case PacketType.EVAL: return this.packetEval(payload);
      case PacketType.EVENT: return this.packetEvent(payload);
      case PacketType.FILE_SEND: return this.packetFileSend(payload);
      case PacketType.DATA: return this.packetData(payload);
      case PacketType.FILE_RECV: return this.packetFileRecv(payload);
      default: this.writeBytes(NAK);
    }
  }

  private packetEval(expression: string): void {
    // Espruino parses an expression, not statements: parenthesising makes `var x=1` a SyntaxError.
    const result = this.host.evaluate("(" + expression + "\n)", { lineNumberOffset: 0 });
    if (!result.ok) {
      this.writeBytes(NAK);
      this.reportUncaught(result.error);
      return;
    }
    const text = this.host.toJS ? this.host.toJS(result.value) : formatToJS(result.value);
    const bytes = toByteString(text).slice(0, PACKET_LENGTH_MASK);
    this.writeBytes(ACK + encodePacket(PacketType.RESPONSE, bytes));
  }

  private parseObject(payload: string): Record<string, unknown> | undefined {
    try {
      const v = parseLooseJson(payload);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  private packetEvent(payload: string): void {
    const obj = this.parseObject(payload);
    if (!obj) { this.writeBytes(NAK); return; }
    this.writeBytes(this.host.emitPacketEvent(obj) ? ACK : NAK);
  }

  private packetFileSend(payload: string): void {
    const o = this.parseObject(payload);
    const fn = o?.["fn"];
    const size = o?.["s"];
    if (!o || typeof fn !== "string" || fn.length === 0 || typeof size !== "number" || !(size > 0)) {
      this.writeBytes(NAK);
      return;
    }
    if (o["fs"]) {
      // No SD card on these boards: refuse rather than store something a board would not.
      this.writeBytes(NAK);
      this.print("ERROR: packet upload to an SD card (fs:1) is not supported by the virtual board\n");
      return;
    }
    this.closeUpload();
    this.upload = { fn, size, offset: 0, timer: this.armUploadTimer(), compressed: Boolean(o["c"]) };
    this.writeBytes(ACK);
  }

  private armUploadTimer(): unknown {
    return this.host.clock.setTimeout(() => { this.upload = undefined; }, FILE_TRANSFER_TIMEOUT_MS);
  }

  private closeUpload(): void {
    if (!this.upload) return;
    this.host.clock.clearTimeout(this.upload.timer);
    this.upload = undefined;
  }

  private packetData(block: string): void {
    const up = this.upload;
    if (!up) { this.writeBytes(NAK); return; }
    this.host.clock.clearTimeout(up.timer);
    up.timer = this.armUploadTimer();
    const data = up.compressed
      ? bytesToByteString(heatshrinkDecompress(Uint8Array.from(block, (c) => c.charCodeAt(0))))
      : block;
    const offset = up.offset;
    up.offset += data.length;
    try {
      if (offset === 0) this.host.storage.write(up.fn, data, 0, up.size);
      else this.host.storage.write(up.fn, data, offset);
    } catch (e) {
      // A board still ACKs a block whose Storage write failed; the error lands on the console.
      this.reportUncaught(e);
    }
    this.host.emitPacketUpload?.({ l: data.length, o: offset, s: up.size, fn: up.fn });
    if (up.offset >= up.size) this.closeUpload();
    this.writeBytes(ACK);
  }

  private packetFileRecv(payload: string): void {
    const o = this.parseObject(payload);
    const fn = o?.["fn"];
    const content = typeof fn === "string" ? this.host.storage.read(fn) : undefined;
    if (content === undefined) { this.writeBytes(NAK); return; }
    let out = ACK;
    for (let i = 0; i < content.length; i += FILE_RECV_BLOCK) {
      out += encodePacket(PacketType.DATA, content.slice(i, i + FILE_RECV_BLOCK));
    }
    out += encodePacket(PacketType.DATA, "");
    this.writeBytes(out);
  }
}

/** Terminal escapes moving the cursor between two offsets of a (multi-line) input line. */
function cursorMove(text: string, from: number, to: number): string {
  if (from === to) return "";
  const a = lineAndCol(text, from);
  const b = lineAndCol(text, to);
  let out = "";
  for (let x = a.col; x < b.col; x++) out += "\x1b[C";
  for (let x = a.col; x > b.col; x--) out += "\x1b[D";
  for (let y = a.line; y < b.line; y++) out += "\x1b[B";
  for (let y = a.line; y > b.line; y--) out += "\x1b[A";
  return out;
}

/** jsvGetLineAndCol: 1-based line and column of a character offset. */
function lineAndCol(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text[i] === "\n") { line++; col = 1; } else col++;
  }
  return { line, col };
}

function bytesToByteString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

/** Chars above 255 cannot exist on a board; keep the low byte like a board build would. */
function toByteString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(s.charCodeAt(i) & 0xff);
  return out;
}
