/**
 * Offline format vectors made by the host library from fixed seeds (docs/OFFLINE.md §Vectors):
 * the signed authorization message, a license body and license, a carrier signature, a revocation
 * list. `npx tsx host/test/offline/generate-vectors.ts` rewrites offline-host-vectors.json;
 * vectors.test.ts checks the code still produces exactly these bytes. The firmware signer (lmsfw)
 * can check its message bytes and, with the same SEED/I and Appendix A derivation, its signatures.
 */
import { HssSigner, LMOTS, LMS, hssKeyFromSeed } from "../../src/lms/index.ts";
import {
  authorizationMessage, encodeLicense, encodeLicenseBody, encodeRevocationBody, encodeRevocationList, licenseSignedMessage, revocationSignedMessage,
} from "../../src/offline/index.ts";

const h = (b: Uint8Array) => Buffer.from(b).toString("hex");
const b = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

export function makeVectors() {
  const authorityLevels = [{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 }];
  const carrierLevels = [{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }];
  const authority = { seed: "a0".repeat(32), I: "a1".repeat(16) };
  const carrierKey = { seed: "c0".repeat(32), I: "c1".repeat(16) };
  const authoritySigner = new HssSigner(hssKeyFromSeed(authorityLevels, b(authority.seed), b(authority.I)));
  const carrierSigner = new HssSigner(hssKeyFromSeed(carrierLevels, b(carrierKey.seed), b(carrierKey.I)));
  const carrierId = "0011223344556677";
  const licenseFields = { carrierId, currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, serial: 42 };
  const body = encodeLicenseBody({ ...licenseFields, carrierId: b(carrierId), publicKey: carrierSigner.publicKey });
  const licenseSig = authoritySigner.sign(licenseSignedMessage(body), () => {});
  const request = { amount: 1250, currency: "EUR", terminalId: "7e57000000000001", terminalNonce: "000102030405060708090a0b0c0d0e0f", date: 20261207, atc: 1 };
  const message = authorizationMessage(b(carrierId), { ...request, terminalId: b(request.terminalId), terminalNonce: b(request.terminalNonce) }, request.atc);
  const signature = carrierSigner.sign(message, () => {});
  const revBody = encodeRevocationBody({ sequence: 3, issuedAt: 1796644800, revoked: [7, 42] });
  const revSig = authoritySigner.sign(revocationSignedMessage(revBody), () => {});
  return {
    note: "Made by host/test/offline/generate-vectors.ts with the host LMS library (RFC 8554; C derived from SEED as lms/lmots.ts says). Keys are HSS private keys given as levels + SEED + I (Appendix A derivation); signatures use one-time key index 0 (license, message) and 1 (revocation list).",
    authority: { levels: ["LMS_SHA256_M32_H5/LMOTS_SHA256_N32_W8"], ...authority, publicKey: h(authoritySigner.publicKey) },
    carrierKey: { levels: ["LMS_SHA256_M32_H5/LMOTS_SHA256_N32_W4"], ...carrierKey, publicKey: h(carrierSigner.publicKey) },
    license: { fields: licenseFields, body: h(body), signedMessage: h(licenseSignedMessage(body)), signature: h(licenseSig), license: h(encodeLicense(body, licenseSig)) },
    authorization: { carrierId, ...request, signedMessage: h(message), signature: h(signature) },
    revocationList: { sequence: 3, issuedAt: 1796644800, revoked: [7, 42], body: h(revBody), list: h(encodeRevocationList(revBody, revSig)) },
  };
}
