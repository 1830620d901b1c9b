// require("crypto") with Espruino 2v29's behaviour (facts §3, checked against
// libs/crypto/jswrap_crypto.c): results are ArrayBuffers, failures print "ERROR: ..." and return
// undefined, only an unknown mode or hasher throws. Which functions exist follows the profile.
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync } from "node:crypto";
import type { BoardProfile } from "../profiles.ts";
import { cbc, cfb8, ctrKeystreamXor, expandDecryptKey, expandEncryptKey, forwardBlock, inverseBlock } from "./aes.ts";
import { ByteConversionError, toBytes } from "./bytes.ts";
import type { Realm } from "./realm.ts";

export interface CryptoHooks {
  /** Prints one console line, as Espruino's jsError does ("ERROR: " is added here). */
  printLine(line: string): void;
  /** Cost meter hook; kinds follow board/src/cost NATIVE_KINDS ("SHA256", "AES.encrypt", "PBKDF2"). */
  native(kind: string, bytes: number, units?: number): void;
}

export function hasCryptoModule(profile: BoardProfile): boolean {
  return Object.values(profile.crypto).some(Boolean);
}

const HASHERS: Record<string, string> = { SHA1: "sha1", SHA224: "sha224", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512" };

export function createCryptoModule(profile: BoardProfile, realm: Realm, hooks: CryptoHooks): Record<string, unknown> {
  const c = profile.crypto;
  const mod = realm.object();
  const fail = (msg: string): undefined => {
    hooks.printLine(`ERROR: ${msg}`);
    return undefined;
  };
  const bytesOf = (v: unknown, what: string): Uint8Array => {
    try {
      if (v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
        Object.prototype.toString.call(v) !== "[object ArrayBuffer]") throw new ByteConversionError("object");
      return toBytes(v);
    } catch (e) {
      if (e instanceof ByteConversionError) throw realm.newError("Error", `${what} must be a String, Array, ArrayBuffer or number, got ${typeof v}`);
      throw e;
    }
  };
  const sha = (name: string, algo: string) => (msg: unknown) => {
    const data = bytesOf(msg, "message");
    hooks.native(name, data.length, typeof msg === "string" ? 1 : 0); // units: 1 = not a flat buffer (cost-model.md)
    return realm.arrayBuffer(createHash(algo).update(data).digest());
  };
  if (c.sha1) mod["SHA1"] = sha("SHA1", "sha1");
  if (c.sha256) { mod["SHA224"] = sha("SHA224", "sha224"); mod["SHA256"] = sha("SHA256", "sha256"); }
  if (c.sha512) { mod["SHA384"] = sha("SHA384", "sha384"); mod["SHA512"] = sha("SHA512", "sha512"); }

  if (c.pbkdf2) {
    mod["PBKDF2"] = (pass: unknown, salt: unknown, options: unknown) => {
      let keySize = 4, iterations = 1, hasher = "SHA1";
      if (options !== null && typeof options === "object") {
        const o = options as Record<string, unknown>;
        keySize = Math.trunc(Number(o["keySize"]) || 0); if (keySize <= 0) keySize = 4;
        iterations = Math.trunc(Number(o["iterations"]) || 0); if (iterations < 1) iterations = 1;
        if (o["hasher"] !== undefined) {
          hasher = String(o["hasher"]);
          if (!HASHERS[hasher]) throw realm.newError("Error", `Unknown Hasher ${JSON.stringify(hasher)}`);
        }
      } else if (options !== undefined) {
        hooks.printLine(`ERROR: Options should be an object or undefined, got ${typeof options}`);
      }
      const p = bytesOf(pass, "passphrase"), s = bytesOf(salt, "salt");
      hooks.native("PBKDF2", p.length, iterations);
      return realm.arrayBuffer(pbkdf2Sync(p, s, iterations, keySize * 4, HASHERS[hasher]!));
    };
  }

  if (c.aes) {
    const aes = realm.object();
    const crypt = (encrypt: boolean) => (message: unknown, key: unknown, options: unknown) => {
      const iv = new Uint8Array(16);
      let mode = "CBC";
      if (options !== null && typeof options === "object") {
        const o = options as Record<string, unknown>;
        if (o["iv"] !== undefined) iv.set(bytesOf(o["iv"], "iv").subarray(0, 16)); // short iv: zero-padded
        if (o["mode"] !== undefined) {
          mode = String(o["mode"]);
          if (!["CBC", "CFB", "CTR", "OFB", "ECB"].includes(mode)) throw realm.newError("Error", `Unknown Crypto mode ${JSON.stringify(mode)}`);
        }
      } else if (options !== undefined) {
        return fail("'options' must be undefined, or an Object");
      }
      const msg = bytesOf(message, "message");
      const k = bytesOf(key, "key");
      if (![16, 24, 32].includes(k.length)) return fail("Unknown error: -0x20"); // MBEDTLS_ERR_AES_INVALID_KEY_LENGTH
      hooks.native(encrypt ? "AES.encrypt" : "AES.decrypt", msg.length);
      // The context holds the encryption schedule for encrypt and the decryption one for decrypt.
      const schedule = encrypt ? expandEncryptKey(k) : expandDecryptKey(k);
      let out: Uint8Array;
      switch (mode) {
        case "CBC":
          if (msg.length % 16 !== 0) return fail("Invalid input length");
          out = cbc(schedule, schedule, iv, msg, !encrypt);
          break;
        case "CFB":
          // CFB8 uses the forward cipher with the context's schedule: decrypt is wrong on a board too.
          out = cfb8(schedule, iv, msg, !encrypt);
          break;
        case "CTR":
          // iv ignored, counter from 0; decrypt runs forward rounds with decryption keys (wrong output).
          out = ctrKeystreamXor(schedule, msg);
          break;
        case "ECB": {
          out = new Uint8Array(msg.length); // a trailing partial block is left as zeros
          for (let i = 0; i + 15 < msg.length; i += 16) {
            const block = msg.subarray(i, i + 16);
            out.set(encrypt ? forwardBlock(schedule, block) : inverseBlock(schedule, block), i);
          }
          break;
        }
        default:
          return fail("Feature unavailable"); // OFB
      }
      return realm.arrayBuffer(out);
    };
    aes["encrypt"] = crypt(true);
    aes["decrypt"] = crypt(false);
    if (c.aesCcm) {
      aes["ccmEncrypt"] = (message: unknown, key: unknown, nonce: unknown, tagLen: unknown) => {
        if (typeof nonce === "string") return fail("nonce must be an Array or ArrayBuffer");
        const n = bytesOf(nonce, "nonce"), k = bytesOf(key, "key"), m = bytesOf(message, "message");
        const t = Number(tagLen);
        if (n.length < 7 || n.length > 13) return fail("nonce must be 7..13 bytes in the virtual board (node:crypto limit)");
        if (!(t >= 4 && t <= 16 && t % 2 === 0)) return fail("tag length must be 4, 6, ... 16");
        hooks.native("AES.ccmEncrypt", m.length);
        const cipher = createCipheriv(`aes-${k.length * 8}-ccm` as "aes-128-ccm", k, n, { authTagLength: t });
        cipher.setAAD(new Uint8Array(0), { plaintextLength: m.length });
        const data = Buffer.concat([cipher.update(m), cipher.final()]);
        const res = realm.object();
        res["data"] = realm.arrayBuffer(data);
        res["tag"] = realm.arrayBuffer(cipher.getAuthTag());
        return res;
      };
      aes["ccmDecrypt"] = (message: unknown, key: unknown, nonce: unknown, tag: unknown) => {
        if (typeof nonce === "string") return fail("nonce must be an Array or ArrayBuffer");
        const n = bytesOf(nonce, "nonce"), k = bytesOf(key, "key"), m = bytesOf(message, "message"), tg = bytesOf(tag, "tag");
        hooks.native("AES.ccmDecrypt", m.length);
        try {
          const d = createDecipheriv(`aes-${k.length * 8}-ccm` as "aes-128-ccm", k, n, { authTagLength: tg.length });
          d.setAuthTag(tg);
          d.setAAD(new Uint8Array(0), { plaintextLength: m.length });
          const out = Buffer.concat([d.update(m), d.final()]);
          return realm.arrayBuffer(out);
        } catch {
          return fail("Authenticated decryption failed");
        }
      };
    }
    mod["AES"] = aes;
  }
  return mod;
}
