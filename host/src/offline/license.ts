/**
 * The offline license (PROTOCOL.md §11, docs/OFFLINE.md): the credit authority's HSS signature
 * over a carrier's HSS public key, its offline limits and an expiry.
 *
 *   licenseBody = canonical CBOR {1: format 1, 2: carrier id (8 B), 3: carrier HSS public key,
 *                 4: currency, 5: per-transaction limit, 6: cumulative limit, 7: expiry YYYYMMDD, 8: serial}
 *   license     = canonical CBOR {1: licenseBody (bstr), 2: HSS signature over "KC-LICENSE-v1" || licenseBody}
 */
import { decodeCbor, encodeCbor, CborError } from "../codec.ts";
import { HSS_PUBLIC_KEY_BYTES, LmsError, assertHssSignature, parseHssPublicKey, concat } from "./lms.ts";
import { OfflineError } from "./errors.ts";
import { CARRIER_ID_BYTES, bad, requireAmount, requireBytes, requireCurrency, requireDate, requireMap, requireUint } from "./fields.ts";

export const LICENSE_FORMAT = 1;
export const LICENSE_DOMAIN = new TextEncoder().encode("KC-LICENSE-v1");
/** A license with a 8-level HSS authority signature stays far below this. */
export const MAX_LICENSE_BYTES = 64 * 1024;

export interface LicenseBody {
  carrierId: Uint8Array;
  /** The carrier's HSS public key (RFC 8554, 60 bytes). */
  publicKey: Uint8Array;
  currency: string;
  /** Minor units. */
  perTransactionLimit: number;
  /** Minor units, since the carrier's last online contact. */
  cumulativeLimit: number;
  /** Last valid day, YYYYMMDD. */
  expiry: number;
  serial: number;
}

export interface License {
  bytes: Uint8Array;
  bodyBytes: Uint8Array;
  signature: Uint8Array;
  body: LicenseBody;
}

function checkBody(b: LicenseBody): LicenseBody {
  requireBytes("carrier id", b.carrierId, CARRIER_ID_BYTES);
  requireBytes("carrier public key", b.publicKey, HSS_PUBLIC_KEY_BYTES);
  try {
    parseHssPublicKey(b.publicKey);
  } catch (e) {
    bad(`carrier public key: ${(e as Error).message}`);
  }
  requireCurrency("currency", b.currency);
  requireAmount("per-transaction limit", b.perTransactionLimit);
  requireAmount("cumulative limit", b.cumulativeLimit);
  if (b.cumulativeLimit < b.perTransactionLimit) bad(`cumulative limit ${b.cumulativeLimit} is below the per-transaction limit ${b.perTransactionLimit}`);
  requireDate("expiry", b.expiry);
  requireUint("serial", b.serial, 0xffffffff);
  return b;
}

export function encodeLicenseBody(body: LicenseBody): Uint8Array {
  const b = checkBody(body);
  return encodeCbor(new Map<number, Uint8Array | number | string>([
    [1, LICENSE_FORMAT], [2, b.carrierId], [3, b.publicKey], [4, b.currency], [5, b.perTransactionLimit],
    [6, b.cumulativeLimit], [7, b.expiry], [8, b.serial],
  ]));
}

function decodeStrict(what: string, bytes: Uint8Array, maxBytes: number): unknown {
  try {
    return decodeCbor(bytes, { maxBytes });
  } catch (e) {
    if (e instanceof CborError) bad(`${what} is not canonical CBOR: ${e.message}`);
    throw e;
  }
}

export function decodeLicenseBody(bytes: Uint8Array): LicenseBody {
  const m = requireMap("license body", decodeStrict("license body", bytes, 512), [1, 2, 3, 4, 5, 6, 7, 8]);
  if (m.get(1) !== LICENSE_FORMAT) bad(`license format ${JSON.stringify(m.get(1))} is not ${LICENSE_FORMAT}`);
  return checkBody({
    carrierId: requireBytes("carrier id", m.get(2)),
    publicKey: requireBytes("carrier public key", m.get(3)),
    currency: requireCurrency("currency", m.get(4)),
    perTransactionLimit: requireAmount("per-transaction limit", m.get(5)),
    cumulativeLimit: requireAmount("cumulative limit", m.get(6)),
    expiry: requireDate("expiry", m.get(7)),
    serial: requireUint("serial", m.get(8), 0xffffffff),
  });
}

export function licenseSignedMessage(bodyBytes: Uint8Array): Uint8Array {
  return concat(LICENSE_DOMAIN, bodyBytes);
}

export function encodeLicense(bodyBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeCbor(new Map<number, Uint8Array>([[1, bodyBytes], [2, signature]]), { maxBytes: MAX_LICENSE_BYTES });
}

/** Parses a license without checking its signature. */
export function decodeLicense(bytes: Uint8Array): License {
  requireBytes("license", bytes);
  const m = requireMap("license", decodeStrict("license", bytes, MAX_LICENSE_BYTES), [1, 2]);
  const bodyBytes = requireBytes("license body", m.get(1));
  const signature = requireBytes("license signature", m.get(2));
  return { bytes, bodyBytes, signature, body: decodeLicenseBody(bodyBytes) };
}

export interface LicenseCheck {
  /** Today, YYYYMMDD: a license is valid through its expiry day. */
  today: number;
  /** Revoked license serials (from a verified revocation list). */
  revoked?: ReadonlySet<number>;
}

/**
 * Verifies a license against the authority's HSS public key: authority signature, then expiry and
 * revocation. Throws OfflineError (forged-license, license-expired, license-revoked, bad-format).
 */
export function verifyLicense(bytes: Uint8Array, authorityPublicKey: Uint8Array, check: LicenseCheck): License {
  const license = decodeLicense(bytes);
  try {
    assertHssSignature(authorityPublicKey, licenseSignedMessage(license.bodyBytes), license.signature);
  } catch (e) {
    if (e instanceof LmsError) throw new OfflineError("forged-license", `the license is not signed by the credit authority: ${e.message}`);
    throw e;
  }
  if (check.today > license.body.expiry) throw new OfflineError("license-expired", `license ${license.body.serial} expired on ${license.body.expiry} (today ${check.today})`);
  if (check.revoked?.has(license.body.serial)) throw new OfflineError("license-revoked", `license ${license.body.serial} of carrier ${Buffer.from(license.body.carrierId).toString("hex")} is revoked`);
  return license;
}
