/** Byte helpers for the LMS/HSS modules: RFC 8554 §3.1.3 big-endian integer strings, and exact-length reads. */

/** Why an LMS/HSS input was refused: a malformed key or signature, a wrong parameter, an exhausted key. */
export class LmsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LmsError";
  }
}

export function u32str(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new LmsError(`u32str: ${n} is not a 32-bit unsigned integer`);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

export function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Constant-time over equal lengths (the verifier compares a computed root with a public one). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function assertBytes(what: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new LmsError(`${what} must be a Uint8Array, got ${value === null ? "null" : typeof value}`);
  if (length !== undefined && value.length !== length) throw new LmsError(`${what} must be ${length} bytes, got ${value.length}`);
}
