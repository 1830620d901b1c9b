// The carrier's peer layouts and seal against firmware/vectors/peer.json (generated with node:crypto
// alone from PROTOCOL.md §12): the same bytes the platform opens (host/test/peer/messages.test.ts).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hmacPads, hmacSha256 } from "../../src/crypto/primitives.ts";
import { instructionBytes, KIND_INSTRUCTION, KIND_REQUEST, PEER_KEY_LABEL, parseRequest, requestBytes, seal } from "../../src/peer/messages.ts";
import { u32be } from "../../src/store/bytes.ts";
import { binToHex, hexToBin, nodePrimitives } from "../channel/node-primitives.ts";

const V = JSON.parse(readFileSync("firmware/vectors/peer.json", "utf8"));
const prims = nodePrimitives();

function peerPads(kacHex: string) {
  const kpeer = hmacSha256(prims, hmacPads(hexToBin(kacHex)), PEER_KEY_LABEL);
  return { kpeer, pads: hmacPads(kpeer) };
}

describe("peer key", () => {
  it("K_peer = HMAC(K_ac, label) for both carriers", () => {
    expect(binToHex(peerPads(V.keys.payee.cryptogramKey).kpeer)).toBe(V.keys.payee.peerKey);
    expect(binToHex(peerPads(V.keys.payer.cryptogramKey).kpeer)).toBe(V.keys.payer.peerKey);
  });
});

describe("request R", () => {
  for (const r of V.requests) {
    it(`${r.amount} ${r.currency}: bytes, parse, digest, seal`, () => {
      const fields = { payeeId: hexToBin(r.payeeId), amount: r.amount, currency: r.currency, expiry: r.expiry, nonce: hexToBin(r.nonce) };
      const bytes = requestBytes(fields);
      expect(binToHex(bytes)).toBe(r.request);
      expect(parseRequest(bytes)).toEqual(fields);
      expect(binToHex(prims.sha256(bytes))).toBe(r.digest);
      const sealed = seal(prims, peerPads(V.keys.payee.cryptogramKey).pads, KIND_REQUEST, hexToBin(r.payeeId), hexToBin(r.nonce), bytes);
      expect(binToHex(sealed)).toBe(r.sealed);
    });
  }
  for (const b of V.badRequests) {
    it(`refuses a request with a bad ${b.why}`, () => {
      expect(parseRequest(hexToBin(b.request))).toBeUndefined();
    });
  }
  it("refuses empty and short input without throwing", () => {
    for (const s of ["", "K", "KCPR", "KCPR\x01"]) expect(parseRequest(s)).toBeUndefined();
  });
});

describe("instruction I", () => {
  for (const i of V.instructions) {
    it(`ATC ${i.atc}: bytes and seal`, () => {
      const bytes = instructionBytes(hexToBin(i.payerId), hexToBin(i.digest), i.amount, i.currency, i.atc);
      expect(binToHex(bytes)).toBe(i.instruction);
      const sealed = seal(prims, peerPads(V.keys.payer.cryptogramKey).pads, KIND_INSTRUCTION, hexToBin(i.payerId), u32be(i.atc), bytes);
      expect(binToHex(sealed)).toBe(i.sealed);
    });
  }
});
