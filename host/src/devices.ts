import { accessSync, constants, readdirSync } from "node:fs";
import { SerialPort } from "serialport";
import { listEmulators, registryDir } from "./registry.ts";
import { listPcscReaders, PcscTagReader } from "./transport/pcsc.ts";

/** One place a KeyCarrier might be reached, as `keycarrier devices` reports it. */
export interface DeviceCandidate {
  /** What to pass to `--port`. */
  port: string;
  source: "serial" | "emulator" | "pcsc";
  /** e.g. "Espruino (USB 0483:5740)" or "virtual puckjs, pid 1234". */
  description: string;
  /** false when this user cannot open the port; `hint` then says how to fix it. */
  accessible: boolean;
  hint?: string;
}

export interface DeviceListing {
  devices: DeviceCandidate[];
  /** Why some sources could not be searched (e.g. SerialPort.list() without udevadm). */
  notes: string[];
}

const SERIAL_NAME = /^tty(ACM|USB)\d+$/;

export const PERMISSION_HINT =
  "permission denied — add yourself to the dialout group (`sudo usermod -aG dialout $USER`, then log in again) " +
  'or install a udev rule giving the board\'s USB id MODE="0660", GROUP="dialout"';

function accessHint(path: string): { accessible: boolean; hint?: string } {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return { accessible: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { accessible: false, hint: code === "EACCES" ? PERMISSION_HINT : `cannot open: ${code ?? String(e)}` };
  }
}

/**
 * Serial candidates are /dev/ttyACM* and /dev/ttyUSB* plus whatever `SerialPort.list()` reports
 * (it fails on systems without udevadm and never reports PTYs, so neither source is enough alone);
 * virtual boards come from the emulator registry.
 */
export async function listDevices(opts: { devDir?: string; registry?: string; pcsc?: boolean } = {}): Promise<DeviceListing> {
  const devDir = opts.devDir ?? "/dev";
  const notes: string[] = [];
  const byPath = new Map<string, DeviceCandidate>();

  let names: string[] = [];
  try {
    names = readdirSync(devDir);
  } catch (e) {
    notes.push(`cannot read ${devDir}: ${(e as Error).message}`);
  }
  for (const name of names.filter((n) => SERIAL_NAME.test(n)).sort()) {
    const path = `${devDir}/${name}`;
    byPath.set(path, { port: path, source: "serial", description: name.startsWith("ttyACM") ? "USB CDC-ACM serial" : "USB serial adapter", ...accessHint(path) });
  }

  try {
    for (const info of await SerialPort.list()) {
      const ids = info.vendorId && info.productId ? ` (USB ${info.vendorId}:${info.productId})` : "";
      const description = `${info.manufacturer ?? "serial port"}${ids}`;
      const known = byPath.get(info.path);
      if (known) known.description = description;
      else byPath.set(info.path, { port: info.path, source: "serial", description, ...accessHint(info.path) });
    }
  } catch (e) {
    notes.push(`SerialPort.list() unavailable (${(e as Error).message.split("\n")[0]}); listed ${devDir}/ttyACM* and ttyUSB* instead`);
  }

  const devices = [...byPath.values()];
  for (const emu of listEmulators(opts.registry ?? registryDir())) {
    const where = `virtual ${emu.board}, pid ${emu.pid}`;
    if (emu.tcp) devices.push({ port: emu.tcp, source: "emulator", description: where, accessible: true });
    if (emu.pty) devices.push({ port: emu.pty, source: "emulator", description: `${where} (pty)`, ...accessHint(emu.pty) });
  }
  if (opts.pcsc) devices.push(...await pcscCandidates(notes));
  return { devices, notes };
}

/** PC/SC readers pcscd reports, and on each whether the card on it answers as a KeyCarrier (page 4 "KC"). */
async function pcscCandidates(notes: string[]): Promise<DeviceCandidate[]> {
  let readers: { name: string; card: boolean }[];
  try {
    readers = await listPcscReaders();
  } catch (e) {
    notes.push(`PC/SC not searched: ${(e as Error).message.split("\n")[0]}`);
    return [];
  }
  const out: DeviceCandidate[] = [];
  for (const r of readers) {
    let what = "no card";
    if (r.card) {
      const tag = new PcscTagReader(r.name, { waitMs: 1_000 });
      try {
        await tag.open();
        const page4 = await tag.read(4);
        what = page4[0] === 0x4b && page4[1] === 0x43 && page4[2] === 0x01 ? "KeyCarrier on the reader" : "a card that is not a KeyCarrier";
      } catch (e) {
        what = `a card (unreadable: ${(e as Error).message})`;
      } finally {
        await tag.close().catch(() => undefined);
      }
    }
    out.push({ port: `pcsc:"${r.name}"`, source: "pcsc", description: `PC/SC reader, ${what}`, accessible: true });
  }
  return out;
}
