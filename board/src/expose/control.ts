/**
 * The emulator's control port: line-delimited JSON on loopback TCP, for tests and the CLI to
 * act on the board's physical side (buttons, LEDs, power, NFC field and frames, virtual clock).
 *
 * Request:  {"id": 1, "cmd": "press", "button": 1}\n
 * Reply:    {"id": 1, "ok": true, ...}\n   or   {"id": 1, "ok": false, "error": "what failed — what to do"}\n
 *
 * Commands: ping · press {button} · release {button} · leds → {leds} · power-cycle · power-off ·
 * power-on · reset · nfc-field {on} · nfc-send {hex} → {hex} · nfc-tap · nfc-remove · nfc-drop-after {frames, retapMs?}
 * (emulate --nfc only) · advance {ms} (virtual clock only) · screen {scale?} → {png (base64), text, width, height}
 * (boards with a display: what the panel lights now, board/src/display) ·
 * status → {board, clock, connected}.
 */
import net from "node:net";

/** The board's physical side, as VirtualBoard offers it (optional parts may be absent). */
export interface ControlTarget {
  pressButton(n?: number): void;
  releaseButton(n?: number): void;
  leds(): boolean[];
  powerOn(): void;
  powerCut(): void;
  reset(): void;
  nfc?: { fieldOn(): void; fieldOff(): void; transceive(frame: Uint8Array): Promise<Uint8Array> };
  /** Present only when the board runs on a virtual clock. */
  advance?(ms: number): void;
  /** Present on boards with a display: the panel as PNG (lit pixels white, scale × scale each) and as text. */
  screen?: { png(scale?: number): Buffer; text(): string; width: number; height: number };
  /** Present when the emulator shows the board to a PC/SC reader (emulate --nfc): the card's moves. */
  reader?: { tap(): Promise<void>; remove(): void; dropFieldAfter(frames: number, retapMs?: number): void };
}

export interface ControlInfo { board: string; clock: "virtual" | "real" }

export interface ControlExposure {
  readonly port: number;
  close(): Promise<void>;
}

type Request = Record<string, unknown> & { id?: unknown; cmd?: unknown };

function hexToBytes(hex: unknown): Uint8Array {
  if (typeof hex !== "string") throw new Error("nfc-send needs \"hex\": a string of hex byte pairs, e.g. \"30 04\"");
  const clean = hex.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`nfc-send: ${JSON.stringify(hex)} is not hex byte pairs`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function buttonOf(req: Request): number {
  const n = req["button"] ?? 1;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new Error(`"button" must be a positive integer (BTN1 = 1), got ${JSON.stringify(n)}`);
  }
  return n;
}

/** Run one request against the board; returns the reply fields (without id/ok). */
export async function handleControl(target: ControlTarget, info: ControlInfo, req: Request): Promise<Record<string, unknown>> {
  switch (req.cmd) {
    case "ping": return {};
    case "status": return { board: info.board, clock: info.clock };
    case "press": target.pressButton(buttonOf(req)); return {};
    case "release": target.releaseButton(buttonOf(req)); return {};
    case "leds": return { leds: target.leds() };
    case "power-off": target.powerCut(); return {};
    case "power-on": target.powerOn(); return {};
    case "power-cycle": target.powerCut(); target.powerOn(); return {};
    case "reset": target.reset(); return {};
    case "nfc-field": {
      if (!target.nfc) throw new Error(`board ${info.board} has no NFC; use a profile with NFC (nrf52840, puckjs)`);
      if (typeof req["on"] !== "boolean") throw new Error("nfc-field needs \"on\": true or false");
      if (req["on"]) target.nfc.fieldOn(); else target.nfc.fieldOff();
      return {};
    }
    case "nfc-send": {
      if (!target.nfc) throw new Error(`board ${info.board} has no NFC; use a profile with NFC (nrf52840, puckjs)`);
      const reply = await target.nfc.transceive(hexToBytes(req["hex"]));
      return { hex: bytesToHex(reply) };
    }
    case "nfc-tap":
    case "nfc-remove":
    case "nfc-drop-after": {
      if (!target.reader) throw new Error(`${String(req.cmd)} needs the card in a reader: start the emulator with --nfc`);
      if (req.cmd === "nfc-tap") await target.reader.tap();
      else if (req.cmd === "nfc-remove") target.reader.remove();
      else {
        const frames = req["frames"];
        const retap = req["retapMs"];
        if (typeof frames !== "number" || !(frames >= 0)) throw new Error(`nfc-drop-after needs "frames" >= 0 (the field drops after that many more reader frames), got ${JSON.stringify(frames)}`);
        if (retap !== undefined && !(typeof retap === "number" && retap >= 0)) throw new Error(`nfc-drop-after: "retapMs" must be a number >= 0`);
        target.reader.dropFieldAfter(frames, retap as number | undefined);
      }
      return {};
    }
    case "screen": {
      if (!target.screen) throw new Error(`board ${info.board} has no display; use a profile with one (nrf52840-oled)`);
      const scale = req["scale"] ?? 2;
      if (typeof scale !== "number" || !Number.isInteger(scale) || scale < 1 || scale > 16) throw new Error(`screen: "scale" must be an integer 1-16, got ${JSON.stringify(scale)}`);
      return { png: target.screen.png(scale).toString("base64"), text: target.screen.text(), width: target.screen.width, height: target.screen.height };
    }
    case "advance": {
      if (!target.advance || info.clock !== "virtual") {
        throw new Error("advance works only on a virtual clock; start the emulator with --virtual-clock");
      }
      const ms = req["ms"];
      if (typeof ms !== "number" || !(ms >= 0)) throw new Error(`advance needs "ms" >= 0, got ${JSON.stringify(ms)}`);
      target.advance(ms);
      return {};
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(req.cmd)}; known: ping status press release leds power-off power-on power-cycle reset nfc-field nfc-send nfc-tap nfc-remove nfc-drop-after advance screen`);
  }
}

export function serveControl(target: ControlTarget, info: ControlInfo, opts: { port?: number; host?: string } = {}): Promise<ControlExposure> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffered = "";
    // Requests on one connection run in order, so replies come back in request order.
    let queue = Promise.resolve();
    socket.on("data", (text: string) => {
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        queue = queue.then(async () => {
          let req: Request;
          try {
            const parsed: unknown = JSON.parse(line);
            if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("a request is a JSON object");
            req = parsed as Request;
          } catch (e) {
            socket.write(JSON.stringify({ ok: false, error: `bad request line (${(e as Error).message}); send one JSON object per line` }) + "\n");
            return;
          }
          try {
            const fields = await handleControl(target, info, req);
            socket.write(JSON.stringify({ id: req.id, ok: true, ...fields }) + "\n");
          } catch (e) {
            socket.write(JSON.stringify({ id: req.id, ok: false, error: (e as Error).message }) + "\n");
          }
        });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`serveControl: cannot listen (${e.code ?? e.message}); pick another --control port`)));
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}

/** A small client for the control port (tests, CLI scripts). */
export class ControlClient {
  private nextId = 1;
  private buffered = "";
  private waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      this.buffered += text;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const reply = JSON.parse(this.buffered.slice(0, nl)) as Record<string, unknown>;
        this.buffered = this.buffered.slice(nl + 1);
        const cb = this.waiting.get(reply["id"] as number);
        if (cb) { this.waiting.delete(reply["id"] as number); cb(reply); }
      }
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new ControlClient(s)));
      s.once("error", reject);
    });
  }

  /** Send a command; resolves with the reply, rejects with its error text when ok is false. */
  request(cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply["ok"] ? resolve(reply) : reject(new Error(String(reply["error"])))));
      this.socket.write(JSON.stringify({ id, cmd, ...args }) + "\n");
    });
  }

  close(): void { this.socket.destroy(); }
}
