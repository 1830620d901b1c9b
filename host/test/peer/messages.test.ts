// The platform's peer layouts and seal against firmware/vectors/peer.json (node:crypto, the spec):
// the carrier's side reads the same file (firmware/test/peer/messages.test.ts).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { diversifyCarrierKeys } from "../../src/channel/keys.ts";
import {
  encodeInstruction, encodeRequest, instructionId, KIND_INSTRUCTION, KIND_REQUEST, openPeer, parseInstruction, parseRequest, PeerMessageError, peerKey, sealPeer, sha256,
} from "../../src/peer/messages.ts";

const V = JSON.parse(readFileSync("firmware/vectors/peer.json", "utf8"));
const b = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));
const hex = (u: Uint8Array): string => Buffer.from(u).toString("hex");

describe("keys", () => {
  it("K_ac is the issuer's diversified cryptogram key; K_peer derives from it", () => {
    for (const who of ["payee", "payer"] as const) {
      const k = V.keys[who];
      expect(hex(diversifyCarrierKeys(b(V.keys.issuerMasterKey), b(k.carrierId)).cryptogramKey)).toBe(k.cryptogramKey);
      expect(hex(peerKey(b(k.cryptogramKey)))).toBe(k.peerKey);
    }
  });
});

describe("requests", () => {
  for (const r of V.requests) {
    it(`${r.amount} ${r.currency}: encode, parse, seal, open`, () => {
      const fields = { payeeId: b(r.payeeId), amount: r.amount, currency: r.currency, expiry: r.expiry, nonce: b(r.nonce) };
      expect(hex(encodeRequest(fields))).toBe(r.request);
      expect(parseRequest(b(r.request))).toEqual(fields);
      expect(hex(sha256(b(r.request)))).toBe(r.digest);
      const kpeer = b(V.keys.payee.peerKey);
      expect(hex(sealPeer(kpeer, KIND_REQUEST, b(r.payeeId), b(r.nonce), b(r.request)))).toBe(r.sealed);
      const opened = openPeer(kpeer, b(r.sealed));
      expect(hex(opened.plain)).toBe(r.request);
      expect(opened.header.kind).toBe(KIND_REQUEST);
      expect(hex(opened.header.carrierId)).toBe(r.payeeId);
    });
  }
  for (const bad of V.badRequests) {
    it(`refuses a bad ${bad.why}`, () => expect(() => parseRequest(b(bad.request))).toThrow(PeerMessageError));
  }
});

describe("instructions", () => {
  for (const i of V.instructions) {
    it(`ATC ${i.atc}: encode, parse, seal, open`, () => {
      const fields = { payerId: b(i.payerId), digest: b(i.digest), amount: i.amount, currency: i.currency, atc: i.atc };
      expect(hex(encodeInstruction(fields))).toBe(i.instruction);
      expect(parseInstruction(b(i.instruction))).toEqual(fields);
      const kpeer = b(V.keys.payer.peerKey);
      expect(hex(sealPeer(kpeer, KIND_INSTRUCTION, b(i.payerId), instructionId(i.atc), b(i.instruction)))).toBe(i.sealed);
      expect(hex(openPeer(kpeer, b(i.sealed)).plain)).toBe(i.instruction);
    });
  }
});

describe("seal", () => {
  it("every flipped bit of a sealed instruction is refused; another carrier's key opens nothing", () => {
    const sealed = b(V.instructions[0].sealed);
    for (let i = 0; i < sealed.length * 8; i++) {
      const x = sealed.slice();
      x[i >> 3]! ^= 1 << (i & 7);
      expect(() => openPeer(b(V.keys.payer.peerKey), x)).toThrow(PeerMessageError);
    }
    expect(() => openPeer(b(V.keys.payee.peerKey), sealed)).toThrow(/does not verify/);
    expect(() => openPeer(b(V.keys.payer.peerKey), sealed.subarray(0, sealed.length - 1))).toThrow(PeerMessageError);
  });
});
