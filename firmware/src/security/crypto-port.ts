// The crypto the security module needs, injected: platform.ts wraps require("crypto") (native
// SHA-256 and AES on Puck.js/Pico) and E.hwRand; tests pass node:crypto. Byte strings in and out.
export interface CryptoPort {
  sha256(data: string): string;
  // AES-256-ECB on whole 16-byte blocks (Espruino's ECB does not pad, facts §3).
  aesEncryptEcb(key: string, data: string): string;
  aesDecryptEcb(key: string, data: string): string;
  randomBytes(n: number): string;
}
