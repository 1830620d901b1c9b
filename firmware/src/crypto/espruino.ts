// CryptoPrimitives backed by Espruino's native crypto module (facts §3). The module object and E
// are parameters, so this file touches no Espruino global itself; platform.ts wires them:
//   createEspruinoPrimitives(require("crypto"), E)
import type { CryptoPrimitives } from "./primitives.ts";
import { u32be } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export interface EspruinoCryptoModule {
  SHA256?: (message: string) => ArrayBuffer | undefined;
  AES?: { encrypt(message: string, key: string, options: { mode: string }): ArrayBuffer | undefined };
}

export interface EspruinoE {
  toString(data: ArrayBuffer): string;
  hwRand(): number;
}

// Crypto failures print "ERROR: ..." and return undefined instead of throwing (facts §3). The check
// is inlined in each primitive: a JS function call costs ~0.3 ms on the board.
const NATIVE_FAILED = " failed natively";

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
      const r = sha(bytes);
      if (r === undefined) raise("SHA256" + NATIVE_FAILED);
      return e.toString(r);
    },
    aesEcb: function (key: string, data: string): string {
      const r = aes.encrypt(data, key, ecb);
      if (r === undefined) raise("AES-ECB" + NATIVE_FAILED);
      return e.toString(r);
    },
    // The board's CTR ignores the IV and starts the counter at 0; decrypting is encrypting again.
    aesCtr0: function (key: string, data: string): string {
      const r = aes.encrypt(data, key, ctr);
      if (r === undefined) raise("AES-CTR" + NATIVE_FAILED);
      return e.toString(r);
    },
    // E.hwRand() is the nRF52 hardware RNG (facts §4); Math.random() is C rand() and never used.
    random: function (n: number): string {
      let s = "";
      while (s.length < n) {
        const r = e.hwRand();
        s += u32be(r);
      }
      return s.substr(0, n);
    },
  };
}
