/**
 * PIN change (online PIN, docs/PLATFORM.md "Online PIN"): a host ↔ platform operation — the carrier
 * holds no PIN and takes no part. Both PINs go to the platform as PIN blocks under one single-use
 * challenge; the platform checks (and counts) the old one like a payment's PIN.
 */
import { encryptPinBlock, isValidPin, PinPurpose, Verdict } from "../platform/online-pin.ts";
import type { ChallengeView } from "../platform/pin-verifier.ts";
import { fromHex, toHex } from "./protocol.ts";

type MaybePromise<T> = T | Promise<T>;

export interface PinChangePlatform {
  pinChallenge(req: { carrierId: string; purpose: "change" }): MaybePromise<ChallengeView>;
  changePin(req: { carrierId: string; challenge: string; oldPinBlock: string; newPinBlock: string }): MaybePromise<{ verdict: number; triesLeft: number }>;
}

/** Changes the PIN at the platform; throws with the issuer's tries left when the old PIN is wrong or blocked. */
export async function changePin(platform: PinChangePlatform, carrierId: string, oldPin: string, newPin: string): Promise<{ triesLeft: number }> {
  if (!isValidPin(oldPin) || !isValidPin(newPin)) throw new Error("a PIN is 4–12 digits; nothing was sent");
  const c = await platform.pinChallenge({ carrierId, purpose: "change" });
  const ctx = { carrierId: fromHex(carrierId), orderId: new Uint8Array(0), challenge: fromHex(c.challenge) };
  const r = await platform.changePin({
    carrierId, challenge: c.challenge,
    oldPinBlock: toHex(encryptPinBlock(oldPin, fromHex(c.publicKey), { ...ctx, purpose: PinPurpose.CHANGE_OLD })),
    newPinBlock: toHex(encryptPinBlock(newPin, fromHex(c.publicKey), { ...ctx, purpose: PinPurpose.CHANGE_NEW })),
  });
  if (r.verdict === Verdict.BLOCKED) throw new Error("the PIN is blocked at the issuer (3 wrong PINs): the card must be issued again");
  if (r.verdict !== Verdict.OK) throw new Error(`the old PIN is wrong: ${r.triesLeft} tries left at the issuer; the PIN was not changed`);
  return { triesLeft: r.triesLeft };
}
