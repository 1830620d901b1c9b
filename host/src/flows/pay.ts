/**
 * The online QR payment, host side (PROTOCOL.md §7.5, docs/PLATFORM.md):
 *   merchant code → platform validates → order → session with the carrier's K_ch → one sealed PAY
 *   with the order and the PIN → the carrier shows the order (trusted UI) and answers only once the
 *   user pressed its button (or declined, or 30 s passed) → ATC + cryptogram → platform verifies
 *   and settles exactly once.
 * `authorizeOnCarrier` is the carrier step alone (plugs into `cmdPay`'s `authorize` hook).
 */
import type { KeyCarrier } from "../client.ts";
import type { CarrierKeys } from "../channel/keys.ts";
import type { AuthorizationRequest, OrderView, SettlementView, ValidatedCodeView } from "../platform/service.ts";
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
}

/** Adapts host/src/platform/service.ts's `Platform` (synchronous, object arguments). */
export function inProcessPlatform(p: {
  validatePaymentCode(req: { code?: unknown }): ValidatedCodeView;
  createOrder(req: { code?: unknown }): OrderView;
  authorize(req: Partial<Record<keyof AuthorizationRequest, unknown>>): SettlementView;
  getCarrier(carrierId: string): { carrierId: string; issuerId: string };
  carrierKeys(carrierId: string): CarrierKeys;
}): PaymentPlatform {
  return {
    validatePaymentCode: (code) => p.validatePaymentCode({ code }),
    createOrder: (code) => p.createOrder({ code }),
    authorize: (req) => p.authorize(req),
    getCarrier: (id) => p.getCarrier(id),
    carrierKeys: (id) => p.carrierKeys(id),
  };
}

export interface CarrierStepOptions {
  /** The PIN; a prompt is asked before anything is sent (PAY carries it with the order). */
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

/** The carrier step: given the platform's order, get the carrier's authorization for exactly it. */
export async function authorizeOnCarrier(
  kc: KeyCarrier, keys: { carrierId: string; issuerId: string; channelKey: Uint8Array }, order: OrderView, opts: CarrierStepOptions,
): Promise<CarrierAuthorization> {
  const step = opts.onStep ?? (() => {});
  const pin = typeof opts.pin === "string" ? opts.pin : await opts.pin();
  const session = await CarrierSession.open(kc, { channelKey: keys.channelKey, carrierId: fromHex(keys.carrierId), platformId: platformIdFor(keys.issuerId) });
  step(`secure session open with carrier ${keys.carrierId}`);
  try {
    const f = order.cryptogramFields;
    let confirming: Promise<void> | undefined;
    const answered = new AbortController();
    const r = await session.exchange(FlowCommand.PAY, new Map<number, Uint8Array | number | string>([
      [1, fromHex(f.orderId)], [2, fromHex(f.merchantId)], [3, f.amount], [4, f.currency], [5, pin],
    ]), {
      extraTimeoutMs: PAY_FIRST_WAIT_EXTRA_MS,
      deadlineMs: opts.confirmTimeoutMs ?? CARRIER_CONFIRM_TIMEOUT_MS + PAY_DECISION_MARGIN_MS,
      onSent: () => {
        step(`the carrier shows ${order.display} to ${order.merchantName}: confirm with a short press on its button (long press declines, ${CARRIER_CONFIRM_TIMEOUT_MS / 1000} s)`);
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
  const authorization = await authorizeOnCarrier(kc, { carrierId, issuerId: carrier.issuerId, channelKey: keys.channelKey }, order, opts);
  const settlement = await platform.authorize({ orderId: authorization.orderId, carrierId, atc: authorization.atc, cryptogram: authorization.cryptogram });
  step(`settled ${settlement.display} as ${settlement.settlementId}`);
  return { validated, order, authorization, settlement };
}
