// A test offline key (issuer side, reference keygen) and what the tests install from it.
import { refKeygen, latin1, nodeLmsNatives, type RefTree } from "./lms-reference.ts";
import type { OfflineKeyInstall } from "../../src/offline/key-store.ts";
import { authPathOffsets, hssSign1, lmsParams, otsParams, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4 } from "../../src/offline/lms.ts";
import { encodeCbor } from "../../../host/src/codec.ts";

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

// ───── the credit authority (test stand-in for lmshost's platform key) and a license per PROTOCOL.md §11.1

export const AUTHORITY_I = Buffer.from("41555448-4f524954-59212121-21212121".replace(/-/g, ""), "hex");
export const AUTHORITY_SEED = Buffer.alloc(32, 0xa7);

export function authorityTree(): RefTree {
  const k = "authority";
  if (!cache.has(k)) cache.set(k, refKeygen(LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4, AUTHORITY_I, AUTHORITY_SEED));
  return cache.get(k)!;
}
export function authorityHssPublicKey(): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0, 1]), authorityTree().pub]);
}

export interface LicenseFields { carrierId: Uint8Array; carrierPublicKey: Uint8Array; currency: string; perTxLimit: number; cumulativeLimit: number; expiry: number; serial: number }

/** licenseBody (canonical CBOR) and license = {1: body, 2: authority HSS signature over "KC-LICENSE-v1" ‖ body}. */
export function makeLicense(f: LicenseFields, leaf = 0): { body: Uint8Array; license: Uint8Array } {
  const body = encodeCbor(new Map<number, number | string | Uint8Array>([
    [1, 1], [2, f.carrierId], [3, f.carrierPublicKey], [4, f.currency], [5, f.perTxLimit], [6, f.cumulativeLimit], [7, f.expiry], [8, f.serial],
  ]));
  const tree = authorityTree();
  const nodes = latin1(tree.nodes);
  const path = authPathOffsets(5, leaf).map((o) => nodes.substr(o, 32)).join("");
  const msg = Buffer.concat([Buffer.from("KC-LICENSE-v1"), body]);
  const sig = hssSign1(nodeLmsNatives, otsParams(LMOTS_SHA256_N32_W4), lmsParams(LMS_SHA256_M32_H5), latin1(AUTHORITY_I), leaf, latin1(AUTHORITY_SEED), latin1(Buffer.alloc(32, 0x11 + leaf)), msg, path);
  // {1: body, 2: signature}: spelled out, as the license is over the 512-byte limit of a frame body
  const s = Buffer.from(sig, "latin1");
  return { body, license: Buffer.concat([Buffer.from([0xa2, 0x01]), bstrHead(body.length), body, Buffer.from([0x02]), bstrHead(s.length), s]) };
}

/** The canonical CBOR head of a byte string of n bytes (major type 2). */
export function bstrHead(n: number): Buffer {
  if (n < 24) return Buffer.from([0x40 | n]);
  if (n < 256) return Buffer.from([0x58, n]);
  if (n < 65536) return Buffer.from([0x59, n >> 8, n & 255]);
  const b = Buffer.alloc(5); b[0] = 0x5a; b.writeUInt32BE(n, 1); return b;
}
