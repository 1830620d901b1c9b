// A seeded fault injector for a byte link (USB / Serial1) between the host and the device:
// splits writes into chunks at random points, and drops, duplicates or garbles chunks.
// Each decision is logged so a failing test can say exactly what the link did.
import { stream, unit, type Rng } from "./rng.ts";

export interface LinkFaultOptions {
  seed?: number;
  /** probability of a chunk boundary after each byte (arbitrary chunking) */
  split?: number;
  /** probability a chunk is lost */
  drop?: number;
  /** probability a chunk is delivered twice */
  duplicate?: number;
  /** probability one byte of a chunk is replaced by a random different byte */
  garble?: number;
}

export interface LinkFaultEvent { kind: "split" | "drop" | "duplicate" | "garble"; offset: number; length: number }

export class LinkFaults {
  readonly log: LinkFaultEvent[] = [];
  private readonly rng: Rng;
  constructor(readonly opts: LinkFaultOptions) {
    for (const k of ["split", "drop", "duplicate", "garble"] as const) {
      const p = opts[k];
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new Error(`LinkFaults: ${k} must be a probability in [0, 1], got ${p}`);
    }
    this.rng = stream(opts.seed ?? 1, "link-faults");
  }

  /** Chunks the device receives for one host write. */
  apply(bytes: Uint8Array): Uint8Array[] {
    const chunks: { data: Uint8Array; offset: number }[] = [];
    let start = 0;
    for (let i = 1; i <= bytes.length; i++) {
      if (i === bytes.length || unit(this.rng) < (this.opts.split ?? 0)) {
        if (i < bytes.length) this.log.push({ kind: "split", offset: i, length: 0 });
        chunks.push({ data: bytes.slice(start, i), offset: start });
        start = i;
      }
    }
    const out: Uint8Array[] = [];
    for (const c of chunks) {
      if (unit(this.rng) < (this.opts.drop ?? 0)) {
        this.log.push({ kind: "drop", offset: c.offset, length: c.data.length });
        continue;
      }
      let data = c.data;
      if (data.length && unit(this.rng) < (this.opts.garble ?? 0)) {
        data = data.slice();
        const at = this.rng() % data.length;
        data[at] = (data[at]! + 1 + (this.rng() % 255)) & 0xff; // always a different value
        this.log.push({ kind: "garble", offset: c.offset + at, length: 1 });
      }
      out.push(data);
      if (unit(this.rng) < (this.opts.duplicate ?? 0)) {
        this.log.push({ kind: "duplicate", offset: c.offset, length: data.length });
        out.push(data.slice());
      }
    }
    return out;
  }
}

/** Splits `bytes` at the given chunk sizes (the last chunk takes the rest). */
export function chunkBySizes(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (const n of sizes) {
    if (off >= bytes.length) break;
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`chunk sizes must be positive integers, got ${n}`);
    out.push(bytes.slice(off, off + n));
    off += n;
  }
  if (off < bytes.length) out.push(bytes.slice(off));
  return out;
}
