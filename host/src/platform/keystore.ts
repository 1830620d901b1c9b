/**
 * Secrets at rest in the ledger (issuer master keys, merchant QR keys). With a platform key
 * (32 bytes, from KEYCARRIER_PLATFORM_KEY as 64 hex digits) each secret is sealed with
 * AES-256-GCM, a random 96-bit nonce, and the row's identity as associated data, so a sealed key
 * moved to another row does not open. Without one the platform runs in DEV mode: secrets are
 * stored in plaintext, the ledger says so in key_protection, and the server prints a warning.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { randomBytes } from "node:crypto";

export const PLATFORM_KEY_ENV = "KEYCARRIER_PLATFORM_KEY";
export type KeyProtection = "aes-256-gcm" | "dev-plaintext";
const NONCE = 12;

export class KeystoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeystoreError";
  }
}

export class SecretSealer {
  readonly protection: KeyProtection;
  constructor(private readonly platformKey?: Uint8Array) {
    if (platformKey !== undefined && platformKey.length !== 32) throw new KeystoreError(`the platform key must be 32 bytes, got ${platformKey.length}`);
    this.protection = platformKey ? "aes-256-gcm" : "dev-plaintext";
  }

  seal(secret: Uint8Array, label: string): Uint8Array {
    if (!this.platformKey) return secret.slice();
    const nonce = randomBytes(NONCE);
    const sealed = gcm(this.platformKey, nonce, new TextEncoder().encode(label)).encrypt(secret);
    const out = new Uint8Array(NONCE + sealed.length);
    out.set(nonce);
    out.set(sealed, NONCE);
    return out;
  }

  open(stored: Uint8Array, protection: string, label: string): Uint8Array {
    if (protection === "dev-plaintext") return stored;
    if (protection !== "aes-256-gcm") throw new KeystoreError(`unknown key protection "${protection}" for ${label}`);
    if (!this.platformKey) throw new KeystoreError(`${label} is sealed with the platform key — set ${PLATFORM_KEY_ENV} (64 hex digits) to the key the ledger was created with`);
    try {
      return gcm(this.platformKey, stored.subarray(0, NONCE), new TextEncoder().encode(label)).decrypt(stored.subarray(NONCE));
    } catch {
      throw new KeystoreError(`${label} does not open with this platform key — ${PLATFORM_KEY_ENV} differs from the one the ledger was created with`);
    }
  }
}

/** Reads the platform key from the environment; undefined means DEV mode. */
export function platformKeyFromEnv(env: NodeJS.ProcessEnv): Uint8Array | undefined {
  const text = env[PLATFORM_KEY_ENV];
  if (text === undefined || text === "") return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new KeystoreError(`${PLATFORM_KEY_ENV} must be 64 hex digits (32 bytes), e.g. from \`openssl rand -hex 32\``);
  return Uint8Array.from(Buffer.from(text, "hex"));
}
