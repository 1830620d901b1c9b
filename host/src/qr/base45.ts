/**
 * Base45 (RFC 9285): bytes as text from the 45-character QR alphanumeric alphabet, so a payload
 * travels in the QR code's alphanumeric mode (5.5 bits per character) and stays copy-pasteable.
 */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

export class Base45Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Base45Error";
  }
}

export function encodeBase45(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i]! * 256 + bytes[i + 1]!;
    const c = n % 45;
    n = (n - c) / 45;
    const d = n % 45;
    const e = (n - d) / 45;
    out += ALPHABET[c]! + ALPHABET[d]! + ALPHABET[e]!;
  }
  if (bytes.length % 2 === 1) {
    const n = bytes[bytes.length - 1]!;
    out += ALPHABET[n % 45]! + ALPHABET[Math.floor(n / 45)]!;
  }
  return out;
}

export function decodeBase45(text: string): Uint8Array {
  if (text.length % 3 === 1) throw new Base45Error(`base45 text of length ${text.length} is impossible (length mod 3 is 1): it was cut or altered`);
  const digits: number[] = [];
  for (const ch of text) {
    const v = VALUE.get(ch);
    if (v === undefined) throw new Base45Error(`"${ch}" is not a base45 character (allowed: 0-9, A-Z, space and $%*+-./:)`);
    digits.push(v);
  }
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < digits.length; i += 3) {
    if (i + 2 < digits.length) {
      const n = digits[i]! + digits[i + 1]! * 45 + digits[i + 2]! * 2025;
      if (n > 0xffff) throw new Base45Error(`base45 group "${text.slice(i, i + 3)}" encodes ${n}, over 65535`);
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = digits[i]! + digits[i + 1]! * 45;
      if (n > 0xff) throw new Base45Error(`base45 final pair "${text.slice(i, i + 2)}" encodes ${n}, over 255`);
      out[o++] = n;
    }
  }
  return out;
}
