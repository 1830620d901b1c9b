/** LMS/HSS hash-based signatures (RFC 8554, SHA-256 / M32 / N32): the host's library. */
export { LmsError } from "./bytes.ts";
export { LMS, LMOTS, lmsParams, lmotsParams, lmsParamsFrom, lmotsParamsFrom, lmsSignatureBytes, LMS_PUBLIC_KEY_BYTES, I_BYTES, SEED_BYTES, type LmsParams, type LmotsParams } from "./params.ts";
export { LmsTree, assertLmsSignature, lmsVerify, parseLmsPublicKey, lmsSignatureLeaf, type LmsPublicKey, type LmsTreeOptions } from "./lms.ts";
export {
  HssSigner, assertHssSignature, hssVerify, hssKeyFromSeed, hssCapacity, hssSignatureBytes, parseHssPublicKey, serialiseHssState, parseHssState,
  levelIndices, childKey, HSS_PUBLIC_KEY_BYTES, MAX_LEVELS, type HssLevel, type HssPrivateState, type HssSignatureInfo,
} from "./hss.ts";
