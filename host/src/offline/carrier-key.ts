/**
 * The carrier's offline key as the issuer makes it at personalisation (docs/OFFLINE.md Part A §2,
 * Part B): a one-level HSS key (one LMS tree) generated here with host/src/lms, certified by the
 * platform's credit authority (`OfflineAuthority.issueLicense`), and packed into the firmware's key
 * section (I, SEED, the license's limits, tree nodes T[2…]) so the carrier signs without building
 * the tree itself. The license and the key section carry the same limits: the license's body is the
 * source, so a default expiry the authority chose lands on the carrier too.
 */
import { randomBytes } from "node:crypto";
import { LmsTree, lmotsParams, lmsParams, LMOTS, LMS } from "../lms/index.ts";
import type { IssuedLicense, LicenseLimits } from "../platform/offline-authority.ts";
import { encodeKeySection } from "../../../firmware/src/offline/key-store.ts";

/** The carrier's default: H10 (1,024 offline signatures), W4 (docs/OFFLINE.md trade-off table). */
export const DEFAULT_CARRIER_LMS = LMS.LMS_SHA256_M32_H10.typecode;
export const CARRIER_LMOTS = LMOTS.LMOTS_SHA256_N32_W4.typecode;

/** What personalisation needs from the credit authority (the platform's OfflineAuthority fits). */
export interface OfflineLicensing {
  issueLicense(carrierId: string, publicKey: Uint8Array, limits: LicenseLimits): IssuedLicense;
}

export interface CarrierOfflineKey {
  /** OFFLINE_INSTALL part 1: header and tree (firmware key-store.ts encodeKeySection). */
  keySection: Uint8Array;
  /** OFFLINE_INSTALL part 2: the authority's license for `publicKey`. */
  license: Uint8Array;
  /** HSS public key (L = 1): u32 1 ‖ LMS public key. */
  publicKey: Uint8Array;
  serial: number;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

/** Generates the carrier's key (random I and SEED), has the authority license it, packs the key section. */
export function issueCarrierOfflineKey(authority: OfflineLicensing, carrierId: string, limits: LicenseLimits, lmsType: number = DEFAULT_CARRIER_LMS): CarrierOfflineKey {
  const I = Uint8Array.from(randomBytes(16));
  const seed = Uint8Array.from(randomBytes(32));
  const tree = new LmsTree(lmsParams(lmsType), lmotsParams(CARRIER_LMOTS), I, seed, { cacheFromHeight: 0 });
  const publicKey = Buffer.concat([Uint8Array.of(0, 0, 0, 1), tree.publicKey]);
  const issued = authority.issueLicense(carrierId, publicKey, limits);
  const b = issued.body;
  const keySection = Buffer.from(encodeKeySection({
    lmsType, otsType: CARRIER_LMOTS, id: latin1(I), seed: latin1(seed), nodes: latin1(tree.nodes()),
    perTxLimit: b.perTransactionLimit, cumulativeLimit: b.cumulativeLimit, expiry: b.expiry, currency: b.currency,
  }), "latin1");
  return { keySection, license: issued.license, publicKey, serial: issued.serial };
}
