// CryptoPrimitives over node:crypto, with the board's semantics (facts §3): byte strings in and out,
// AES-CTR with the counter block starting at 0, ECB without padding.
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { useNativeBytes, type CryptoPrimitives } from "../../src/crypto/primitives.ts";

export const fromBin = (s: string): Buffer => Buffer.from(s, "latin1");
export const toBin = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
export const hexToBin = (h: string): string => Buffer.from(h, "hex").toString("latin1");
export const binToHex = (s: string): string => Buffer.from(s, "latin1").toString("hex");

// What E.toUint8Array / E.toString do on the board, for the HMAC pads (crypto/primitives.ts).
useNativeBytes((s) => new Uint8Array(fromBin(s)), (b) => toBin(b));

function aes(mode: "ecb" | "ctr", key: string, data: string): string {
  const c = createCipheriv(`aes-128-${mode}`, fromBin(key), mode === "ecb" ? null : Buffer.alloc(16));
  c.setAutoPadding(false);
  return toBin(Buffer.concat([c.update(fromBin(data)), c.final()]));
}

export function nodePrimitives(random: (n: number) => string = (n) => toBin(randomBytes(n))): CryptoPrimitives & { calls: Record<string, number> } {
  const calls: Record<string, number> = { sha256: 0, aesEcb: 0, aesCtr0: 0, random: 0 };
  return {
    calls,
    sha256: (b) => { calls["sha256"]!++; return toBin(createHash("sha256").update(fromBin(b)).digest()); },
    aesEcb: (k, d) => { calls["aesEcb"]!++; if (d.length % 16) throw new Error("aesEcb: whole blocks only"); return aes("ecb", k, d); },
    aesCtr0: (k, d) => { calls["aesCtr0"]!++; return aes("ctr", k, d); },
    random: (n) => { calls["random"]!++; return random(n); },
  };
}
