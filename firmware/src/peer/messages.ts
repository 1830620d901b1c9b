// The peer payment's byte layouts (PROTOCOL.md §12, docs/PEER.md §3): the payee's request R, the
// payer's instruction I, and the seal that makes each readable and checkable by the platform only.
// Fixed binary layouts with length prefixes (canonical by construction, like the cryptogram of
// docs/CHANNEL.md §7); byte for byte host/src/peer/messages.ts, pinned by firmware/vectors/peer.json.
//   R      = "KCPR" ‖ 01 ‖ u8 len ‖ payee id ‖ u64 amount ‖ currency(3) ‖ u32 expiry ‖ nonce(16)
//   I      = "KCPI" ‖ 01 ‖ u8 len ‖ payer id ‖ SHA-256(R) ‖ u64 amount ‖ currency(3) ‖ u32 ATC
//   header = "KCPS" ‖ 01 ‖ u8 kind ‖ u8 len ‖ carrier id ‖ u8 len ‖ id    (id: R's nonce, or u32 ATC)
//   sealed = header ‖ AES-128-CTR(K_msg, P) ‖ HMAC(K_peer, 02 ‖ header ‖ C)[0:16]
//   K_msg  = HMAC(K_peer, 01 ‖ header)[0:16];   K_peer = HMAC(K_ac, "KeyCarrier v1 peer key")
// Every call below is a few native calls and string concatenations: no per-byte JavaScript.
import { hmacSha256, type CryptoPrimitives, type HmacPads } from "../crypto/primitives.ts";
import { chr, readU32be, readU64be, u32be, u64be } from "../store/bytes.ts";

export const PEER_KEY_LABEL = "KeyCarrier v1 peer key";
export const REQUEST_MAGIC = "KCPR";
export const INSTRUCTION_MAGIC = "KCPI";
export const SEAL_MAGIC = "KCPS";
export const PEER_FORMAT = 1;
export const KIND_REQUEST = 1;
export const KIND_INSTRUCTION = 2;
export const NONCE_BYTES = 16;
export const TAG_BYTES = 16;
// Party ids are carrier ids; the payer logs the payee's as the entry's merchant id (≤ 16 B, PAY's cap).
export const MIN_PARTY_ID = 4;
export const MAX_PARTY_ID = 16;
const MAX_SAFE = 9007199254740991;
// bytes of R after the payee id: amount 8, currency 3, expiry 4, nonce 16
const REQUEST_TAIL = 31;

export interface PeerRequest { payeeId: string; amount: number; currency: string; expiry: number; nonce: string }

export function requestBytes(r: PeerRequest): string {
  return REQUEST_MAGIC + chr(PEER_FORMAT, r.payeeId.length) + r.payeeId + u64be(r.amount) + r.currency + u32be(r.expiry) + r.nonce;
}

// R as a payer's carrier receives it from its (untrusted) host, or undefined when it is not a
// well-formed version-1 request: every field is checked here, once, where it enters the carrier.
export function parseRequest(s: string): PeerRequest | undefined {
  const idLen = s.charCodeAt(5);
  if (s.length < 6 || s.substr(0, 5) !== REQUEST_MAGIC + chr(PEER_FORMAT) || !(idLen >= MIN_PARTY_ID && idLen <= MAX_PARTY_ID) ||
    s.length !== 6 + idLen + REQUEST_TAIL) return undefined;
  const at = 6 + idLen;
  const amount = readU64be(s, at);
  const currency = s.substr(at + 8, 3);
  const expiry = readU32be(s, at + 11);
  if (!(amount >= 1 && amount <= MAX_SAFE) || !/^[A-Z][A-Z][A-Z]$/.test(currency) || expiry < 1) return undefined;
  return { payeeId: s.substr(6, idLen), amount: amount, currency: currency, expiry: expiry, nonce: s.substr(at + 15, NONCE_BYTES) };
}

export function instructionBytes(payerId: string, digest: string, amount: number, currency: string, atc: number): string {
  return INSTRUCTION_MAGIC + chr(PEER_FORMAT, payerId.length) + payerId + digest + u64be(amount) + currency + u32be(atc);
}

// pads: HMAC pads of K_peer. Two HMACs (four SHA-256 calls) and one AES-CTR call.
export function seal(prims: CryptoPrimitives, pads: HmacPads, kind: number, carrierId: string, id: string, plain: string): string {
  const header = SEAL_MAGIC + chr(PEER_FORMAT, kind, carrierId.length) + carrierId + chr(id.length) + id;
  const c = prims.aesCtr0(hmacSha256(prims, pads, "\x01" + header).substr(0, 16), plain);
  return header + c + hmacSha256(prims, pads, "\x02" + header + c).substr(0, TAG_BYTES);
}
