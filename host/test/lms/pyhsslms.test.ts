/**
 * Cross-check against an independent implementation: pyhsslms (Russ Housley's RFC 8554 code, PyPI).
 * Our signatures must verify there, and its signatures here. Skips with the reason printed where
 * python3 or pyhsslms is absent (`pip install pyhsslms`); the RFC 8554 Appendix F vectors in
 * lms.test.ts are the cross-check that always runs.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { HssSigner, LMOTS, LMS, assertHssSignature, hssKeyFromSeed } from "../../src/lms/index.ts";

const probe = spawnSync("python3", ["-c", "import pyhsslms"], { encoding: "utf8" });
const missing = probe.error ? `python3 is not available (${probe.error.message})` : probe.status !== 0 ? `python3 has no pyhsslms (${(probe.stderr || "").trim().split("\n").at(-1)}) — pip install pyhsslms` : undefined;
if (missing) console.log(`[skip] pyhsslms cross-check: ${missing}`);

const SCRIPT = `
import sys, pyhsslms
mode, pub, msg, sig = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])
if mode == "verify":
    print("ok" if pyhsslms.HssPublicKey.deserialize(pub).verify(msg, sig) else "bad")
else:
    key = pyhsslms.HssPrivateKey(levels=2, lms_type=pyhsslms.lms_sha256_m32_h5, lmots_type=pyhsslms.lmots_sha256_n32_w8)
    print(key.publicKey().serialize().hex(), key.sign(msg).hex())
`;

function py(args: string[]): string {
  const r = spawnSync("python3", ["-c", SCRIPT, ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pyhsslms script failed: ${r.stderr}`);
  return r.stdout.trim();
}
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe.skipIf(missing !== undefined)("pyhsslms cross-check", () => {
  it("pyhsslms verifies our HSS signatures and rejects an altered message", () => {
    const signer = new HssSigner(hssKeyFromSeed([{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }, { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W8 }], new Uint8Array(32).fill(1), new Uint8Array(16).fill(2)));
    const msg = new TextEncoder().encode("KC-OFFLINE-v1 cross-check");
    const sig = signer.sign(msg, () => {});
    expect(py(["verify", hex(signer.publicKey), hex(msg), hex(sig)])).toBe("ok");
    expect(py(["verify", hex(signer.publicKey), hex(msg.subarray(1)), hex(sig)])).toBe("bad");
  });
  it("we verify pyhsslms's HSS signatures", () => {
    const msg = new TextEncoder().encode("signed by pyhsslms");
    const [pub, sig] = py(["sign", "", hex(msg), ""]).split(" ");
    expect(assertHssSignature(Buffer.from(pub!, "hex"), msg, Buffer.from(sig!, "hex")).levels).toHaveLength(2);
  });
});
