/**
 * The online QR payment, host side (PROTOCOL.md §7.5, docs/PLATFORM.md):
 *   merchant code → platform validates → order → session with the carrier's K_ch → the PIN,
 *   encrypted to the platform (online PIN: it never goes to the carrier), is checked and counted by
 *   the platform → one sealed PAY with the order and the platform's MAC'd verdict → the carrier
 *   counts the verdict, shows the order (trusted UI) and answers only once the user pressed its
 *   button (or declined, or 30 s passed) → ATC + cryptogram → platform verifies (PIN verified for
 *   this order too) and settles exactly once.
 * `authorizeOnCarrier` is the carrier step alone (plugs into `cmdPay`'s `authorize` hook).
 */
import type { KeyCarrier } from "../client.ts";
import type { CarrierKeys } from "../channel/keys.ts";
import type { AuthorizationRequest, OrderView, SettlementView, ValidatedCodeView } from "../platform/service.ts";
import type { ChallengeView, VerdictView } from "../platform/pin-verifier.ts";
import { encryptPinBlock, PinPurpose } from "../platform/online-pin.ts";
import { parsePaymentCode, PaymentCodeError } from "../qr/payload.ts";
import { KeyCarrierError } from "../errors.ts";
import { CarrierSession, type WireStats } from "./session.ts";
import { FlowCommand, fromHex, innerError, toHex } from "./protocol.ts";
import { personalisedCarrierId, platformIdFor } from "./personalise.ts";

type MaybePromise<T> = T | Promise<T>;

/** What `pay` needs from the platform; `inProcessPlatform(platform)` adapts the in-process one. */
export interface PaymentPlatform {
  validatePaymentCode(code: string): MaybePromise<ValidatedCodeView>;
  createOrder(code: string): MaybePromise<OrderView>;
  authorize(req: AuthorizationRequest): MaybePromise<SettlementView>;
  getCarrier(carrierId: string): MaybePromise<{ carrierId: string; issuerId: string }>;
  /** In-process only: the channel endpoint lives with the keys (the HTTP API never returns keys). */
  carrierKeys(carrierId: string): MaybePromise<CarrierKeys>;
  /** Online PIN: a single-use challenge and the platform's PIN key. */
  pinChallenge(req: { carrierId: string; orderId?: string; purpose: "pay" | "enrol" | "change" }): MaybePromise<ChallengeView>;
  /** Online PIN: the platform checks and counts the PIN block, and MACs its verdict for the carrier's session. */
  verifyOrderPin(req: { orderId: string; carrierId: string; challenge: string; pinBlock: string; sessionNonce: string; requestCounter: number }): MaybePromise<VerdictView>;
}

/** What the carrier step needs from the platform: the online PIN check. */
export type PinPlatform = Pick<PaymentPlatform, "pinChallenge" | "verifyOrderPin">;

/** Adapts host/src/platform/service.ts's `Platform` (synchronous, object arguments). */
export function inProcessPlatform(p: {
  validatePaymentCode(req: { code?: unknown }): ValidatedCodeView;
  createOrder(req: { code?: unknown }): OrderView;
  authorize(req: Partial<Record<keyof AuthorizationRequest, unknown>>): SettlementView;
  getCarrier(carrierId: string): { carrierId: string; issuerId: string };
  carrierKeys(carrierId: string): CarrierKeys;
  pinChallenge(req: { carrierId?: unknown; orderId?: unknown; purpose?: unknown }): ChallengeView;
  verifyOrderPin(req: { orderId?: unknown; carrierId?: unknown; challenge?: unknown; pinBlock?: unknown; sessionNonce?: unknown; requestCounter?: unknown }): VerdictView;
}): PaymentPlatform {
  return {
    validatePaymentCode: (code) => p.validatePaymentCode({ code }),
    createOrder: (code) => p.createOrder({ code }),
    authorize: (req) => p.authorize(req),
    getCarrier: (id) => p.getCarrier(id),
    carrierKeys: (id) => p.carrierKeys(id),
    pinChallenge: (req) => p.pinChallenge(req),
    verifyOrderPin: (req) => p.verifyOrderPin(req),
  };
}

export interface CarrierStepOptions {
  /** The PIN; a prompt is asked before anything is sent. It goes to the platform, encrypted; never to the carrier. */
  pin: string | (() => Promise<string>);
  /**
   * Called once PAY went out, while the carrier shows the order and waits: tell the user to press
   * the button (a real carrier), or press it (the virtual board's control port). `signal` aborts
   * when the carrier's answer arrived (it may answer at once without asking, e.g. PAY_OVER_LIMIT).
   */
  confirm?: (signal: AbortSignal) => Promise<void>;
  /**
   * How long to wait for the carrier's answer in total (default: the carrier's 30 s UI timeout +
   * PAY_DECISION_MARGIN_MS for the PIN check, the commit and the link).
   */
  confirmTimeoutMs?: number;
  onStep?: (line: string) => void;
}

export interface CarrierAuthorization extends AuthorizationRequest {
  logHead: string;
  /** Wire cost after the channel was open (the one PAY round trip). */
  wire: WireStats;
}

/** PROTOCOL.md §7.7: the carrier declines by itself after this long without a press. */
export const CARRIER_CONFIRM_TIMEOUT_MS = 30_000;
/** On top of the UI timeout: the PIN check (~0.5 s on a Puck.js), the commit, the link. */
export const PAY_DECISION_MARGIN_MS = 5_000;
/** First retransmission of PAY after this (the device's share of a PAY is ~0.7 s): a lost request is found quickly; later ones back off. */
const PAY_FIRST_WAIT_EXTRA_MS = 2_000;

/**
 * What the user is told while the carrier waits for its button — only what the carrier itself can
 * show (issue 18): a carrier with a screen (INFO capability 0x10) shows the order it will sign; an
 * LED-only one shows "confirm?" and an amount class, never the amount, currency or payee, and the
 * host (untrusted) must not pretend otherwise. capabilities undefined (no INFO handshake): treated
 * as LED-only.
 */
export function confirmationPrompt(order: Pick<OrderView, "display" | "merchantName" | "merchantId" | "amount">, capabilities?: { display: boolean }): string {
  const buttons = `short press on the carrier's button pays, long press declines (${CARRIER_CONFIRM_TIMEOUT_MS / 1000} s: declines)`;
  if (capabilities?.display) {
    return `check the carrier's own screen, not this host: it shows what it will sign (amount, currency, merchant number). ` +
      `This host asks for ${order.display} to merchant #${order.merchantId} (${order.merchantName}); pay only if the screen says the same — ${buttons}`;
  }
  const blinks = ledAmountClass(order.amount) + 1;
  return `this carrier has no screen: it cannot show the amount, the currency or the payee, only that it asks (LED1 lit) and an ` +
    `amount class (LED2 blinks 1-4 times per cycle: 1 under 1,000 minor units, 2 under 10,000, 3 under 100,000, 4 above; this order: ${blinks}). ` +
    `This host asks for ${order.display} to ${order.merchantName}, which the carrier cannot confirm — ${buttons}`;
}

/** firmware/src/ui/confirm.ts amountClass: 0 < 1,000, 1 < 10,000, 2 < 100,000, 3 otherwise (minor units). */
export function ledAmountClass(amountMinor: number): number {
  return amountMinor < 1000 ? 0 : amountMinor < 10000 ? 1 : amountMinor < 100000 ? 2 : 3;
}

/** The carrier step: given the platform's order, get the carrier's authorization for exactly it. */
export async function authorizeOnCarrier(
  kc: KeyCarrier, keys: { carrierId: string; issuerId: string; channelKey: Uint8Array }, order: OrderView, opts: CarrierStepOptions, platform: PinPlatform,
): Promise<CarrierAuthorization> {
  const step = opts.onStep ?? (() => {});
  const pin = typeof opts.pin === "string" ? opts.pin : await opts.pin();
  const session = await CarrierSession.open(kc, { channelKey: keys.channelKey, carrierId: fromHex(keys.carrierId), platformId: platformIdFor(keys.issuerId) });
  step(`secure session open with carrier ${keys.carrierId}`);
  try {
    const f = order.cryptogramFields;
    const challenge = await platform.pinChallenge({ carrierId: keys.carrierId, orderId: order.orderId, purpose: "pay" });
    const pinBlock = encryptPinBlock(pin, fromHex(challenge.publicKey), {
      purpose: PinPurpose.PAY, carrierId: fromHex(keys.carrierId), orderId: fromHex(order.orderId), challenge: fromHex(challenge.challenge),
    });
    const verdict = await platform.verifyOrderPin({ orderId: order.orderId, carrierId: keys.carrierId, challenge: challenge.challenge, pinBlock: toHex(pinBlock), sessionNonce: toHex(session.carrierNonce), requestCounter: session.nextCounter });
    step(`PIN encrypted to the platform and checked there: ${["right", "wrong", "blocked"][verdict.verdict]} (${verdict.triesLeft} tries left); the carrier counts the verdict`);
    let confirming: Promise<void> | undefined;
    const answered = new AbortController();
    const r = await session.exchange(FlowCommand.PAY, new Map<number, Uint8Array | number | string>([
      [1, fromHex(f.orderId)], [2, fromHex(f.merchantId)], [3, f.amount], [4, f.currency], [5, verdict.verdict], [6, verdict.triesLeft], [7, fromHex(verdict.mac)],
    ]), {
      extraTimeoutMs: PAY_FIRST_WAIT_EXTRA_MS,
      deadlineMs: opts.confirmTimeoutMs ?? CARRIER_CONFIRM_TIMEOUT_MS + PAY_DECISION_MARGIN_MS,
      onSent: () => {
        step(confirmationPrompt(order, kc.handshakeInfo?.capabilities));
        // A failing press hook must not leave a rejection unhandled while the reply is awaited.
        if (opts.confirm) confirming = opts.confirm(answered.signal).catch((e: unknown) => step(`pressing the button failed: ${(e as Error).message}`));
      },
    }).finally(() => answered.abort());
    await confirming;
    if (r.status !== 0) throw innerError(FlowCommand.PAY, r.status, r.body);
    const atc = r.body?.get(1);
    const ac = r.body?.get(2);
    const head = r.body?.get(3);
    if (typeof atc !== "number" || !(ac instanceof Uint8Array) || !(head instanceof Uint8Array)) {
      throw new KeyCarrierError(0x102, "PROTOCOL", "PAY answer lacks {1: ATC, 2: cryptogram, 3: log head} — firmware and host disagree on §7.5");
    }
    step(`the carrier authorised: ATC ${atc}, cryptogram ${toHex(ac)}`);
    return { orderId: order.orderId, carrierId: keys.carrierId, atc, cryptogram: toHex(ac), logHead: toHex(head), wire: { ...session.stats } };
  } finally {
    await session.close();
  }
}

export interface PayResult {
  validated: ValidatedCodeView;
  order: OrderView;
  authorization: CarrierAuthorization;
  settlement: SettlementView;
}

/** The whole payment: code → order → carrier → settlement. */
export async function pay(kc: KeyCarrier, platform: PaymentPlatform, code: string, opts: CarrierStepOptions): Promise<PayResult> {
  const step = opts.onStep ?? (() => {});
  try {
    parsePaymentCode(code);
  } catch (e) {
    if (e instanceof PaymentCodeError) throw new Error(`payment code refused (${e.reason}): ${e.message}`);
    throw e;
  }
  const validated = await platform.validatePaymentCode(code);
  step(`payment code valid: ${validated.merchantName} asks ${validated.display}`);
  const order = await platform.createOrder(code);
  step(`order ${order.orderId} created`);
  const carrierId = await personalisedCarrierId(kc);
  if (!carrierId) throw new Error("this carrier is not personalised: run `keycarrier personalise` first");
  const carrier = await platform.getCarrier(carrierId);
  const keys = await platform.carrierKeys(carrierId);
  const authorization = await authorizeOnCarrier(kc, { carrierId, issuerId: carrier.issuerId, channelKey: keys.channelKey }, order, opts, platform);
  const settlement = await platform.authorize({ orderId: authorization.orderId, carrierId, atc: authorization.atc, cryptogram: authorization.cryptogram });
  step(`settled ${settlement.display} as ${settlement.settlementId}`);
  return { validated, order, authorization, settlement };
}
