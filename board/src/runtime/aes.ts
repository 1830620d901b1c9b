// A small byte-oriented AES (FIPS-197) that keeps the two key schedules mbed TLS keeps.
// Why not node:crypto: Espruino's libs/crypto/jswrap_crypto.c loads the *decryption* key schedule
// (mbedtls_aes_setkey_dec) for every AES.decrypt call, then runs CTR and CFB8 — which only ever use
// the forward cipher — with it. That is why CTR (and, by the same code path, CFB) decrypt give wrong
// output on a board. Reproducing the wrongness needs "forward rounds with the decryption round
// keys", which no standard library offers. Tests check this cipher against node:crypto.

const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);

function xtime(b: number): number {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}
function gmul(a: number, b: number): number {
  let p = 0;
  while (b) {
    if (b & 1) p ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return p;
}
(function buildSbox() {
  // multiplicative inverse via exhaustive search is fine for a one-time 256-entry table
  for (let x = 0; x < 256; x++) {
    let inv = 0;
    if (x) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
    let s = inv;
    let r = inv;
    for (let i = 0; i < 4; i++) {
      r = ((r << 1) | (r >> 7)) & 0xff;
      s ^= r;
    }
    s ^= 0x63;
    SBOX[x] = s;
    INV_SBOX[s] = x;
  }
})();

// A real copy: Buffer#slice (what node:crypto callers pass) shares memory.
function copyBytes(src: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(src.subarray(0, len));
  return out;
}

export type RoundKeys = Uint8Array[]; // Nr+1 round keys of 16 bytes

export function expandEncryptKey(key: Uint8Array): RoundKeys {
  const nk = key.length / 4;
  if (![4, 6, 8].includes(nk)) throw new Error(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  const nr = nk + 6;
  const words: number[][] = [];
  for (let i = 0; i < nk; i++) words.push([key[4 * i]!, key[4 * i + 1]!, key[4 * i + 2]!, key[4 * i + 3]!]);
  let rcon = 1;
  for (let i = nk; i < 4 * (nr + 1); i++) {
    let t = words[i - 1]!.slice();
    if (i % nk === 0) {
      t = [SBOX[t[1]!]! ^ rcon, SBOX[t[2]!]!, SBOX[t[3]!]!, SBOX[t[0]!]!];
      rcon = xtime(rcon);
    } else if (nk > 6 && i % nk === 4) {
      t = t.map((b) => SBOX[b]!);
    }
    words.push(words[i - nk]!.map((b, j) => b ^ t[j]!));
  }
  const keys: RoundKeys = [];
  for (let r = 0; r <= nr; r++) keys.push(Uint8Array.from(words.slice(4 * r, 4 * r + 4).flat()));
  return keys;
}

/** mbed TLS's decryption schedule (equivalent inverse cipher, FIPS-197 §5.3.5). */
export function expandDecryptKey(key: Uint8Array): RoundKeys {
  const ek = expandEncryptKey(key);
  const nr = ek.length - 1;
  const dk: RoundKeys = [copyBytes(ek[nr]!, 16)];
  for (let r = 1; r < nr; r++) {
    const k = copyBytes(ek[nr - r]!, 16);
    invMixColumns(k);
    dk.push(k);
  }
  dk.push(copyBytes(ek[0]!, 16));
  return dk;
}

function addRoundKey(s: Uint8Array, k: Uint8Array): void {
  for (let i = 0; i < 16; i++) s[i] = s[i]! ^ k[i]!;
}
function shiftRows(s: Uint8Array, inverse: boolean): void {
  const t = copyBytes(s, 16);
  for (let c = 0; c < 4; c++) {
    for (let r = 1; r < 4; r++) {
      const from = inverse ? (c - r + 4) % 4 : (c + r) % 4;
      s[4 * c + r] = t[4 * from + r]!;
    }
  }
}
function mixColumns(s: Uint8Array): void {
  for (let c = 0; c < 4; c++) {
    const [a0, a1, a2, a3] = [s[4 * c]!, s[4 * c + 1]!, s[4 * c + 2]!, s[4 * c + 3]!];
    s[4 * c] = gmul(a0, 2) ^ gmul(a1, 3) ^ a2 ^ a3;
    s[4 * c + 1] = a0 ^ gmul(a1, 2) ^ gmul(a2, 3) ^ a3;
    s[4 * c + 2] = a0 ^ a1 ^ gmul(a2, 2) ^ gmul(a3, 3);
    s[4 * c + 3] = gmul(a0, 3) ^ a1 ^ a2 ^ gmul(a3, 2);
  }
}
function invMixColumns(s: Uint8Array): void {
  for (let c = 0; c < 4; c++) {
    const [a0, a1, a2, a3] = [s[4 * c]!, s[4 * c + 1]!, s[4 * c + 2]!, s[4 * c + 3]!];
    s[4 * c] = gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9);
    s[4 * c + 1] = gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13);
    s[4 * c + 2] = gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11);
    s[4 * c + 3] = gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14);
  }
}

/** The forward cipher with whatever round keys it is given (mbedtls_aes_crypt_ecb(ENCRYPT)). */
export function forwardBlock(keys: RoundKeys, input: Uint8Array): Uint8Array {
  const s = copyBytes(input, 16);
  const nr = keys.length - 1;
  addRoundKey(s, keys[0]!);
  for (let r = 1; r <= nr; r++) {
    for (let i = 0; i < 16; i++) s[i] = SBOX[s[i]!]!;
    shiftRows(s, false);
    if (r < nr) mixColumns(s);
    addRoundKey(s, keys[r]!);
  }
  return s;
}

/** The equivalent inverse cipher with a decryption schedule (mbedtls_aes_crypt_ecb(DECRYPT)). */
export function inverseBlock(decKeys: RoundKeys, input: Uint8Array): Uint8Array {
  const s = copyBytes(input, 16);
  const nr = decKeys.length - 1;
  addRoundKey(s, decKeys[0]!);
  for (let r = 1; r <= nr; r++) {
    for (let i = 0; i < 16; i++) s[i] = INV_SBOX[s[i]!]!;
    shiftRows(s, true);
    if (r < nr) invMixColumns(s);
    addRoundKey(s, decKeys[r]!);
  }
  return s;
}

/** mbedtls_aes_crypt_ctr from a zero counter; `keys` is whichever schedule the context holds. */
export function ctrKeystreamXor(keys: RoundKeys, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  const counter = new Uint8Array(16);
  let block: Uint8Array = new Uint8Array(16);
  for (let i = 0; i < data.length; i++) {
    if (i % 16 === 0) {
      block = forwardBlock(keys, counter);
      for (let j = 15; j >= 0; j--) {
        counter[j] = (counter[j]! + 1) & 0xff;
        if (counter[j] !== 0) break;
      }
    }
    out[i] = data[i]! ^ block[i % 16]!;
  }
  return out;
}

/** mbedtls_aes_crypt_cfb8; always runs the forward cipher with the context's schedule. */
export function cfb8(keys: RoundKeys, ivIn: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  let iv = copyBytes(ivIn, 16);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const e = forwardBlock(keys, iv);
    const c = e[0]! ^ data[i]!;
    out[i] = c;
    const feedback = decrypt ? data[i]! : c;
    const next = new Uint8Array(16);
    next.set(iv.subarray(1));
    next[15] = feedback;
    iv = next;
  }
  return out;
}

export function cbc(encKeys: RoundKeys, decKeys: RoundKeys, ivIn: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  let iv = copyBytes(ivIn, 16);
  const out = new Uint8Array(data.length);
  for (let off = 0; off < data.length; off += 16) {
    const block = data.subarray(off, off + 16);
    if (decrypt) {
      const p = inverseBlock(decKeys, block);
      for (let j = 0; j < 16; j++) out[off + j] = p[j]! ^ iv[j]!;
      iv = copyBytes(block, 16);
    } else {
      const x = new Uint8Array(16);
      for (let j = 0; j < 16; j++) x[j] = block[j]! ^ iv[j]!;
      iv = forwardBlock(encKeys, x);
      out.set(iv, off);
    }
  }
  return out;
}
