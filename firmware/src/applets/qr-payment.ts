// The QR-payment authorization applet (PROTOCOL.md §7.5, §7.6): PAY_BEGIN and PAY_AUTHORIZE run
// inside the secure channel; LOG_READ is an outer command. Order of durable effects per
// authorization: PIN try (carrier.verifyPin: spent before the comparison) → one record holding the
// new ATC and its log entry → only then the cryptogram. An order already authorized (found in the
// kept log) is answered with its original ATC and cryptogram: never a second authorization.
import { ok, refuse, refuseWith, unknownField, type Command } from "../dispatch.ts";
import { isText, type CborMap, type CborValue } from "../codec.ts";
import { STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";
import { STATUS_PIN_WRONG, STATUS_STORAGE_FULL } from "../security/status.ts";
import { isStoreFull } from "../store/ports.ts";
import type { Carrier } from "../security/carrier.ts";
import { createCryptogramSigner, type CryptogramSigner } from "../channel/cryptogram.ts";
import type { CryptoPrimitives } from "../crypto/primitives.ts";
import type { AppStore } from "../perso/app-store.ts";
import { amountClass, CONFIRM_TIMEOUT_MS, DECISION_CONFIRMED, DECISION_DECLINED, DECISION_PENDING, type TrustedUi } from "../ui/confirm.ts";
import {
  chainNext, encodeEntry, entryOrderKey, entryResult, orderKey, RESULT_AUTHORIZED, RESULT_DECLINED, ZERO_HASH, type Order,
} from "./tx-log.ts";
import { raise } from "../raise.ts";

export const CMD_PAY_BEGIN = 0x40;
export const CMD_PAY_AUTHORIZE = 0x41;
export const CMD_LOG_READ = 0x42;
export const STATUS_PAY_PENDING = 0x40;
export const STATUS_PAY_DECLINED = 0x41;
export const STATUS_PAY_NO_ORDER = 0x42;
export const STATUS_PAY_OVER_LIMIT = 0x43;
export const LOG_READ_MAX_BYTES = 400;
const MAX_AMOUNT = 9007199254740991;
const MAX_ATC = 4294967295;

export interface PaymentDeps {
  carrier: Carrier;
  store: AppStore;
  ui: TrustedUi;
  prims: CryptoPrimitives;
}

export interface PaymentApplet {
  commands(): Command[];
  // hash after the newest kept entry (h_0 when the log is empty)
  head(): string;
  // forget RAM state (after a wipe)
  reset(): void;
}

// 16 bytes per id (the platform uses 12 and 4): LOG_RING entries plus the one a rotation is
// replacing must fit one 1,024-byte log file next to the keys record (perso/app-store.ts).
export const MAX_ID_BYTES = 16;

function idField(v: CborValue | undefined): string | undefined {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_ID_BYTES ? v : undefined;
}

function parseOrder(args: CborMap): Order | string {
  if (unknownField(args, [1, 2, 3, 4]) >= 0) return "PAY_BEGIN takes only fields 1-4";
  const orderId = idField(args[1]);
  const merchantId = idField(args[2]);
  if (orderId === undefined || merchantId === undefined) return "ids (1, 2) must be 1-" + MAX_ID_BYTES + " bytes";
  const amount = args[3];
  if (typeof amount !== "number" || amount < 0 || amount > MAX_AMOUNT || Math.floor(amount) !== amount) return "amount (3) must be an unsigned integer";
  const cur = args[4];
  if (cur === undefined || cur === null || !isText(cur) || !/^[A-Z][A-Z][A-Z]$/.test(cur.tstr)) return "currency (4) must be ISO 4217";
  return { orderId: orderId, merchantId: merchantId, amount: amount, currency: cur.tstr };
}

export function createPaymentApplet(deps: PaymentDeps): PaymentApplet {
  const carrier = deps.carrier;
  const store = deps.store;
  const ui = deps.ui;
  const sha256 = function (s: string): string { return deps.prims.sha256(s); };
  let pending: Order | null = null;
  let signer: CryptogramSigner | null = null;
  let cachedHead: string | null = null;

  function head(): string {
    if (cachedHead === null) {
      const e = store.entries();
      cachedHead = e.length === 0 ? ZERO_HASH : chainNext(sha256, e[e.length - 1]!.prevHash, e[e.length - 1]!.entry);
    }
    return cachedHead;
  }

  // One record = ATC + entry: the commit. Returns the new ATC.
  function appendEntry(result: number, o: Order): number {
    const atc = store.lastAtc() + 1;
    if (atc > MAX_ATC) raise("payment: ATC exhausted");
    const prev = head();
    const entry = encodeEntry(atc, result, o);
    store.appendEntry(atc, prev, entry);
    cachedHead = chainNext(sha256, prev, entry);
    return atc;
  }

  function cryptogram(o: Order, atc: number): string {
    const k = store.keys()!;
    // K_ac is stored wrapped under MK; the PIN verified just before unlocked MK. The signer (K_ac's
    // pads) then lives as long as MK does in RAM, until power-off or a wipe (SECURITY.md §7).
    if (signer === null) signer = createCryptogramSigner(deps.prims, carrier.unwrapKey(k.wrappedCryptogramKey));
    return signer.sign({ carrierId: k.carrierId, orderId: o.orderId, merchantId: o.merchantId, amount: o.amount, currency: o.currency, atc: atc });
  }

  function authorized(o: Order, atc: number): CborMap {
    const m: CborMap = {};
    m[1] = atc;
    m[2] = cryptogram(o, atc);
    m[3] = head();
    return m;
  }

  // The ATC of an earlier authorization of this order among the kept entries, or 0.
  function earlierAuthorization(o: Order): number {
    const key = orderKey(o);
    const e = store.entries();
    for (let i = e.length - 1; i >= 0; i--) {
      if (entryResult(e[i]!.entry) === RESULT_AUTHORIZED && entryOrderKey(e[i]!.entry) === key) return e[i]!.atc;
    }
    return 0;
  }

  const personalisedOnly = 1 << STATE_PERSONALISED;
  const begin: Command = {
    id: CMD_PAY_BEGIN, name: "PAY_BEGIN", allowedStates: personalisedOnly,
    run: function (args: CborMap) {
      const o = parseOrder(args);
      if (typeof o === "string") return refuse(STATUS_BAD_ARGUMENT, o);
      const k = store.keys();
      if (k === undefined) raise("payment: no keys record");
      if (o.amount > k.maxAmount) return refuse(STATUS_PAY_OVER_LIMIT, "amount over the limit of " + k.maxAmount);
      pending = o;
      const cls = amountClass(o.amount);
      ui.ask(cls);
      const m: CborMap = {};
      m[1] = CONFIRM_TIMEOUT_MS;
      m[2] = cls;
      return ok(m);
    },
  };

  const authorize: Command = {
    id: CMD_PAY_AUTHORIZE, name: "PAY_AUTHORIZE", allowedStates: personalisedOnly,
    run: function (args: CborMap) {
      if (unknownField(args, [1]) >= 0) return refuse(STATUS_BAD_ARGUMENT, "PAY_AUTHORIZE takes only field 1");
      const pin = args[1];
      if (pin === undefined || pin === null || !isText(pin)) return refuse(STATUS_BAD_ARGUMENT, "PIN (1) must be text");
      const o = pending;
      if (o === null) return refuse(STATUS_PAY_NO_ORDER, "no order: send PAY_BEGIN first");
      const d = ui.decision();
      if (d === DECISION_PENDING) return refuse(STATUS_PAY_PENDING, "waiting for the button");
      if (d === DECISION_DECLINED) {
        pending = null;
        ui.reset();
        appendEntry(RESULT_DECLINED, o);
        return refuse(STATUS_PAY_DECLINED, "declined on the carrier");
      }
      if (d !== DECISION_CONFIRMED) return refuse(STATUS_PAY_NO_ORDER, "order no longer shown");
      const v = carrier.verifyPin(pin.tstr);
      if (v.status !== STATUS_OK) {
        if (v.status === STATUS_PIN_WRONG) {
          const f: CborMap = {};
          f[2] = v.triesLeft;
          return refuseWith(v.status, v.detail, f);
        }
        if (carrier.state() !== STATE_PERSONALISED) {
          pending = null;
          ui.reset();
        }
        return refuse(v.status, v.detail);
      }
      pending = null;
      ui.reset();
      const earlier = earlierAuthorization(o);
      let atc = earlier;
      if (atc === 0) {
        try {
          atc = appendEntry(RESULT_AUTHORIZED, o);
        } catch (e) {
          if (!isStoreFull(e)) throw e;
          return refuse(STATUS_STORAGE_FULL, "storage full, nothing authorized: " + e.reason);
        }
      }
      return ok(authorized(o, atc));
    },
  };

  const logRead: Command = {
    id: CMD_LOG_READ, name: "LOG_READ", allowedStates: personalisedOnly,
    run: function (args: CborMap) {
      const skip = args[1] === undefined ? 0 : args[1];
      if (unknownField(args, [1]) >= 0 || typeof skip !== "number" || skip < 0 || Math.floor(skip) !== skip) return refuse(STATUS_BAD_ARGUMENT, "LOG_READ takes {} or {1: skip}");
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
      return [begin, authorize, logRead];
    },
    head: head,
    reset: function () {
      pending = null;
      signer = null;
      cachedHead = null;
      ui.reset();
    },
  };
}
