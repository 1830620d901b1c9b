// The calibration compares like with like: every real-interpreter measurement
// (board/calibration/real-2v29-<board>.json) names the exact firmware bundle it was taken on, and that
// bundle is committed beside it (board/calibration/bundle-<sha256 prefix>.js). The model side runs the
// SAME bundle, never firmware/dist, so a firmware change cannot silently invalidate the calibration:
// it only makes the calibration older (re-measure with `npm run calibrate -- --write`).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { BoardProfile } from "../../board/src/profiles.ts";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { ROOT } from "../context.ts";
import type { ProbeResult } from "./parse.ts";

export const CALIBRATION_DIR = join(ROOT, "board", "calibration");

export interface MeasuredStep {
  name: string; ok: boolean; note?: string; vars?: number; peak?: number; instructions?: number; errorFlags?: string[]; wallMs: number;
}
export interface Measurement {
  provenance: {
    interpreter: { version: string; board: string; binarySha256: string; build: { espruinoCommit: string; flags: string[]; patches: string[] } };
    /** fixture: the bundle's copy in the repository (path from the repo root), the file measured. */
    firmware: { fixture: string; bytes: number; sha256: string; repoCommit: string };
    measuredAt: string; callgrind: boolean; modelProfile: string;
  };
  corpus: { name: string; real: string; model: string }[];
  probes: { source: string; real: ProbeResult[] };
  firmware: { steps: MeasuredStep[]; idleInstructionsPerSecond?: number };
}

export const sha256Hex = (text: string): string => createHash("sha256").update(Buffer.from(text, "latin1")).digest("hex");

/** The fixture path for a bundle: board/calibration/bundle-<first 12 hex digits of its sha256>.js. */
export function fixturePathFor(bundle: string, dir = CALIBRATION_DIR): string {
  return join(dir, `bundle-${sha256Hex(bundle).slice(0, 12)}.js`);
}

/** Writes the bundle as a fixture (unless that exact file is there) and returns its repo-relative path. */
export function writeFixture(bundle: string, dir = CALIBRATION_DIR): string {
  const file = fixturePathFor(bundle, dir);
  if (!existsSync(file) || readFileSync(file, "latin1") !== bundle) writeFileSync(file, bundle, "latin1");
  return relative(ROOT, file);
}

export function loadMeasurement(board: string): Measurement {
  return JSON.parse(readFileSync(join(CALIBRATION_DIR, `real-2v29-${board}.json`), "utf8")) as Measurement;
}

/** The bundle a measurement was taken on, checked against the sha256 and size it records. */
export function measuredBundle(m: Measurement): string {
  const f = m.provenance.firmware;
  const file = join(ROOT, f.fixture);
  if (!existsSync(file)) throw new Error(`calibration fixture ${f.fixture} is missing: the measurement cannot be reproduced on the model`);
  const text = readFileSync(file, "latin1");
  const sha = sha256Hex(text);
  if (sha !== f.sha256 || text.length !== f.bytes) throw new Error(`calibration fixture ${f.fixture}: sha256 ${sha} (${text.length} B), the measurement says ${f.sha256} (${f.bytes} B)`);
  return text;
}

/**
 * A CarrierRig running `bundle` from `.bootcde` (as the real run does), not the firmware of this
 * checkout: the bundle is laid into a fresh flash image first. Provisioned (kc.tk written, as the
 * factory does) unless a flash image is given or provision is false.
 */
export async function bootBundle(bundle: string, opts: { board: BoardProfile; meter?: boolean; flashImage?: Uint8Array; provision?: boolean; chunks?: readonly { storageName: string; code: string }[] }): Promise<CarrierRig> {
  let image = opts.flashImage;
  if (image === undefined) {
    const vb = new VirtualBoard({ board: opts.board, seed: 9 });
    try {
      // a chunked bundle's files first (firmware/build/bundles.ts), as the real run uploads them
      for (const c of opts.chunks ?? []) vb.storage.write(c.storageName, c.code);
      vb.storage.write(".bootcde", bundle);
      image = vb.flash.snapshot();
    } finally {
      vb.dispose();
    }
  }
  const rig = await CarrierRig.boot({ board: opts.board, flashImage: image, bootcde: true, meter: opts.meter === true, provision: false });
  if (opts.flashImage === undefined && opts.provision !== false) await rig.provision();
  return rig;
}
