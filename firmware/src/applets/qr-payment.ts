// The QR-payment authorization applet (PROTOCOL.md §7.5, §7.6): PAY runs inside the secure channel;
// LOG_READ is an outer command. PAY carries the order and the platform's PIN verdict for it (online
// PIN: the PIN itself went host → platform, never here) in one request: what can be checked at
// once is answered at once; otherwise the trusted UI asks the user and the reply is DEFERRED until
// the user decided. Order of durable effects per authorization: verdict try (carrier.countVerdict:
// spent before the verdict's MAC is checked) → one record holding the new ATC and its log entry →
// only then the cryptogram. A verdict is bound to the session's carrier nonce and the channel
// counter of its PAY request, which the channel accepts once. An order already authorized (found in the kept log) is answered with its original
// ATC and cryptogram: never a second authorization; the same order id and merchant with a changed
// amount or currency is refused at once (PAY_ORDER_CHANGED), never signed. Nothing is written before the user decided, so
// a reboot while PAY waits loses the order and nothing else.
import { badFields, DEFERRED, ok, okRaw, PAY_WAITS, refuse, uintArg, type Command, type CommandResult, type LateResult } from "../dispatch.ts";
import { head as cborHead, type CborMap, type CborValue } from "../codec.ts";
import { STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_INTERNAL, STATUS_OK } from "../protocol.ts";
import { STATUS_PIN_VERDICT_BAD, STATUS_PIN_WRONG, STATUS_STORAGE_FULL } from "../security/status.ts";
import { blindedEqual, lockedOut } from "../security/pin.ts";
import { VERDICT_BLOCKED, VERDICT_FORGED, VERDICT_KEY_LABEL, VERDICT_MAC_BYTES, verdictMessage } from "../security/verdict.ts";
import { hmacPads, hmacSha256, type HmacPads } from "../crypto/primitives.ts";
import { isStoreFull } from "../store/ports.ts";
import type { Carrier } from "../security/carrier.ts";
import { createCryptogramSigner, type CryptogramSigner } from "../channel/cryptogram.ts";
import type { CryptoPrimitives } from "../crypto/primitives.ts";
import type { AppStore } from "../perso/app-store.ts";
import { amountClass, DECISION_CONFIRMED, type TrustedUi } from "../ui/confirm.ts";
import {
  chainNext, earlierAtc, encodeEntry, RESULT_AUTHORIZED, RESULT_DECLINED, ZERO_HASH, type Order,
} from "./tx-log.ts";
import { raise } from "../raise.ts";
import { readU32be } from "../store/bytes.ts";

export const CMD_PAY = 0x40;
export const CMD_LOG_READ = 0x42;
export const STATUS_PAY_DECLINED = 0x41;
export const STATUS_PAY_OVER_LIMIT = 0x43;
export const STATUS_PAY_ORDER_CHANGED = 0x44;
export const LOG_READ_MAX_BYTES = 400;
const MAX_ATC = 4294967295;

export interface PaymentDeps {
  carrier: Carrier;
  store: AppStore;
  ui: TrustedUi;
  prims: CryptoPrimitives;
  // The carrier nonce of the open session ‖ u32be counter of the request being handled ("" when no
  // session): the verdict must be MAC'd over it, so it serves that one request only.
  verdictBinding(): string;
  // Schedules fn (a platform timer): PAY prepares the authorization with it while the user decides.
  // Without it (unit tests) everything is computed after the press.
  setTimer?(fn: () => void, ms: number): unknown;
}

// PAY's request: the order (fields 1-4) and the platform's verdict, its tries left and its MAC
// (fields 5-7); binding is the session's, noted when the request is accepted.
interface PayArgs extends Order { verdict: number; triesLeft: number; mac: string; binding: string }

// See prepare() in createPaymentApplet.
interface Prepared { order: PayArgs; expectedMac: string; atc: number; cryptogram: string; prevHash: string; entry: string; head: string }

export interface PaymentApplet {
  commands(): Command[];
  // hash after the newest kept entry (h_0 when the log is empty)
  head(): string;
  // forget RAM state (after a wipe); a PAY waiting for the user is abandoned (no reply)
  reset(): void;
  // abandon a PAY waiting for the user (channel closed or reopened): LEDs off, nothing written, no reply
  cancel(): void;
}

// 16 bytes per id (the platform uses 12 and 4): LOG_RING entries plus the one a rotation is
// replacing must fit one 1,024-byte log file next to the keys record (perso/app-store.ts).
export const MAX_ID_BYTES = 16;

const CURRENCY = /^[A-Z][A-Z][A-Z]$/;
// PAY's fixed bytes as readPay() finds them: the map head, keys 1-7, the currency's and the MAC's heads.
const PAY_SKELETON = "\xa7\x01\x02\x03\x04\x63\x05\x06\x07\x50";
const TWO_POW_32 = 4294967296;

// PAY's request read in place, in its one canonical layout: {1: order id 1-16 B, 2: merchant id
// 1-16 B, 3: amount, 4: 3 capital letters, 5: verdict 0-2, 6: tries left 0-255, 7: MAC 16 B}, or
// undefined for any other body. The generic decoder walked it item by item, ~60 ms of PAY on the
// board; this is one pass of native string calls and one compare of every fixed byte. Past the
// end, charCodeAt gives NaN, which fails every test below. The shortest-form rule for the amount
// and the tries left (RFC 8949 §4.2.1) is checked as the generic decoder does (PROTOCOL.md §5).
export function readPay(b: string): PayArgs | undefined {
  const oLen = b.charCodeAt(2) - 0x40;
  const m = 5 + oLen; // merchant id
  const mLen = b.charCodeAt(m - 1) - 0x40;
  const a = m + mLen + 1; // amount's head
  const h = b.charCodeAt(a);
  const high = h === 27 ? readU32be(b, a + 1) : 0;
  const amount = h < 24 ? h : h === 24 ? b.charCodeAt(a + 1) : h === 25 ? (b.charCodeAt(a + 1) << 8) | b.charCodeAt(a + 2) :
    high * TWO_POW_32 + readU32be(b, a + (h === 27 ? 5 : 1));
  const c = a + (h < 24 ? 1 : (1 << (h - 24)) + 1); // key 4
  const currency = b.substr(c + 2, 3);
  const verdict = b.charCodeAt(c + 6);
  const t = b.charCodeAt(c + 8);
  const long = t === 24 ? 1 : 0; // tries left 24-255 take a second byte
  const triesLeft = long ? b.charCodeAt(c + 9) : t;
  const d = c + long;
  if (!(b.length === d + 27 && oLen >= 1 && oLen <= MAX_ID_BYTES && mLen >= 1 && mLen <= MAX_ID_BYTES && h <= 27 && high <= 0x1fffff &&
    amount >= (h < 24 ? 0 : h === 24 ? 24 : h === 25 ? 256 : h === 26 ? 65536 : TWO_POW_32) && verdict <= VERDICT_BLOCKED && triesLeft < (long ? 256 : 24) && triesLeft >= long * 24 &&
    b.substr(0, 2) + b.charAt(m - 2) + b.charAt(a - 1) + b.substr(c, 2) + b.charAt(c + 5) + b.charAt(c + 7) + b.substr(d + 9, 2) === PAY_SKELETON &&
    CURRENCY.test(currency))) return undefined;
  return { orderId: b.substr(3, oLen), merchantId: b.substr(m, mLen), amount: amount, currency: currency, verdict: verdict, triesLeft: triesLeft, mac: b.substr(d + 11), binding: "" };
}

// afterPinCheck runs right after a decided PAY's verdict is counted (main.ts: purge a carrier that a
// BLOCKED verdict or the 10th bad one destroyed); a parameter rather than a deps property because parameter names are minified.
export function createPaymentApplet(deps: PaymentDeps, afterPinCheck?: () => void): PaymentApplet {
  const carrier = deps.carrier;
  const store = deps.store;
  const ui = deps.ui;
  const sha256 = function (s: string): string { return deps.prims.sha256(s); };
  // The PAY waiting for the user: its order and verdict, completion, and the ATC of its earlier
  // authorization (0: none; found when it arrived: nothing can log an entry while it waits). At most one.
  let pending: PayArgs | null = null;
  let pendingAtc = 0;
  let pendingLate: LateResult | null = null;
  let signer: CryptogramSigner | null = null;
  let verdictPads: HmacPads | null = null;
  let cachedHead: string | null = null;
  // What the pending PAY's authorization needs and the decision does not change, prepared while the
  // user decides (prepare(), below); null: not (yet) prepared.
  let prepared: Prepared | null = null;

  function head(): string {
    if (cachedHead === null) {
      const e = store.entries();
      cachedHead = e.length === 0 ? ZERO_HASH : chainNext(sha256, e[e.length - 1]!.prevHash, e[e.length - 1]!.entry);
    }
    return cachedHead;
  }

  // One record = ATC + entry: the commit. Returns the new ATC. The prepared entry and chain hash
  // are used only if they were made for this order, this ATC and this log head.
  function appendEntry(result: number, o: Order): number {
    const atc = store.lastAtc() + 1;
    if (atc > MAX_ATC) raise("payment: ATC exhausted");
    const prev = head();
    const p = prepared;
    const ready = p !== null && p.order === o && p.atc === atc && p.prevHash === prev && result === RESULT_AUTHORIZED;
    const entry = ready ? p!.entry : /*#__NOINLINE__*/ encodeEntry(atc, result, o);
    store.appendEntry(atc, prev, entry);
    cachedHead = ready ? p!.head : chainNext(sha256, prev, entry);
    return atc;
  }

  // HMAC(K_pv, V)[0:16]: the MAC the platform's verdict must carry (PROTOCOL.md §7.5). K_ac is stored
  // wrapped under MK (under the device secret). The signer (K_ac's pads) and the verdict key's pads
  // live in RAM until power-off or a wipe (SECURITY.md §7). Two call sites of
  // createCryptogramSigner (here and in cryptogram()): with one, terser inlines it with its vars
  // after the return, which the hoisting gate rejects.
  function verdictMac(v: PayArgs): string {
    if (signer === null) signer = createCryptogramSigner(deps.prims, carrier.unwrapKey(store.keys()!.wrappedCryptogramKey));
    if (verdictPads === null) verdictPads = hmacPads(signer.derive(VERDICT_KEY_LABEL));
    return hmacSha256(deps.prims, verdictPads, /*#__NOINLINE__*/ verdictMessage({
      carrierId: store.keys()!.carrierId, binding: v.binding, orderId: v.orderId, merchantId: v.merchantId,
      amount: v.amount, currency: v.currency, verdict: v.verdict, triesLeft: v.triesLeft,
    })).substr(0, VERDICT_MAC_BYTES);
  }

  // Runs from a timer the PAY request leaves behind, while the LEDs ask the user: the verdict's
  // expected MAC, the cryptogram for the ATC the commit will take (or the earlier authorization's),
  // the log entry and the chain hash after it. None depends on the decision, and none leaves the
  // carrier unless the authorization it belongs to is committed (settle). Each is used only if it
  // still matches at the press, else computed there as before; a failure here leaves it to the press.
  function prepare(): void {
    const o = pending;
    if (o === null || prepared !== null) return;
    try {
      const atc = pendingAtc !== 0 ? pendingAtc : store.lastAtc() + 1;
      const prev = head();
      const entry = /*#__NOINLINE__*/ encodeEntry(atc, RESULT_AUTHORIZED, o);
      prepared = {
        order: o, expectedMac: verdictMac(o), atc: atc, cryptogram: /*#__NOINLINE__*/ cryptogram(o, atc), prevHash: prev, entry: entry,
        head: chainNext(sha256, prev, entry),
      };
    } catch (e) {
      prepared = null;
    }
  }

  // What countVerdict's judge returns: the verdict if its MAC is the platform's, else VERDICT_FORGED.
  // Runs after the try is spent (carrier.countVerdict), whether or not the expected MAC was prepared.
  function judge(v: PayArgs): number {
    const p = prepared;
    const expected = p !== null && p.order === v ? p.expectedMac : /*#__NOINLINE__*/ verdictMac(v);
    return blindedEqual(deps.prims, expected, v.mac) ? v.verdict : VERDICT_FORGED;
  }

  function cryptogram(o: Order, atc: number): string {
    const k = store.keys()!;
    if (signer === null) signer = createCryptogramSigner(deps.prims, carrier.unwrapKey(k.wrappedCryptogramKey));
    return signer.sign({ carrierId: k.carrierId, orderId: o.orderId, merchantId: o.merchantId, amount: o.amount, currency: o.currency, atc: atc });
  }

  // {1: atc, 2: cryptogram (16 B), 3: log head (32 B)} spliced as canonical CBOR (keys ascending,
  // shortest heads), without the generic encoder's statements.
  function authorized(o: Order, atc: number): CommandResult {
    const p = prepared;
    const c = p !== null && p.order === o && p.atc === atc ? p.cryptogram : /*#__NOINLINE__*/ cryptogram(o, atc);
    return okRaw("\xa3\x01" + cborHead(0, atc) + "\x02\x50" + c + "\x03\x58\x20" + head());
  }

  const personalisedOnly = 1 << STATE_PERSONALISED;

  // What the user's decision leads to (runs in the button or timer callback that decided).
  function settle(o: PayArgs, earlier: number, decision: number): CommandResult {
    if (decision !== DECISION_CONFIRMED) {
      // A full store must not turn the user's "no" into INTERNAL: nothing is authorized either way.
      try {
        appendEntry(RESULT_DECLINED, o);
      } catch (e) {
        if (!isStoreFull(e)) throw e;
        return refuse(STATUS_PAY_DECLINED, "declined, not logged: " + e.reason);
      }
      return refuse(STATUS_PAY_DECLINED, "declined");
    }
    const v = carrier.countVerdict(function () {
      return judge(o);
    });
    if (afterPinCheck !== undefined) afterPinCheck();
    if (v.status !== STATUS_OK) {
      if (v.status !== STATUS_PIN_WRONG && v.status !== STATUS_PIN_VERDICT_BAD) return v;
      const f: CborMap = {};
      // the fewer of the carrier's own tries and the issuer's (an authentic WRONG says the latter)
      const left = v.status === STATUS_PIN_WRONG && o.triesLeft < v.triesLeft ? o.triesLeft : v.triesLeft;
      f[2] = left;
      return refuse(v.status, v.status === STATUS_PIN_WRONG ? left + " tries left" : v.detail, f);
    }
    let atc = earlier;
    if (atc === 0) {
      try {
        atc = appendEntry(RESULT_AUTHORIZED, o);
      } catch (e) {
        if (!isStoreFull(e)) throw e;
        return refuse(STATUS_STORAGE_FULL, e.reason);
      }
    }
    return authorized(o, atc);
  }

  function decided(decision: number): void {
    const o = pending;
    const late = pendingLate;
    pending = null;
    pendingLate = null;
    if (o === null || late === null) return;
    let result: CommandResult;
    try {
      result = settle(o, pendingAtc, decision);
    } catch (e) {
      result = refuse(STATUS_INTERNAL, "failed");
    }
    prepared = null;
    try {
      late(result);
    } catch (e) {
      // runs in a button or timer callback: nothing may escape into Espruino's event loop
    }
  }

  function cancel(): void {
    const late = pendingLate;
    pending = null;
    pendingLate = null;
    prepared = null;
    ui.reset();
    if (late !== null) late(null);
  }

  // A well-formed PAY: answered at once, or the trusted UI asks and the reply is deferred.
  function begin(o: PayArgs, late: LateResult): CommandResult {
    const k = store.keys();
    if (k === undefined) raise("payment: no keys");
    if (o.amount > k.maxAmount) return refuse(STATUS_PAY_OVER_LIMIT, "limit " + k.maxAmount);
    if (pending !== null) return refuse(STATUS_BUSY, PAY_WAITS);
    const wait = carrier.retryAfterMs();
    if (wait > 0) return refuse(STATUS_BUSY, lockedOut(wait));
    const earlier = earlierAtc(store.entries(), o);
    if (earlier < 0) return refuse(STATUS_PAY_ORDER_CHANGED, "order changed");
    pendingAtc = earlier;
    o.binding = deps.verdictBinding();
    pending = o;
    pendingLate = late;
    prepared = null;
    ui.ask(amountClass(o.amount), decided, o);
    if (deps.setTimer !== undefined) deps.setTimer(prepare, 0);
    return DEFERRED;
  }

  const pay: Command = {
    id: CMD_PAY, allowedStates: personalisedOnly,
    runRaw: function (body: string, late: LateResult) {
      const o = /*#__NOINLINE__*/ readPay(body);
      return o === undefined ? undefined : begin(o, late);
    },
    // Only bodies readPay() refused get here, once the dispatcher decoded them: a well-formed map
    // that is not a valid PAY (a field missing, unknown, of the wrong type or out of range).
    run: badFields,
  };

  const logRead: Command = {
    id: CMD_LOG_READ, allowedStates: personalisedOnly, fields: 1,
    run: function (args: CborMap) {
      const skip = args[1] === undefined ? 0 : uintArg(args[1], 0);
      if (skip === undefined) return refuse(STATUS_BAD_ARGUMENT, "bad skip");
      const e = store.entries();
      let end = e.length - skip;
      if (end < 0) end = 0;
      let start = end;
      let bytes = 0;
      while (start > 0 && bytes + e[start - 1]!.entry.length + 2 <= LOG_READ_MAX_BYTES) {
        bytes += e[start - 1]!.entry.length + 2;
        start--;
      }
      const list: CborValue[] = [];
      for (let i = start; i < end; i++) list.push(e[i]!.entry);
      const m: CborMap = {};
      m[1] = list;
      m[2] = start < e.length ? e[start]!.prevHash : head();
      m[3] = end === e.length ? head() : e[end]!.prevHash;
      m[4] = e.length;
      return ok(m);
    },
  };

  return {
    commands: function () {
      return [pay, logRead];
    },
    head: head,
    reset: function () {
      cancel();
      signer = null;
      verdictPads = null;
      cachedHead = null;
    },
    cancel: cancel,
  };
}
