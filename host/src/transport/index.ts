import type { Transport, TransportOptions } from "./types.ts";
import { SerialTransport, DEFAULT_BAUD_RATE } from "./serial.ts";
import { TcpTransport } from "./tcp.ts";
import { ExecTransport } from "./exec.ts";
import { TransportError } from "../errors.ts";
import { NfcMailboxTransport } from "./nfc-mailbox.ts";
import { PcscTagReader } from "./pcsc.ts";

export type { Transport, TransportOptions } from "./types.ts";
export { SerialTransport, TcpTransport, ExecTransport, DEFAULT_BAUD_RATE };

/** What a port spec names, before anything is opened. */
export type PortSpec =
  | { kind: "serial"; path: string; baudRate: number }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "exec"; command: string }
  | { kind: "pcsc"; reader?: string };

/**
 * Parses a port spec:
 * - `tcp://host:port` (IPv6 as `tcp://[::1]:4000`)
 * - `exec:<shell command>`
 * - `pcsc:` (the first PC/SC reader) or `pcsc:"READER NAME"` / `pcsc:READER NAME`: a KeyCarrier tapped
 *   on a contactless reader, through pcscd (PROTOCOL.md §10)
 * - `serial:<path>` or any other string as a serial path; `@<baud>` suffix sets the speed
 *   (`/dev/ttyACM0@9600`); `opts.baudRate` is the default.
 */
export function parsePortSpec(spec: string, opts: TransportOptions = {}): PortSpec {
  const text = spec.trim();
  if (!text) throw new TransportError("no port given: pass --port <path | tcp://host:port | exec:command | pcsc:[\"READER\"]> (see `keycarrier devices`)");
  if (/^tcp:/i.test(text)) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/i.exec(text);
    if (!m) throw new TransportError(`bad TCP port spec "${spec}": use tcp://host:port, e.g. tcp://127.0.0.1:4000`);
    return { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  }
  if (/^pcsc:/i.test(text)) {
    const name = text.slice(5).trim().replace(/^"(.*)"$/, "$1");
    return name ? { kind: "pcsc", reader: name } : { kind: "pcsc" };
  }
  if (/^exec:/i.test(text)) {
    const command = text.slice(5).trim();
    if (!command) throw new TransportError(`bad exec port spec "${spec}": use exec:<command>, e.g. exec:"keycarrier emulate --stdio"`);
    return { kind: "exec", command };
  }
  let path = /^serial:/i.test(text) ? text.slice(7) : text;
  let baudRate = opts.baudRate ?? DEFAULT_BAUD_RATE;
  const baud = /@(\d+)$/.exec(path);
  if (baud) {
    baudRate = Number(baud[1]);
    path = path.slice(0, baud.index);
  }
  if (!path) throw new TransportError(`bad serial port spec "${spec}": give a device path such as /dev/ttyACM0`);
  return { kind: "serial", path, baudRate };
}

/** Builds the (unopened) transport a port spec names. */
export function parsePort(spec: string, opts: TransportOptions = {}): Transport {
  const parsed = parsePortSpec(spec, opts);
  switch (parsed.kind) {
    case "tcp":
      return new TcpTransport(parsed.host, parsed.port);
    case "exec":
      return new ExecTransport(parsed.command, opts.stderr);
    case "serial":
      return new SerialTransport(parsed.path, parsed.baudRate);
    case "pcsc":
      return new NfcMailboxTransport(new PcscTagReader(parsed.reader), opts.stderr ? { trace: (l) => opts.stderr!(`nfc: ${l}\n`) } : {});
  }
}
