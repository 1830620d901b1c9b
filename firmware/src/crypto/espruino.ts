// CryptoPrimitives backed by Espruino's native crypto module (facts §3). The module object and E
// are parameters, so this file touches no Espruino global itself; platform.ts wires them:
//   createEspruinoPrimitives(require("crypto"), E)
import type { CryptoPrimitives } from "./primitives.ts";
import { raise } from "../raise.ts";

export interface EspruinoCryptoModule {
  SHA256?: (message: string) => ArrayBuffer | undefined;
  AES?: { encrypt(message: string, key: string, options: { mode: string }): ArrayBuffer | undefined };
}

export interface EspruinoE {
  toString(data: ArrayBuffer): string;
  hwRand(): number;
}

// Crypto failures print "ERROR: ..." and return undefined instead of throwing (facts §3). Each
// primitive is one statement, `toString(result || failed(...))`: a sealed message makes 7 of these
// calls and a decided PAY a dozen more, and a statement costs ~0.2 ms on the board. A result is
// an ArrayBuffer, which Espruino's jsvGetBool (like JS) always counts as true, even when empty.
export function failed(what: string): never {
  return raise(what + " failed natively");
}

export function createEspruinoPrimitives(crypto: EspruinoCryptoModule, e: EspruinoE): CryptoPrimitives {
  const sha = crypto.SHA256;
  const aes = crypto.AES;
  if (typeof sha !== "function" || aes === undefined || aes === null) {
    raise("crypto: no native SHA256/AES");
  }
  const ecb = { mode: "ECB" };
  const ctr = { mode: "CTR" };
  return {
    sha256: function (bytes: string): string {
      return e.toString(sha(bytes) || failed("SHA256"));
    },
    aesEcb: function (key: string, data: string): string {
      return e.toString(aes.encrypt(data, key, ecb) || failed("AES-ECB"));
    },
    // The board's CTR ignores the IV and starts the counter at 0; decrypting is encrypting again.
    aesCtr0: function (key: string, data: string): string {
      return e.toString(aes.encrypt(data, key, ctr) || failed("AES-CTR"));
    },
    // E.hwRand() is the nRF52 hardware RNG (facts §4); Math.random() is C rand() and never used.
    // 16 bytes per step in one native conversion (a nonce, a blinding key: one step), where a
    // packer call per 4 bytes cost ~1 ms each on the board. Byte order is irrelevant for randomness.
    random: function (n: number): string {
      let s = "";
      while (s.length < n) s += e.toString(new Uint32Array([e.hwRand(), e.hwRand(), e.hwRand(), e.hwRand()]).buffer);
      return s.substr(0, n);
    },
  };
}
