// Offline credit payment, HOST side (issue #16): per carrier LMS parameter set, the bytes a payment
// moves (license, signature, carrier commands in 480-byte chunks), one-time keys per carrier, and
// host costs on this machine: key generation (issuer-side, issueOfflineKey), terminal verification of
// a carrier signature and of a license, and the authority's license signature. Device time per
// signature on the boards is the firmware's section (lmsfw), not this one.
import { randomBytes } from "node:crypto";
import { HssSigner, LMOTS, LMS, assertHssSignature, hssKeyFromSeed, hssSignatureBytes, type HssLevel } from "../../host/src/lms/index.ts";
import { DEFAULT_AUTHORITY_LEVELS } from "../../host/src/platform/offline-authority.ts";
import { authorizationMessage, encodeLicense, encodeLicenseBody, licenseSignedMessage, verifyLicense } from "../../host/src/offline/index.ts";
import { MAX_CHUNK } from "../../host/src/pos/commands.ts";
import type { Row, Section } from "./types.ts";

const short = (name: string): string => name.split("_").at(-1)!;
const ms = (t: number) => Math.round(t * 100) / 100;

function timeIt<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

/** Mean ms of `fn` over at least `minMs` of runs. */
function mean(fn: () => unknown, minMs = 150): number {
  let n = 0;
  const t0 = performance.now();
  do {
    fn();
    n++;
  } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / n;
}

/** Mean ms per signature over up to 16 signatures (a small key has few one-time keys). */
function signMs(signer: HssSigner, message: Uint8Array): number {
  const n = Math.min(16, signer.remaining);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) signer.sign(message, () => {});
  return (performance.now() - t0) / n;
}

const req = { amount: 1250, currency: "EUR", terminalId: new Uint8Array(8).fill(1), terminalNonce: new Uint8Array(16).fill(2), date: 20261207 };

export async function offlineHostRows(): Promise<Row[]> {
  const rows: Row[] = [];
  // The authority (default parameters) signs one license per carrier.
  const authority = timeIt(() => new HssSigner(hssKeyFromSeed(DEFAULT_AUTHORITY_LEVELS, randomBytes(32), randomBytes(16))));
  const carriersKeys: Array<{ name: string; levels: HssLevel[] }> = [];
  for (const h of [LMS.LMS_SHA256_M32_H5, LMS.LMS_SHA256_M32_H10]) {
    for (const w of Object.values(LMOTS)) carriersKeys.push({ name: `L1 ${short(h.name)}/${short(w.name)}`, levels: [{ lms: h, ots: w }] });
  }
  carriersKeys.push({ name: "L2 H5/W4 + H5/W4", levels: [{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }, { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }] });
  let firstLicenseSignMs = 0;
  for (const { name, levels } of carriersKeys) {
    const keygen = timeIt(() => new HssSigner(hssKeyFromSeed(levels, randomBytes(32), randomBytes(16))));
    const carrier = keygen.value;
    const carrierId = new Uint8Array(8).fill(7);
    const body = encodeLicenseBody({ carrierId, publicKey: carrier.publicKey, currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, serial: 1 });
    const signed = timeIt(() => authority.value.sign(licenseSignedMessage(body), () => {}));
    if (!firstLicenseSignMs) firstLicenseSignMs = signed.ms;
    const license = encodeLicense(body, signed.value);
    const message = authorizationMessage(carrierId, req, 1);
    const sig = carrier.sign(message, () => {});
    const verifyMs = mean(() => assertHssSignature(carrier.publicKey, message, sig));
    const licenseVerifyMs = mean(() => verifyLicense(license, authority.value.publicKey, { today: 20261207 }));
    const licenseChunks = Math.ceil(license.length / MAX_CHUNK);
    const sigChunks = Math.ceil(sig.length / MAX_CHUNK);
    rows.push({
      carrierKey: name,
      signaturesPerCarrier: carrier.capacity,
      signatureBytes: sig.length,
      licenseBytes: license.length,
      // OFFLINE_LICENSE per license chunk, OFFLINE_PAY (carries the first signature chunk), OFFLINE_SIG_READ per further chunk
      carrierCommandsPerPayment: licenseChunks + sigChunks,
      hostKeygenMs: ms(keygen.ms),
      hostSignMs: ms(signMs(carrier, message)),
      terminalVerifySigMs: ms(verifyMs),
      terminalVerifyLicenseMs: ms(licenseVerifyMs),
    });
    if (hssSignatureBytes(levels) !== sig.length) throw new Error(`signature size ${sig.length} differs from hssSignatureBytes ${hssSignatureBytes(levels)}`);
  }
  rows.push({
    carrierKey: `authority (${DEFAULT_AUTHORITY_LEVELS.map((l) => `${short(l.lms.name)}/${short(l.ots.name)}`).join(" + ")})`,
    signaturesPerCarrier: authority.value.capacity,
    signatureBytes: hssSignatureBytes(DEFAULT_AUTHORITY_LEVELS),
    licenseBytes: null,
    carrierCommandsPerPayment: null,
    hostKeygenMs: ms(authority.ms),
    // the first license builds the first bottom tree too
    hostSignMs: ms(firstLicenseSignMs),
    terminalVerifySigMs: null,
    terminalVerifyLicenseMs: null,
  });
  return rows;
}

export const offlineHostSection: Section = {
  name: "offline-host",
  note: "host side of offline payments on this machine (one core): carrier key generation at the issuer, terminal verification (signature, license), license and signature bytes, carrier commands per payment with 480-byte chunks (license + signature; NFC frames depend on the mailbox: the firmware's section). The authority row: its key (licenses + revocation lists it can sign), its first signature includes building the first bottom tree.",
  run: offlineHostRows,
};
