// The peer payment applet (PROTOCOL.md §12, docs/PEER.md): two OUTER commands, each answered only
// after the user decided on this carrier's trusted UI (a deferred reply, PROTOCOL.md §8).
//   PEER_REQUEST (payee): {1: amount, 2: currency, 3: expiry} → the user confirms → a fresh nonce,
//     the request R in clear (for the payer) and R sealed to the platform under K_peer.
//   PEER_PAY (payer): {1: R} → checked at once (layout, own request, limit, lockout, an earlier
//     instruction for it) → the user confirms → ATC + log entry committed in one record → only then
//     the instruction I (payer, SHA-256(R), amount, currency, ATC) sealed to the platform.
// The PIN is checked by the platform AFTER the instruction exists (docs/PEER.md §4): the carrier
// holds no PIN material and no verdict reaches it here. Outer because nothing here needs the
// platform's channel end: each seal is end-to-end to the platform, whichever host carries it.
// Idempotent like PAY: an R already instructed (its digest among the kept log entries) gets the same
// ATC and the same sealed instruction again, never a second one. Nothing is written before the
// user decided, and the payee's carrier writes nothing at all.
// Module-level state, one applet per bundle (KC_PEER): memory is counted in JsVars.
import { bytesArg, DEFERRED, okRaw, PAY_WAITS, refuse, textArg, uintArg, type Command, type CommandResult, type LateResult } from "../dispatch.ts";
import { bytesItem, head as cborHead, type CborMap } from "../codec.ts";
import { STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_INTERNAL } from "../protocol.ts";
import { STATUS_STORAGE_FULL } from "../security/status.ts";
import { lockedOut } from "../security/pin.ts";
import { hmacPads, hmacSha256, type CryptoPrimitives, type HmacPads } from "../crypto/primitives.ts";
import { isStoreFull } from "../store/ports.ts";
import { u32be } from "../store/bytes.ts";
import type { Carrier } from "../security/carrier.ts";
import type { AppStore } from "../perso/app-store.ts";
import { amountClass, DECISION_CONFIRMED, DECISION_PENDING } from "../ui/confirm.ts";
import { chainNext, earlierAtc, encodeEntry, RESULT_AUTHORIZED, ZERO_HASH, type Order } from "../applets/tx-log.ts";
import {
  instructionBytes, KIND_INSTRUCTION, KIND_REQUEST, MAX_PARTY_ID, NONCE_BYTES, PEER_KEY_LABEL, parseRequest, requestBytes, seal,
} from "./messages.ts";

export const CMD_PEER_REQUEST = 0x58;
export const CMD_PEER_PAY = 0x59;
export const STATUS_PEER_DECLINED = 0x58;
export const STATUS_PEER_BAD_REQUEST = 0x59;
export const STATUS_PEER_OWN_REQUEST = 0x5a;
// shared with PAY (PROTOCOL.md §6)
const STATUS_PAY_OVER_LIMIT = 0x43;
const STATUS_PAY_ORDER_CHANGED = 0x44;
const MAX_ATC = 4294967295;
const MAX_EXPIRY = 4294967295;
const DIGEST_IN_LOG = 16;

export interface PeerDeps {
  carrier: Carrier;
  store: AppStore;
  prims: CryptoPrimitives;
  // the trusted UI's own ask (not a wrapper that abandons this applet) and its state
  ask(amountClass: number, onDecision: (decision: number) => void): void;
  decision(): number;
  // after this applet appended a log entry: the QR applet's RAM head must be re-read (main.ts)
  afterAppend(): void;
}

let deps: PeerDeps | null = null;
// The decision waiting for the user: 0 none, else KIND_REQUEST / KIND_INSTRUCTION.
let pendingKind = 0;
let pendingLate: LateResult | null = null;
let pendingAmount = 0;
let pendingCurrency = "";
let pendingExpiry = 0;
// PEER_PAY: the digest of R, the payee id, the ATC of an earlier instruction for it (0: none)
let pendingDigest = "";
let pendingPayee = "";
let pendingEarlier = 0;
// HMAC pads of K_peer: derived from K_ac once (two pads loops), kept for the wrapped K_ac they came
// from (a carrier wiped and personalised again has another).
let peerPads: HmacPads | null = null;
let padsOf = "";

function clearPending(): void {
  pendingKind = 0;
  pendingLate = null;
  pendingDigest = "";
  pendingPayee = "";
}

// A peer decision is dropped (a PAY taking the trusted UI, the NFC field going, a wipe: main.ts):
// nothing was written; the request gets no reply (late(null)), as PAY's abandonment (§7.5).
// A no-op when nothing waits (also while a decided one is being completed: its late is taken).
export function peerAbandon(): void {
  const late = pendingLate;
  if (late === null) return;
  clearPending();
  late(null);
}

function keyPads(d: PeerDeps): HmacPads {
  const wrapped = d.store.keys()!.wrappedCryptogramKey;
  if (peerPads === null || padsOf !== wrapped) {
    peerPads = hmacPads(hmacSha256(d.prims, hmacPads(d.carrier.unwrapKey(wrapped)), PEER_KEY_LABEL));
    padsOf = wrapped;
  }
  return peerPads;
}

function logHead(d: PeerDeps): string {
  const e = d.store.entries();
  return e.length === 0 ? ZERO_HASH : chainNext(d.prims.sha256, e[e.length - 1]!.prevHash, e[e.length - 1]!.entry);
}

function pendingOrder(): Order {
  return { orderId: pendingDigest.substr(0, DIGEST_IN_LOG), merchantId: pendingPayee, amount: pendingAmount, currency: pendingCurrency };
}


// The payee confirmed: {1: R, 2: R sealed to the platform} as canonical CBOR.
function makeRequest(d: PeerDeps): CommandResult {
  const cid = d.store.keys()!.carrierId;
  const nonce = d.prims.random(NONCE_BYTES);
  const r = requestBytes({ payeeId: cid, amount: pendingAmount, currency: pendingCurrency, expiry: pendingExpiry, nonce: nonce });
  return okRaw("\xa2\x01" + bytesItem(r) + "\x02" + bytesItem(seal(d.prims, keyPads(d), KIND_REQUEST, cid, nonce, r)));
}

// The payer confirmed: ATC and log entry in one durable record, then the sealed instruction.
function makeInstruction(d: PeerDeps): CommandResult {
  const cid = d.store.keys()!.carrierId;
  const o = pendingOrder();
  const digest = pendingDigest;
  let atc = pendingEarlier;
  if (atc === 0) {
    atc = d.store.lastAtc() + 1;
    if (atc > MAX_ATC) return refuse(STATUS_INTERNAL, "ATC exhausted");
    d.store.appendEntry(atc, logHead(d), encodeEntry(atc, RESULT_AUTHORIZED, o));
    d.afterAppend();
  }
  const sealed = seal(d.prims, keyPads(d), KIND_INSTRUCTION, cid, u32be(atc), instructionBytes(cid, digest, o.amount, o.currency, atc));
  return okRaw("\xa3\x01" + cborHead(0, atc) + "\x02" + bytesItem(sealed) + "\x03\x58\x20" + logHead(d));
}

// Runs in the button or timer callback that decided: nothing may escape into the event loop.
// The decision is taken off `pending` first: an abandon during the work (afterAppend resets the UI)
// must not drop the reply being made.
function peerDecided(decision: number): void {
  const late = pendingLate;
  const kind = pendingKind;
  const d = deps;
  pendingLate = null;
  pendingKind = 0;
  if (late === null || d === null) return;
  let result: CommandResult;
  try {
    if (decision !== DECISION_CONFIRMED) result = refuse(STATUS_PEER_DECLINED, "declined");
    else result = kind === KIND_REQUEST ? makeRequest(d) : makeInstruction(d);
  } catch (e) {
    result = isStoreFull(e) ? refuse(STATUS_STORAGE_FULL, e.reason) : refuse(STATUS_INTERNAL, "failed");
  }
  clearPending();
  try {
    late(result);
  } catch (e) {
    // nothing escapes a button callback
  }
}

// Waits for the user; pending fields are set by the caller after this returns (the listener is
// never called from inside ask()).
function waitForUser(d: PeerDeps, kind: number, amount: number, currency: string, late: LateResult): CommandResult {
  d.ask(amountClass(amount), peerDecided);
  pendingKind = kind;
  pendingLate = late;
  pendingAmount = amount;
  pendingCurrency = currency;
  return DEFERRED;
}

// BUSY while any decision waits (this applet's or PAY's), or in the lockout window after bad verdicts.
function busy(d: PeerDeps): CommandResult | null {
  if (pendingKind !== 0 || d.decision() === DECISION_PENDING) return refuse(STATUS_BUSY, PAY_WAITS);
  const wait = d.carrier.retryAfterMs();
  return wait > 0 ? refuse(STATUS_BUSY, lockedOut(wait)) : null;
}

function runRequest(args: CborMap, _body: string, late: LateResult): CommandResult {
  const d = deps!;
  const amount = uintArg(args[1], 1);
  const currency = textArg(args[2]);
  const expiry = uintArg(args[3], 1);
  if (amount === undefined || currency === undefined || !/^[A-Z][A-Z][A-Z]$/.test(currency) || expiry === undefined || expiry > MAX_EXPIRY) {
    return refuse(STATUS_BAD_ARGUMENT, "bad request fields");
  }
  const k = d.store.keys()!;
  if (k.carrierId.length > MAX_PARTY_ID) return refuse(STATUS_PEER_BAD_REQUEST, "carrier id over " + MAX_PARTY_ID + " B");
  const b = busy(d);
  if (b !== null) return b;
  const r = waitForUser(d, KIND_REQUEST, amount, currency, late);
  pendingExpiry = expiry;
  return r;
}

function runPay(args: CborMap, _body: string, late: LateResult): CommandResult {
  const d = deps!;
  const r = bytesArg(args[1], 1, 64);
  const req = r === undefined ? undefined : parseRequest(r);
  if (req === undefined) return refuse(STATUS_PEER_BAD_REQUEST, "not a peer request");
  const k = d.store.keys()!;
  if (req.payeeId === k.carrierId) return refuse(STATUS_PEER_OWN_REQUEST, "own request");
  if (req.amount > k.maxAmount) return refuse(STATUS_PAY_OVER_LIMIT, "limit " + k.maxAmount);
  const b = busy(d);
  if (b !== null) return b;
  const digest = d.prims.sha256(r!);
  const earlier = earlierAtc(d.store.entries(), { orderId: digest.substr(0, DIGEST_IN_LOG), merchantId: req.payeeId, amount: req.amount, currency: req.currency });
  if (earlier < 0) return refuse(STATUS_PAY_ORDER_CHANGED, "order changed");
  const result = waitForUser(d, KIND_INSTRUCTION, req.amount, req.currency, late);
  pendingDigest = digest;
  pendingPayee = req.payeeId;
  pendingEarlier = earlier;
  return result;
}

// The applet's two commands, outer, PERSONALISED only. Call once per boot (main.ts, KC_PEER).
export function peerCommands(d: PeerDeps): Command[] {
  deps = d;
  clearPending();
  peerPads = null;
  padsOf = "";
  const personalisedOnly = 1 << STATE_PERSONALISED;
  return [
    { id: CMD_PEER_REQUEST, allowedStates: personalisedOnly, fields: 3, run: runRequest },
    { id: CMD_PEER_PAY, allowedStates: personalisedOnly, fields: 1, run: runPay },
  ];
}
