/**
 * Wires an EspruinoConsole into a VirtualBoard through the board's console seam
 * (attachConsole / writeConsole / evaluate / emitE / consoleLock / clock).
 *
 * The board has no "booted" hook, so a boot (reset(), load(), power-on) is noticed by its effect:
 * the board's global object changes. When that happens the console forgets its line (RAM is
 * gone) before printing the boot code's output, and announces itself (banner, prompt) when the
 * boot is over — jsiSemiInit's order: boot code output, banner, prompt.
 */
import { ESPRUINO_VERSION, type BootKind, type VirtualBoard } from "../virtual-board.ts";
import { EspruinoConsole, type ConsoleHost } from "./repl.ts";

export interface BoardConsoleOptions {
  /** Print Espruino's start-up banner on boots (default true, as a board does). */
  banner?: boolean;
}

export class BoardConsole {
  readonly console: EspruinoConsole;
  private realm: object | undefined;
  private pendingAnnounce = false;
  private idleQueued = false;
  private readonly banner: boolean;
  private lastBoot: BootKind | undefined;

  constructor(readonly board: VirtualBoard, opts: BoardConsoleOptions = {}) {
    this.banner = opts.banner ?? true;
    const host: ConsoleHost = {
      boardId: board.profile.espruinoBoard,
      version: ESPRUINO_VERSION,
      write: (bytes) => board.writeConsole(bytes),
      // ESC[nd names the line's number; vm's lineOffset counts lines before it.
      evaluate: (code, o) => board.evaluate(code, { lineOffset: Math.max(0, o.lineNumberOffset - 1) }),
      get storage() { return board.storage; },
      emitPacketEvent: (obj) => board.emitE("packet", obj) > 0,
      emitPacketUpload: (info) => { board.emitE("packetUpload", info); },
      clock: {
        setTimeout: (cb, ms) => board.clock.addInternal(ms, cb),
        clearTimeout: (h) => { board.clock.cancel(h as number); },
      },
      lockState: { get: () => board.consoleLock(), unlock: () => board.unlockConsole() },
      endOfTurn: () => this.noticeBoot(true),
    };
    this.console = new EspruinoConsole(host);
    const con = this.console;
    board.attachConsole({
      receive: (bytes) => con.receive(bytes),
      firmwareOutput: (text) => {
        this.noticeBoot(false);
        // print() lines arrive already ended with "\r\n"; the console adds the "\r" itself.
        con.print(text.endsWith("\r\n") ? text.slice(0, -2) + "\n" : text);
        this.queueIdle();
      },
      setEcho: (on: boolean) => con.setEcho(on),
      receivingPacket: () => con.receivingPacket(),
      consoleMoving: (to: string) => { this.noticeBoot(false); con.printConsoleMove(`-> ${to}\n`); },
      consoleMoved: (from: string) => con.printConsoleMove(`<- ${from}\n`),
      onBoot: (kind) => { this.lastBoot = kind; },
    });
    this.realm = this.currentRealm();
  }

  /** Power on (boot code runs), then banner and prompt. */
  powerOn(): void {
    this.board.powerOn();
    this.noticeBoot(true);
  }

  /** Power off: RAM and the console state are gone. */
  powerCut(): void {
    this.board.powerCut();
    this.console.resetState();
    this.realm = undefined;
  }

  /** reset() from outside the REPL (control port). */
  reset(): void {
    this.board.reset();
    this.noticeBoot(true);
  }

  private currentRealm(): object | undefined {
    try {
      return this.board.isOn ? this.board.globalObject() : undefined;
    } catch {
      return undefined;
    }
  }

  /** A new global object means the board booted: forget the line; announce once it is over. */
  private noticeBoot(bootIsOver: boolean): void {
    const realm = this.currentRealm();
    if (realm !== this.realm) {
      this.realm = realm;
      this.console.resetState();
      this.pendingAnnounce = realm !== undefined;
    }
    if (bootIsOver && this.pendingAnnounce) {
      this.pendingAnnounce = false;
      this.console.announce({ banner: this.banner && !this.bootRanCode() });
      this.console.idle();
    }
  }

  /**
   * jsiSemiInit prints the banner only when it did not autoload code: a power-on (or watchdog
   * reboot) with .varimg/.bootcde/.bootrst in Storage shows none (measured: "\r\x1b[Ja\r\n\r\n>").
   */
  private bootRanCode(): boolean {
    if (this.lastBoot !== "powerOn" && this.lastBoot !== "reboot") return false;
    const st = this.board.storage;
    return [".varimg", ".bootcde", ".bootrst"].some((f) => st.read(f) !== undefined);
  }

  /** Output from timers/events: give the prompt back at the end of that turn. */
  private queueIdle(): void {
    if (this.idleQueued || !this.board.isOn) return;
    this.idleQueued = true;
    this.board.clock.addInternal(0, () => {
      this.idleQueued = false;
      this.noticeBoot(true);
      this.console.idle();
    });
  }
}
