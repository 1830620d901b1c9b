/**
 * Shared fixtures of the offline tests: small LMS parameters (fast key generation) and a software
 * signer standing in for the carrier's LMS signer. TEST DOUBLES ONLY — the carrier's real signer is
 * the firmware's (firmware/, lmsfw); the end-to-end hil-test runs against that.
 */
import { randomBytes } from "node:crypto";
import { HssSigner, LMOTS, LMS, type HssLevel } from "../../src/lms/index.ts";
import { OfflineError, authorizationMessage, type OfflineAuthorization, type OfflinePayRequest } from "../../src/offline/index.ts";
import type { PlatformClient } from "../../src/platform/client.ts";
import { PosTerminal } from "../../src/pos/terminal.ts";

/** Authority key for tests: 2 levels of H5/W4 (1,024 signatures, milliseconds to build). */
export const TEST_AUTHORITY_LEVELS: HssLevel[] = [
  { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 },
  { lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 },
];
/** Carrier key for tests: one H5/W4 tree (32 payments). */
export const TEST_CARRIER_LEVELS: HssLevel[] = [{ lms: LMS.LMS_SHA256_M32_H5, ots: LMOTS.LMOTS_SHA256_N32_W4 }];

export const TODAY = 20261207;
/** 2026-12-07 12:00 UTC, the tests' clock. */
export const NOW_MS = Date.UTC(2026, 11, 7, 12);

export function payRequest(over: Partial<OfflinePayRequest> = {}): OfflinePayRequest {
  return { amount: 1250, currency: "EUR", terminalId: Uint8Array.from(Buffer.from("7e57000000000001", "hex")), terminalNonce: Uint8Array.from(randomBytes(16)), date: TODAY, ...over };
}

/** A software carrier signer: persists its state in memory and signs the contract's message. */
export class SoftSigner {
  private signer: HssSigner;
  atc = 0;
  constructor(readonly carrierId: Uint8Array, privateState: Uint8Array) {
    this.signer = new HssSigner(privateState);
  }
  sign(req: OfflinePayRequest): OfflineAuthorization {
    this.atc++;
    const signature = this.signer.sign(authorizationMessage(this.carrierId, req, this.atc), () => {});
    return { ...req, carrierId: this.carrierId, atc: this.atc, signature };
  }
  /** A broken carrier that signs with a given one-time key index again (for the reused-leaf attack). */
  signWithIndex(index: number, req: OfflinePayRequest, atc: number): OfflineAuthorization {
    const rewound = new HssSigner(Object.assign(Buffer.from(this.signer.serialisedState), {}));
    const state = rewound.serialisedState;
    state.set([0, 0, 0, 0, (index >>> 24) & 0xff, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff], state.length - 8);
    const s = new HssSigner(state);
    return { ...req, carrierId: this.carrierId, atc, signature: s.sign(authorizationMessage(this.carrierId, req, atc), () => {}) };
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** The JSON record a terminal uploads. */
export function record(license: Uint8Array, a: OfflineAuthorization) {
  return {
    license: hex(license), amount: a.amount, currency: a.currency, terminalId: hex(a.terminalId), terminalNonce: hex(a.terminalNonce),
    date: a.date, atc: a.atc, signature: hex(a.signature),
  };
}

/**
 * How an offline step ended: "accepted", or the OfflineError's reason (with its message when
 * `withMessage`); anything else is rethrown.
 */
export async function offlineOutcome(p: Promise<unknown>, withMessage = false): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OfflineError) return withMessage ? `${e.reason}: ${e.message}` : e.reason;
    throw e;
  }
  return "accepted";
}

/** A fresh terminal log at `file` holding the platform's authority key and its newest revocation list. */
export async function terminalFromPlatform(admin: PlatformClient, file: string, now: () => number): Promise<PosTerminal> {
  const { publicKey } = await admin.offlineAuthority();
  const t = PosTerminal.init(file, Buffer.from(publicKey, "hex"), { now });
  t.setRevocationList(Buffer.from((await admin.offlineRevocations()).list, "hex"));
  return t;
}
