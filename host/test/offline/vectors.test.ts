import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { makeVectors } from "./vectors.ts";
import { assertHssSignature, hssSignatureBytes, LMS, LMOTS } from "../../src/lms/index.ts";
import { decodeLicenseBody, verifyLicense, verifyRevocationList, OfflineError } from "../../src/offline/index.ts";
import { decodeCbor, encodeCbor, type CborValue } from "../../src/codec.ts";

const stored = JSON.parse(readFileSync(new URL("./offline-host-vectors.json", import.meta.url), "utf8"));
const b = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

describe("offline format vectors (offline-host-vectors.json)", () => {
  it("the host library still produces exactly the stored bytes", () => {
    expect(makeVectors()).toEqual(stored);
  });
  it("the stored license, authorization and revocation list verify, and their layout is the contract's", () => {
    const license = verifyLicense(b(stored.license.license), b(stored.authority.publicKey), { today: 20261207 });
    expect(license.body).toMatchObject({ currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, serial: 42 });
    expect(Buffer.from(stored.license.signedMessage, "hex").subarray(0, 13).toString()).toBe("KC-LICENSE-v1");
    // licenseBody = CBOR map of 8 entries, keys 1..8 (0xa8 01 01 02 48 <carrier id> ...)
    expect(stored.license.body.slice(0, 14)).toBe("a8010102480011");
    const msg = b(stored.authorization.signedMessage);
    expect(Buffer.from(msg.subarray(0, 13)).toString()).toBe("KC-OFFLINE-v1");
    expect(Buffer.from(msg.subarray(13, 15)).toString("hex")).toBe("a701"); // map of 7, key 1 (carrier id)
    const info = assertHssSignature(b(stored.carrierKey.publicKey), msg, b(stored.authorization.signature));
    expect(info.index).toBe(0);
    expect(b(stored.authorization.signature).length).toBe(hssSignatureBytes([{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }]));
    expect(verifyRevocationList(b(stored.revocationList.list), b(stored.authority.publicKey))).toEqual({ sequence: 3, issuedAt: 1796644800, revoked: [7, 42] });
  });
  it("a license body with an unknown field or a missing one is refused", () => {
    const body = decodeCbor(b(stored.license.body)) as Map<number, CborValue>;
    const extra = new Map(body);
    extra.set(9, 0);
    expect(() => decodeLicenseBody(encodeCbor(extra))).toThrow(/unknown field\(s\) 9/);
    const missing = new Map(body);
    missing.delete(8);
    expect(() => decodeLicenseBody(encodeCbor(missing))).toThrow(/has no field 8/);
    const format2 = new Map(body);
    format2.set(1, 2);
    expect(() => decodeLicenseBody(encodeCbor(format2))).toThrow(OfflineError);
  });
});
