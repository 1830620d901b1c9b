/** Offline credit payment formats (PROTOCOL.md §11, docs/OFFLINE.md): licenses, authorizations, revocation lists. */
export { OfflineError, type OfflineReason } from "./errors.ts";
export { CARRIER_ID_BYTES, TERMINAL_ID_BYTES, TERMINAL_NONCE_BYTES, dateOf, requireDate } from "./fields.ts";
export {
  decodeLicense, decodeLicenseBody, encodeLicense, encodeLicenseBody, licenseSignedMessage, verifyLicense, LICENSE_DOMAIN, LICENSE_FORMAT,
  type License, type LicenseBody, type LicenseCheck,
} from "./license.ts";
export {
  authorizationMessage, checkPayRequest, payRequestBody, verifyAuthorization, AUTHORIZATION_DOMAIN, MAX_OFFLINE_ATC,
  type OfflineAuthorization, type OfflinePayRequest,
} from "./authorization.ts";
export {
  encodeRevocationBody, encodeRevocationList, revocationSignedMessage, verifyRevocationList, REVOCATIONS_DOMAIN, type RevocationList,
} from "./revocations.ts";
