/**
 * TEMPORARY, TEST-GRADE stand-in for the issuer side of the offline key (issue 16), so that
 * personalisation can install an offline key and license before lmshost's library exists.
 * The lead swaps it for lmshost's `issueOfflineKey` / `issueLicense` (docs/OFFLINE.md §5):
 * - the carrier's LMS tree is generated here from a fresh SEED (RFC 8554 §4.3, §5.3, Appendix A);
 * - the "credit authority" is a key made from a seed the caller gives (no keystore, no revocation,
 *   no leaf bookkeeping across runs: the caller picks the authority leaf) — NOT for real money.
 * Formats are PROTOCOL.md §11.1 and the key section of docs/OFFLINE.md §2.
 */
import { createHash, randomBytes } from "node:crypto";
import { encodeCbor } from "../codec.ts";
import {
  authPathOffsets, hssSign1, lmsParams, otsParams, LMOTS_SHA256_N32_W4, LMS_SHA256_M32_H10, type LmsNatives,
} from "../../../firmware/src/offline/lms.ts";
import { encodeKeySection } from "../../../firmware/src/offline/key-store.ts";

export interface OfflineLimits { currency: string; perTxLimit: number; cumulativeLimit: number; expiry: number }

/** What personalisation needs from the issuer for the offline applet (lmshost provides the real one). */
export interface OfflineIssuing {
  /** The carrier's key section (OFFLINE_INSTALL part 1) and its HSS public key. */
  issueOfflineKey(carrierId: string, limits: OfflineLimits): { keySection: Uint8Array; publicKey: Uint8Array };
  /** The license (OFFLINE_INSTALL part 2) for that public key. */
  issueLicense(carrierId: string, publicKey: Uint8Array, limits: OfflineLimits): Uint8Array;
}

const h = (...parts: Uint8Array[]): Buffer => { const c = createHash("sha256"); for (const p of parts) c.update(p); return c.digest(); };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };

/** An LMS tree (test grade): public key (56 B) and nodes T[2..2^(h+1)−1]. */
export function lmsTree(lmsType: number, otsType: number, I: Uint8Array, seed: Uint8Array): { publicKey: Buffer; nodes: Buffer } {
  const { h: height } = lmsParams(lmsType);
  const { w, p } = otsParams(otsType);
  const T: Buffer[] = new Array(2 ** (height + 1));
  for (let q = 0; q < 2 ** height; q++) {
    const ys: Buffer[] = [];
    for (let i = 0; i < p; i++) {
      let t = h(I, u32(q), u16(i), Buffer.from([0xff]), seed);
      for (let j = 0; j < (1 << w) - 1; j++) t = h(I, u32(q), u16(i), Buffer.from([j]), t);
      ys.push(t);
    }
    const r = 2 ** height + q;
    T[r] = h(I, u32(r), u16(0x8282), h(I, u32(q), u16(0x8080), ...ys));
  }
  for (let r = 2 ** height - 1; r >= 1; r--) T[r] = h(I, u32(r), u16(0x8383), T[2 * r]!, T[2 * r + 1]!);
  return { publicKey: Buffer.concat([u32(lmsType), u32(otsType), I, T[1]!]), nodes: Buffer.concat(T.slice(2) as Buffer[]) };
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
function flatten(parts: unknown[], out: number[]): void {
  for (const v of parts) {
    if (typeof v === "string") for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 255);
    else if (typeof v === "number") out.push(v & 255);
    else if (v instanceof Uint8Array) for (const b of v) out.push(b);
    else if (Array.isArray(v)) flatten(v, out);
  }
}
const natives: LmsNatives = {
  sha: (d) => h(d as Uint8Array),
  flat: (...p) => { const o: number[] = []; flatten(p, o); return Uint8Array.from(o); },
  str: (...p) => { const o: number[] = []; flatten(p, o); return Buffer.from(o).toString("latin1"); },
};

/** The stand-in issuer: carrier keys of `lmsType` (default the chosen H10), licenses signed by a test authority (H5/W4). */
export function standInOfflineIssuer(authoritySeed: Uint8Array, opts: { lmsType?: number; authorityLeaf?: number } = {}): OfflineIssuing & { authorityPublicKey: Uint8Array } {
  const aI = h(Buffer.from("KC stand-in authority I"), authoritySeed).subarray(0, 16);
  const authority = lmsTree(5, LMOTS_SHA256_N32_W4, aI, authoritySeed);
  let leaf = opts.authorityLeaf ?? 0;
  return {
    authorityPublicKey: Buffer.concat([u32(1), authority.publicKey]),
    issueOfflineKey(_carrierId, limits) {
      const lmsType = opts.lmsType ?? LMS_SHA256_M32_H10;
      const I = randomBytes(16), seed = randomBytes(32);
      const tree = lmsTree(lmsType, LMOTS_SHA256_N32_W4, I, seed);
      const section = encodeKeySection({ lmsType, otsType: LMOTS_SHA256_N32_W4, id: latin1(I), seed: latin1(seed), nodes: latin1(tree.nodes), ...limits });
      return { keySection: Buffer.from(section, "latin1"), publicKey: Buffer.concat([u32(1), tree.publicKey]) };
    },
    issueLicense(carrierId, publicKey, limits) {
      const body = encodeCbor(new Map<number, number | string | Uint8Array>([
        [1, 1], [2, Buffer.from(carrierId, "hex")], [3, publicKey], [4, limits.currency], [5, limits.perTxLimit], [6, limits.cumulativeLimit], [7, limits.expiry], [8, leaf + 1],
      ]));
      const q = leaf++;
      const nodes = latin1(authority.nodes);
      const path = authPathOffsets(5, q).map((o) => nodes.substr(o, 32)).join("");
      const sig = Buffer.from(hssSign1(natives, otsParams(LMOTS_SHA256_N32_W4), lmsParams(5), latin1(aI), q, latin1(authoritySeed), latin1(randomBytes(32)), Buffer.concat([Buffer.from("KC-LICENSE-v1"), body]), path), "latin1");
      const head = (n: number) => (n < 256 ? Buffer.from([0x58, n]) : Buffer.from([0x59, n >> 8, n & 255]));
      return Buffer.concat([Buffer.from([0xa2, 0x01]), head(body.length), body, Buffer.from([0x02]), head(sig.length), sig]);
    },
  };
}
