/** The LMS/HSS library as the offline modules use it. */
export { HSS_PUBLIC_KEY_BYTES, LmsError, assertHssSignature, parseHssPublicKey, type HssSignatureInfo } from "../lms/index.ts";
export { concat } from "../lms/bytes.ts";
