/**
 * The signed revocation list terminals download (`GET /v1/offline/revocations`):
 *
 *   body = canonical CBOR {1: format 1, 2: sequence (uint, grows with every change), 3: issued at
 *          (Unix seconds), 4: revoked license serials (bstr: u32 big-endian each, ascending)}
 *   list = canonical CBOR {1: body (bstr), 2: authority HSS signature over "KC-REVOCATIONS-v1" || body}
 *
 * Serials are packed into one byte string so a long list stays one CBOR item.
 */
import { decodeCbor, encodeCbor, CborError } from "../codec.ts";
import { LmsError, assertHssSignature, concat } from "./lms.ts";
import { OfflineError } from "./errors.ts";
import { requireBytes, requireMap, requireUint } from "./fields.ts";

export const REVOCATIONS_DOMAIN = new TextEncoder().encode("KC-REVOCATIONS-v1");
export const REVOCATIONS_FORMAT = 1;
export const MAX_REVOCATION_LIST_BYTES = 4 * 1024 * 1024;

export interface RevocationList {
  sequence: number;
  issuedAt: number;
  revoked: number[];
}

function badList(message: string): never {
  throw new OfflineError("bad-revocation-list", message);
}

export function encodeRevocationBody(list: RevocationList): Uint8Array {
  requireUint("sequence", list.sequence, 0xffffffff);
  requireUint("issued at", list.issuedAt);
  const sorted = [...new Set(list.revoked)].sort((a, b) => a - b);
  const packed = new Uint8Array(sorted.length * 4);
  const view = new DataView(packed.buffer);
  sorted.forEach((s, i) => view.setUint32(i * 4, requireUint("revoked serial", s, 0xffffffff)));
  return encodeCbor(new Map<number, number | Uint8Array>([[1, REVOCATIONS_FORMAT], [2, list.sequence], [3, list.issuedAt], [4, packed]]), { maxBytes: MAX_REVOCATION_LIST_BYTES });
}

export function revocationSignedMessage(body: Uint8Array): Uint8Array {
  return concat(REVOCATIONS_DOMAIN, body);
}

export function encodeRevocationList(body: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeCbor(new Map<number, Uint8Array>([[1, body], [2, signature]]), { maxBytes: MAX_REVOCATION_LIST_BYTES });
}

function decode(what: string, bytes: Uint8Array): unknown {
  try {
    return decodeCbor(bytes, { maxBytes: MAX_REVOCATION_LIST_BYTES });
  } catch (e) {
    if (e instanceof CborError) badList(`${what} is not canonical CBOR: ${e.message}`);
    throw e;
  }
}

/** Verifies a revocation list under the authority key and returns it. Throws OfflineError("bad-revocation-list"). */
export function verifyRevocationList(bytes: Uint8Array, authorityPublicKey: Uint8Array): RevocationList {
  let outer: Map<number, unknown>;
  let body: Uint8Array;
  try {
    outer = requireMap("revocation list", decode("revocation list", requireBytes("revocation list", bytes)), [1, 2]);
    body = requireBytes("revocation list body", outer.get(1));
  } catch (e) {
    if (e instanceof OfflineError) badList(e.message);
    throw e;
  }
  try {
    assertHssSignature(authorityPublicKey, revocationSignedMessage(body), requireBytes("revocation list signature", outer.get(2)));
  } catch (e) {
    if (e instanceof LmsError || e instanceof OfflineError) badList(`the revocation list is not signed by the credit authority: ${e.message}`);
    throw e;
  }
  try {
    const m = requireMap("revocation list body", decode("revocation list body", body), [1, 2, 3, 4]);
    if (m.get(1) !== REVOCATIONS_FORMAT) badList(`revocation list format ${JSON.stringify(m.get(1))} is not ${REVOCATIONS_FORMAT}`);
    const packed = requireBytes("revoked serials", m.get(4));
    if (packed.length % 4 !== 0) badList(`revoked serials are ${packed.length} bytes, not a multiple of 4`);
    const view = new DataView(packed.buffer, packed.byteOffset, packed.length);
    const revoked: number[] = [];
    for (let i = 0; i < packed.length; i += 4) revoked.push(view.getUint32(i));
    return { sequence: requireUint("sequence", m.get(2), 0xffffffff), issuedAt: requireUint("issued at", m.get(3)), revoked };
  } catch (e) {
    if (e instanceof OfflineError && e.reason === "bad-format") badList(e.message);
    throw e;
  }
}
