// The carrier's license (PROTOCOL.md §11.1: the platform's CBOR, signed by the credit authority),
// kept as shown to terminals: one write-once Storage file
//   "kc.olic" = u32be length ‖ license bytes ‖ u32 crc32(everything before)
// written in order by OFFLINE_INSTALL pieces (part 2), the CRC after the last one, so a cut install
// reads as no license. The carrier never parses it: the terminal and the clearing verify it.
import { readU32, readU32be, u32, u32be, filled } from "../store/bytes.ts";
import { canCreate } from "../store/space.ts";
import { storeFull, type StoreEnv } from "../store/ports.ts";
import { raise } from "../raise.ts";

export const LICENSE_FILE = "kc.olic";
export const MAX_LICENSE_BYTES = 16384;

/** The license's length when a whole one is installed, else -1. */
export function licenseLength(env: StoreEnv): number {
  const st = env.storage;
  const h = st.read(LICENSE_FILE, 0, 4);
  if (h === undefined || h.length !== 4) return -1;
  const n = readU32be(h, 0);
  if (!(n > 0 && n <= MAX_LICENSE_BYTES)) return -1;
  const crc = st.read(LICENSE_FILE, 4 + n, 4);
  return crc !== undefined && crc.length === 4 && readU32(crc, 0) === env.crc32(st.read(LICENSE_FILE, 0, 4 + n)!) ? n : -1;
}

/** `n` bytes of the license from `offset` (the caller keeps offset + n within its length: the CRC follows). */
export function licenseChunk(env: StoreEnv, offset: number, n: number): string {
  return env.storage.read(LICENSE_FILE, 4 + offset, n)!;
}

/**
 * One piece of a license of `total` bytes at `offset` (pieces in order, `expected` kept by the
 * caller as for the key, offset 0 starts again). Returns the next expected offset; `total` once
 * the license is sealed.
 */
export function writeLicensePiece(env: StoreEnv, expected: number, offset: number, total: number, piece: string): number {
  const st = env.storage;
  if (!(total > 0 && total <= MAX_LICENSE_BYTES)) raise("license: 1-" + MAX_LICENSE_BYTES + " B");
  if (piece.length === 0 || offset + piece.length > total) raise("license: piece past the license");
  if (offset === 0) {
    if (expected === piece.length && st.read(LICENSE_FILE, 0, 4 + piece.length) === u32be(total) + piece) return expected;
    st.erase(LICENSE_FILE);
    if (!canCreate(env, total + 8)) storeFull("no room for the license (" + total + " B)");
    st.write(LICENSE_FILE, u32be(total) + piece, 0, total + 8);
  } else {
    const h = st.read(LICENSE_FILE, 0, 4);
    if (expected === 0 || h === undefined || readU32be(h, 0) !== total) raise("license: send the piece at offset 0 first");
    if (offset + piece.length === expected && st.read(LICENSE_FILE, 4 + offset, piece.length) === piece) return expected;
    if (offset !== expected) raise("license: expected the piece at " + expected);
    if (st.read(LICENSE_FILE, 4 + offset, piece.length) !== filled("\xff", piece.length)) raise("license: piece overlaps");
    st.write(LICENSE_FILE, piece, 4 + offset);
  }
  const next = offset + piece.length;
  if (next < total) return next;
  st.write(LICENSE_FILE, u32(env.crc32(st.read(LICENSE_FILE, 0, 4 + total)!)), 4 + total);
  return total;
}

export function eraseLicense(env: StoreEnv): void {
  env.storage.erase(LICENSE_FILE);
}
