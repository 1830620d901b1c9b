// A test offline key (issuer side, reference keygen) and what the tests install from it.
import { refKeygen, latin1, type RefTree } from "./lms-reference.ts";
import type { OfflineKeyInstall } from "../../src/offline/key-store.ts";
import { LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4 } from "../../src/offline/lms.ts";

export const TEST_I = Buffer.from("4b432d746573742d6b65792d49212121", "hex");
export const TEST_SEED = Buffer.alloc(32, 0x5e);
const cache = new Map<string, RefTree>();

export function testTree(lmsType = LMS_SHA256_M32_H5, otsType = LMOTS_SHA256_N32_W4): RefTree {
  const k = `${lmsType}/${otsType}`;
  if (!cache.has(k)) cache.set(k, refKeygen(lmsType, otsType, TEST_I, TEST_SEED));
  return cache.get(k)!;
}

/** HSS (L = 1) public key of the test tree: u32 1 ‖ LMS public key. */
export function testHssPublicKey(lmsType = LMS_SHA256_M32_H5, otsType = LMOTS_SHA256_N32_W4): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0, 1]), testTree(lmsType, otsType).pub]);
}

export function testInstall(over: Partial<OfflineKeyInstall> = {}): OfflineKeyInstall {
  const lmsType = over.lmsType ?? LMS_SHA256_M32_H5, otsType = over.otsType ?? LMOTS_SHA256_N32_W4;
  return {
    lmsType, otsType, id: latin1(TEST_I), seed: latin1(TEST_SEED),
    perTxLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, currency: "EUR",
    nodes: latin1(testTree(lmsType, otsType).nodes), ...over,
  };
}
