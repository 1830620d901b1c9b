// Model-based, fault-injected test of the deferred PAY (PROTOCOL.md §7.5, §8) on the RELEASE bundle:
// fast-check draws sequences of PAY (new or repeated order; right or wrong PIN, over the limit,
// malformed), the user's answer (short press, long press, silence), link faults (request lost, reply
// lost, frame duplicated, the last frame retransmitted at any time), forged sealed messages while PAY
// waits, LOG_READ, INFO, CHANNEL_CLOSE / reopen, reboots (some with a power cut at a random flash
// write of the decision) and the virtual clock moving (session lifetime). The host side is played
// frame by frame (raw frames on the board's USB, the platform's channel code, the reference
// platform), and after each step the carrier is checked against a small model (the invariants are
// listed in PROTOCOL.md §8; each check is a `this.fail(...)` below).
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Platform, PlatformError } from "../host/src/platform/service.ts";
import { PlatformChannel } from "../host/src/channel/session.ts";
import { computeAuthorizationCryptogram } from "../host/src/channel/keys.ts";
import { encodeFrame } from "../host/src/link.ts";
import { decodeCbor, encodeCbor, type CborMap } from "../host/src/codec.ts";
import {
  bytesOf, CarrierRig, CMD, enrolPin, hex, parseEntry, payOrderBody, ST, TEST_PIN_OPTIONS, transportIdentity, verifyLogPage, type Identity,
} from "../firmware/test/applets/carrier-harness.ts";
import { encryptPinBlock, PinPurpose, verdictMac } from "../host/src/platform/online-pin.ts";

/** A PIN block of the right PIN for a payment challenge of `platform`. */
function pinBlock(platform: Platform, carrierId: string, orderId: string): { challenge: string; pinBlock: string } {
  const c = platform.pinChallenge({ carrierId, orderId, purpose: "pay" });
  const b = encryptPinBlock(PIN, Buffer.from(c.publicKey, "hex"), { purpose: PinPurpose.PAY, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(orderId, "hex"), challenge: Buffer.from(c.challenge, "hex") });
  return { challenge: c.challenge, pinBlock: Buffer.from(b).toString("hex") };
}
import { splitResponses, type Response } from "./fuzz/frames.ts";
import { checkResponse } from "./fuzz/rig.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const LIMIT = 500_000;
const MAX_TRIES = 10;
const KEPT = 8;
const UI_TIMEOUT_MS = 30_000;
const LIFETIME_MS = 900_000;
const IDLE_MS = 120_000;
const MAX_REJECTED = 8;
// Virtual-time uncertainty around a boundary (when exactly a callback ran inside an advance).
const SLACK_MS = 200;
const ST_CHANNEL_NOT_OPEN = 0x30;

const RUNS = Number(process.env.KC_PAYFUZZ_RUNS ?? 500);
const SEED = process.env.KC_PAYFUZZ_SEED !== undefined ? Number(process.env.KC_PAYFUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;

// a failure prints its seed and path: KC_PAYFUZZ_SEED=… KC_PAYFUZZ_PATH=… replays exactly that sequence
const PATH = process.env.KC_PAYFUZZ_PATH;

type Fault = "none" | "drop-request" | "drop-reply" | "duplicate";
type PayKind = "ok" | "over" | "bad-pin" | "missing" | "bad-currency";
type Op =
  | { kind: "pay"; repeat: number | null; pin: "right" | "wrong"; what: PayKind; fault: Fault }
  | { kind: "press" } | { kind: "long" } | { kind: "silence" }
  | { kind: "retransmit"; fault: Fault }
  | { kind: "forged" } | { kind: "log" } | { kind: "info" } | { kind: "close" } | { kind: "reopen" }
  | { kind: "reboot"; cutAt: number | null; partial: "none" | "some-bits" }
  | { kind: "clock"; ms: number }
  | { kind: "age"; leftMs: number }
  | { kind: "churn"; count: number };

const faultArb = fc.constantFrom<Fault>("none", "none", "none", "drop-request", "drop-reply", "duplicate");
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("pay" as const), repeat: fc.option(fc.nat(20), { freq: 2 }), pin: fc.constantFrom("right" as const, "right" as const, "right" as const, "wrong" as const), what: fc.constantFrom<PayKind>("ok", "ok", "ok", "ok", "ok", "ok", "over", "bad-pin", "missing", "bad-currency"), fault: faultArb }) },
  { weight: 5, arbitrary: fc.constant({ kind: "press" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "long" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "silence" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("retransmit" as const), fault: faultArb }) },
  { weight: 2, arbitrary: fc.constant({ kind: "forged" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "log" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "info" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "close" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("reboot" as const), cutAt: fc.option(fc.nat(40), { freq: 2 }), partial: fc.constantFrom("none" as const, "some-bits" as const) }) },
  { weight: 2, arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((ms) => ({ kind: "clock" as const, ms })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }).map((leftMs) => ({ kind: "age" as const, leftMs })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: KEPT }).map((count) => ({ kind: "churn" as const, count })) },
);

interface OrderRec { hex: string; body: CborMap; fields: { orderId: string; merchantId: string; amount: number; currency: string }; seen?: { atc: number; ac: string } }
interface LogEntry { atc: number; result: number; orderHex: string }
interface SentFrame { seq: number; bytes: Uint8Array; key: string; sealed: boolean }
// What the carrier will answer the PAY it holds, fixed when the user decided.
interface Expected { outer: number[]; status?: number; atc?: number; triesLeft?: number; order: OrderRec }
interface Outstanding { frame: SentFrame; order: OrderRec; what: PayKind; pinRight: boolean; expected?: Expected; delivered?: boolean }

const totals = { sequences: 0, steps: 0, faults: 0, authorizations: 0, declines: 0, wrongPins: 0, repeatsAnswered: 0, cuts: 0, cutsFired: 0, lifetimeEnds: 0, lateLifetimeEnds: 0, repeatsDecided: 0, abandoned: 0, outOfWindowRepeats: 0, lateSettled: 0, busy: 0, cacheHits: 0, ignoredRepeats: 0 };

class PayWorld {
  rig!: CarrierRig;
  platform!: Platform;
  carrierId = "";
  identity!: Identity;
  merchantId = 0;
  cryptogramKey!: Uint8Array;
  out = "";
  transcriptSeen = 0;
  seq = 100;
  // model
  failures = 0;
  destroyed = false;
  atc = 0;
  log: LogEntry[] = [];
  orders: OrderRec[] = [];
  platformLastAtc = 0;
  readonly settledAtcs = new Set<number>();
  settled = new Set<string>();
  // host
  ch: PlatformChannel | null = null;
  // the carrier nonce of the session: the PIN verdicts of its PAYs are bound to it
  chNonce: Uint8Array = new Uint8Array(16);
  chOpenedAt = 0;
  chLastUsed = 0;
  chRejected = 0;
  outstanding: Outstanding | null = null;
  lastFrame: SentFrame | null = null;
  // board (as the model knows it)
  pending: { out: Outstanding; askFrom: number; askTo: number } | null = null;
  cache: { key: string; bytes: string } | null = null;
  framesBySeq = new Map<number, SentFrame>();
  trace: string[] = [];

  async setUp(): Promise<void> {
    this.platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
    this.carrierId = this.platform.issueCarrier().carrierId;
    const keys = this.platform.carrierKeys(this.carrierId);
    this.cryptogramKey = keys.cryptogramKey;
    this.merchantId = this.platform.registerMerchant({ name: "Corner Café" }).merchantId;
    this.identity = { carrierId: Buffer.from(this.carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey };
    this.rig = await CarrierRig.boot();
    const ch = await this.rig.openChannel(transportIdentity(this.rig.serial));
    const r = await this.rig.inner(ch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, this.identity.carrierId], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, LIMIT],
    ]));
    if (r.status !== ST.OK) throw new Error(`PERSONALISE: ${r.status}`);
    enrolPin(this.platform, this.carrierId, PIN);
    this.attach();
  }

  attach(): void {
    this.out = "";
    this.rig.board.usb.onData((b) => { this.out += Buffer.from(b).toString("latin1"); });
    this.transcriptSeen = this.rig.board.transcript().length;
  }

  dispose(): void {
    this.rig.board.dispose();
    this.platform.close();
  }

  note(s: string): void { this.trace.push(process.env.KC_PAYFUZZ_DEBUG ? `${this.rig.board.now()} ${s}` : s); }

  fail(msg: string): never {
    if (process.env.KC_PAYFUZZ_DEBUG) console.log(this.trace.join("\n"));
    throw new Error(`${msg}\n  trace: ${this.trace.slice(-25).join(" | ")}`);
  }

  // ───────────── the wire
  frame(code: number, body: CborMap, sealed = false): SentFrame {
    this.seq = (this.seq + 1) & 0xff;
    const bytes = encodeFrame({ version: 1, type: 0, seq: this.seq, code, body: encodeCbor(body) });
    const f = { seq: this.seq, bytes, key: hex(bytes), sealed };
    this.framesBySeq.set(f.seq, f);
    return f;
  }

  /**
   * A request is answered at the start of its delivery's advance; if the UI timeout fell inside
   * that advance, the request would see the state before the decline and the model the state after.
   * So a timeout that is due within `ms` happens first, and the request arrives after it.
   */
  timeoutFirst(ms = 20): void {
    if (!this.pending) return;
    const now = this.rig.board.now();
    if (now + ms >= this.pending.askFrom + UI_TIMEOUT_MS - 1) {
      this.advance(this.pending.askTo + UI_TIMEOUT_MS + 2 - now);
      this.handleLate(this.collect());
    }
  }

  /** Delivers (or loses) a frame and lets the board run `ms` virtual ms; returns the responses. */
  deliver(f: SentFrame, fault: Fault = "none", ms = 20): Response[] {
    if (f.sealed) this.lastFrame = f;
    if (fault !== "none") totals.faults++;
    if (fault !== "drop-request") {
      this.rig.board.usb.write(f.bytes);
      if (fault === "duplicate") this.rig.board.usb.write(f.bytes);
    }
    this.advance(ms);
    return this.collect();
  }

  /** Everything the carrier sent since the last call: every byte must be a well-formed response. */
  collect(): Response[] {
    let rs: Response[];
    try {
      rs = splitResponses(this.out);
      for (const r of rs) checkResponse(r);
    } catch (e) {
      this.fail(`unparseable output from the carrier: ${(e as Error).message}`);
    }
    this.out = "";
    this.checkTranscript();
    for (const r of rs) {
      const f = this.framesBySeq.get(r.seq);
      if (f) this.cache = { key: f.key, bytes: frameBytes(r) };
    }
    return rs;
  }

  checkTranscript(): void {
    const t = this.rig.board.transcript();
    const fresh = t.slice(this.transcriptSeen);
    this.transcriptSeen = t.length;
    for (const bad of ["Uncaught", "OUT OF MEMORY", "Not enough memory", "Unhandled"]) {
      if (fresh.includes(bad)) this.fail(`the board printed "${bad}": ${fresh.slice(0, 400)}`);
    }
  }

  /** Advances the board; a PAY waiting longer than the UI timeout is declined on the way. */
  advance(ms: number): void {
    if (this.pending) {
      const target = this.rig.board.now() + ms;
      const lo = this.pending.askFrom + UI_TIMEOUT_MS;
      const hi = this.pending.askTo + UI_TIMEOUT_MS;
      // never stop inside the window where the timeout may or may not have fired
      if (target >= lo - 1 && target <= hi + 1) ms += hi + 2 - target;
    }
    this.rig.board.advance(ms);
    if (this.pending && this.rig.board.now() > this.pending.askTo + UI_TIMEOUT_MS) {
      const p = this.pending;
      this.decide(p.out, "declined", p.askFrom + UI_TIMEOUT_MS, p.askTo + UI_TIMEOUT_MS + 1);
    }
  }

  /** One outer request answered at once (INFO, LOG_READ, OPEN, CONFIRM, CLOSE). */
  request(code: number, body: CborMap = new Map()): { status: number; body: CborMap } {
    this.timeoutFirst();
    const f = this.frame(code, body);
    const rs = this.deliver(f);
    this.handleLate(rs.filter((r) => r.seq !== f.seq));
    const mine = this.rsFor(f, rs);
    if (mine.length !== 1) this.fail(`outer ${code.toString(16)} seq ${f.seq}: ${mine.length} responses`);
    return { status: mine[0]!.status, body: decodeCbor(Buffer.from(mine[0]!.body, "latin1")) as CborMap };
  }

  rsFor(f: SentFrame, rs: Response[]): Response[] {
    return rs.filter((r) => r.seq === f.seq);
  }

  // ───────────── the channel
  openChannel(): void {
    this.abandonOnBoard();
    const ch = new PlatformChannel(this.identity);
    const open = this.request(CMD.OPEN, new Map([[1, ch.begin()]]));
    if (open.status !== 0) this.fail(`CHANNEL_OPEN ${open.status}`);
    const proof = ch.accept({ carrierId: open.body.get(1) as Uint8Array, carrierNonce: open.body.get(2) as Uint8Array, carrierProof: open.body.get(3) as Uint8Array });
    const confirm = this.request(CMD.CONFIRM, new Map([[1, proof]]));
    if (confirm.status !== 0) this.fail(`CHANNEL_CONFIRM ${confirm.status}`);
    this.ch = ch;
    this.chNonce = open.body.get(2) as Uint8Array;
    this.chOpenedAt = this.chLastUsed = this.rig.board.now();
    this.chRejected = 0;
    this.outstanding = null;
  }

  // OPEN/CONFIRM/CLOSE drop a waiting PAY: nothing written, never answered.
  abandonOnBoard(): void {
    if (this.pending) { this.note("abandoned"); totals.abandoned++; }
    this.pending = null;
  }

  /** Which outer statuses the model allows for an unwrap at a time in [from, to]. */
  unwrapAllows(from: number, to: number): { ok: boolean; closed: boolean } {
    const dead = (t: number) => t - this.chLastUsed > IDLE_MS || t - this.chOpenedAt > LIFETIME_MS;
    // ok: it may still have been alive at the earliest moment; closed: it may have ended by the latest
    return { ok: !dead(from - SLACK_MS), closed: dead(to + SLACK_MS) };
  }

  // ───────────── PAY
  newOrder(amount: number): OrderRec {
    const code = this.platform.issuePaymentCode({ merchantId: this.merchantId, amount, currency: "EUR" });
    const order = this.platform.createOrder({ code: code.code });
    const f = order.cryptogramFields;
    const body: CborMap = payOrderBody(f);
    // The online PIN step at the platform (so the order can settle); the verdicts the model puts in
    // its PAYs are MAC'd by the model itself (pay()), to drive the carrier's counter at will.
    const v = this.platform.verifyOrderPin({ orderId: f.orderId, carrierId: this.carrierId, ...pinBlock(this.platform, this.carrierId, f.orderId), sessionNonce: "00".repeat(16), requestCounter: 0 });
    if (v.verdict !== 0) throw new Error(`the platform refused the PIN (${v.verdict})`);
    const rec = { hex: f.orderId, body, fields: f };
    this.orders.push(rec);
    return rec;
  }

  pay(op: Extract<Op, { kind: "pay" }>): void {
    if (this.outstanding) return this.retransmit(op.fault);
    if (!this.ch) this.openChannel();
    const payable = this.orders.filter((x) => x.fields.amount <= LIMIT);
    // half the repeats pick an order the carrier authorized (the exactly-once case)
    const authorized = payable.filter((x) => this.log.some((e) => e.result === 1 && e.orderHex === x.hex));
    const pool = op.repeat !== null && op.repeat % 2 === 0 && authorized.length > 0 ? authorized : payable;
    const order = op.repeat !== null && payable.length > 0 && op.what === "ok" ? pool[Math.floor(op.repeat / 2) % pool.length]! : this.newOrder(op.what === "over" ? LIMIT + 1 : 100 + Math.floor(op.repeat ?? 7) * 1_111);
    const body = new Map(order.body);
    // The platform's verdict on the PIN (online PIN): the model is about the carrier's counter, so
    // the verdict claims more issuer tries (15) than the carrier has and its reply shows its own.
    // "bad-pin" is a malformed verdict (code 7), answered at once like a malformed PIN was.
    if (op.what !== "missing") {
      const verdict = op.what === "bad-pin" ? 7 : op.pin === "right" ? 0 : 1;
      const mac = verdictMac(this.cryptogramKey, {
        carrierId: this.identity.carrierId, sessionNonce: this.chNonce, requestCounter: this.ch!.nextCounter,
        orderId: body.get(1) as Uint8Array, merchantId: body.get(2) as Uint8Array, amount: body.get(3) as number, currency: body.get(4) as string,
        verdict: (verdict === 7 ? 0 : verdict) as 0 | 1, triesLeft: 15,
      });
      body.set(5, verdict);
      body.set(6, 15);
      body.set(7, mac);
    }
    if (op.what === "bad-currency") body.set(4, "eur");
    const inner = encodeCbor(body);
    const plain = new Uint8Array(1 + inner.length);
    plain[0] = CMD.PAY;
    plain.set(inner, 1);
    const f = this.frame(CMD.MESSAGE, new Map([[1, this.ch!.seal(plain)]]), true);
    this.outstanding = { frame: f, order, what: op.what, pinRight: op.pin === "right" };
    this.note(`pay ${op.what}${op.repeat !== null ? " repeat" : ""} ${op.pin} seq ${f.seq} ${op.fault}`);
    this.send(f, op.fault);
  }

  retransmit(fault: Fault): void {
    const f = this.outstanding?.frame ?? this.lastFrame;
    if (!f) return;
    this.note(`retransmit seq ${f.seq} ${fault}`);
    this.send(f, fault);
  }

  /** Delivers a frame the way the carrier's link must treat it (§8), and checks what came back. */
  send(f: SentFrame, fault: Fault): void {
    this.timeoutFirst();
    const before = this.rig.board.now();
    const pendingFrame = this.pending?.out.frame.key === f.key;
    const cached = this.cache?.key === f.key ? this.cache.bytes : null;
    const rs = this.deliver(f, fault);
    const after = this.rig.board.now();
    const mine = this.rsFor(f, rs);
    this.handleLate(rs.filter((r) => r.seq !== f.seq));
    if (fault === "drop-request") {
      if (mine.length) this.fail(`seq ${f.seq}: answered although the request was lost`);
      return;
    }
    const copies = fault === "duplicate" ? 2 : 1;
    if (pendingFrame) {
      if (mine.length) this.fail(`seq ${f.seq}: a retransmission of the waiting PAY was answered`);
      totals.ignoredRepeats += copies;
      return;
    }
    if (cached !== null) {
      totals.cacheHits++;
      if (mine.length !== copies || mine.some((r) => frameBytes(r) !== cached)) this.fail(`seq ${f.seq}: a cached request was not answered byte for byte from the cache (${mine.length} responses)`);
      this.hostReceives(f, mine[0]!, fault);
      return;
    }
    // executed now
    const o = this.outstanding?.frame.key === f.key ? this.outstanding : null;
    if (o?.delivered) {
      // executed before and its reply is no longer cached (another request replaced it): the
      // channel refuses it as a replay; the host reopens and asks again (§7.5 rule 3 makes that safe)
      if (mine.length !== copies || mine[0]!.status === 0) this.fail(`seq ${f.seq}: a PAY executed before was re-executed with status ${mine[0]?.status}`);
      this.countRejection(mine[0]!, before, after);
      this.note(`seq ${f.seq} re-executed: ${mine[0]!.status}`);
      this.outstanding = null;
      this.ch = null;
      return;
    }
    if (o) o.delivered = true;
    if (o && mine.length === 0) {
      // deferred: PAY waits for the user
      if (o.what !== "ok") this.fail(`seq ${f.seq}: a PAY checked at once (${o.what}) was deferred`);
      if (this.pending) this.fail(`seq ${f.seq}: a second PAY was deferred`);
      this.note(`deferred seq ${f.seq}`);
      if (this.destroyed) this.fail("a destroyed carrier deferred a PAY");
      if (!this.unwrapAllows(before, after).ok) this.fail(`seq ${f.seq}: PAY was unwrapped in an ended session`);
      this.chLastUsed = after;
      this.chRejected = 0;
      this.pending = { out: o, askFrom: before, askTo: after };
      if (this.rig.board.leds()[0] !== true) this.fail(`seq ${f.seq}: PAY waits but LED1 is off`);
      return;
    }
    if (mine.length !== copies) this.fail(`seq ${f.seq}: ${mine.length} responses to ${copies} copies`);
    if (copies === 2 && frameBytes(mine[0]!) !== frameBytes(mine[1]!)) this.fail(`seq ${f.seq}: a duplicated request was answered twice differently`);
    if (!o) {
      // an old frame executed again: a replay the channel refuses (or a new session ignores)
      if (f.sealed && mine[0]!.status === 0) this.fail(`seq ${f.seq}: a replayed sealed frame was accepted`);
      this.countRejection(mine[0]!, before, after);
      return;
    }
    // a PAY answered at once
    const allows = this.unwrapAllows(before, after);
    if (mine[0]!.status === ST_CHANNEL_NOT_OPEN) {
      if (!allows.closed) this.fail(`seq ${f.seq}: CHANNEL_NOT_OPEN in a live session`);
      totals.lifetimeEnds++;
      this.ch = null;
      this.outstanding = null;
      return;
    }
    if (!allows.ok) this.fail(`seq ${f.seq}: outer ${mine[0]!.status} in a session that had ended`);
    this.chLastUsed = after;
    this.chRejected = 0;
    o.expected = { outer: [0], status: o.what === "over" ? ST.PAY_OVER_LIMIT : o.what === "bad-pin" ? ST.BAD_ARGUMENT : o.what === "ok" ? ST.BUSY : ST.BAD_ARGUMENT, order: o.order };
    if (o.what === "ok" && this.failures <= 2) this.fail(`seq ${f.seq}: PAY answered at once without a lockout (${this.failures} failures)`);
    this.hostReceives(f, mine[0]!, fault);
  }

  countRejection(r: Response, before: number, after: number): void {
    const detail = String((decodeCbor(Buffer.from(r.body, "latin1")) as CborMap).get(1) ?? "");
    if (r.status === ST.BAD_MAC || r.status === ST.BAD_COUNTER) {
      if (this.ch && this.unwrapAllows(before, after).ok) this.chRejected++;
      if (detail.includes("session closed")) {
        if (this.chRejected < MAX_REJECTED) this.fail(`session closed after ${this.chRejected} rejected frames`);
        this.ch = null;
        this.outstanding = null;
      }
    }
  }

  /** Late replies that arrive during other steps (a press, the timeout, another request). */
  handleLate(rs: Response[]): void {
    for (const r of rs) {
      const o = this.outstanding;
      if (o && r.seq === o.frame.seq) this.hostReceives(o.frame, r, "none");
    }
  }

  /** The host got a reply to its outstanding PAY (unless the reply was lost on the wire). */
  hostReceives(f: SentFrame, r: Response, fault: Fault): void {
    const o = this.outstanding;
    if (!o || o.frame.key !== f.key) return; // a reply to something the host no longer waits for
    if (fault === "drop-reply") { this.note(`reply seq ${f.seq} lost`); return; }
    const e = o.expected;
    if (!e) this.fail(`seq ${f.seq}: a reply came before the user decided`);
    this.outstanding = null;
    if (!e.outer.includes(r.status)) this.fail(`seq ${f.seq}: outer ${r.status}, model allows [${e.outer}]`);
    if (r.status === ST_CHANNEL_NOT_OPEN) { totals.lateLifetimeEnds++; this.ch = null; return; }
    const plain = this.ch!.open(bytesOf((decodeCbor(Buffer.from(r.body, "latin1")) as CborMap).get(1)));
    const status = plain[0]!;
    const body = decodeCbor(plain.subarray(1)) as CborMap;
    this.note(`reply seq ${f.seq} status ${status.toString(16)}`);
    if (e.status === ST.BUSY && o.what === "ok") {
      if (status !== ST.BUSY || !/retry after/.test(String(body.get(1)))) this.fail(`expected the lockout BUSY, got ${status}`);
      totals.busy++;
      return;
    }
    if (status !== e.status) this.fail(`seq ${f.seq}: inner status ${status.toString(16)} (${String(body.get(1))}), model expects ${e.status?.toString(16)}`);
    if (status === ST.PIN_WRONG && body.get(2) !== e.triesLeft) this.fail(`tries left ${String(body.get(2))}, model ${e.triesLeft}`);
    if (status === ST.PIN_BLOCKED) { this.ch = null; return; }
    if (status !== ST.OK) return;
    const atc = body.get(1) as number;
    const ac = hex(bytesOf(body.get(2)));
    if (atc !== e.atc) this.fail(`ATC ${atc}, model ${e.atc}`);
    const fields = e.order.fields;
    const want = hex(computeAuthorizationCryptogram(this.cryptogramKey, { carrierId: this.identity.carrierId, orderId: Buffer.from(fields.orderId, "hex"), merchantId: Buffer.from(fields.merchantId, "hex"), amount: fields.amount, currency: fields.currency, atc }));
    if (ac !== want) this.fail(`cryptogram for ATC ${atc} does not verify`);
    const seen = e.order.seen;
    if (seen && (seen.atc !== atc || seen.ac !== ac)) {
      // only an order whose authorization left the kept window can be authorized again (§7.5 rule 3)
      const inWindow = this.log.slice(-KEPT).some((x) => x.result === 1 && x.orderHex === e.order.hex && x.atc === seen.atc);
      if (inWindow) this.fail(`order ${e.order.hex}: two authorizations (ATC ${seen.atc} and ${atc})`);
    }
    if (seen && seen.atc === atc) totals.repeatsAnswered++;
    e.order.seen = { atc, ac };
    this.settle(e.order, atc, ac);
  }

  /** Every authorization the host saw goes to the platform; an order settles once. */
  settle(order: OrderRec, atc: number, ac: string): void {
    const req = { orderId: order.hex, carrierId: this.carrierId, atc, cryptogram: ac };
    try {
      this.platform.authorize(req);
      if (this.settled.has(order.hex)) this.fail(`order ${order.hex} settled twice`);
      if (this.settledAtcs.has(atc)) this.fail(`platform accepted ATC ${atc} a second time`);
      if (atc < this.platformLastAtc) totals.lateSettled++; // a repeated order's original ATC, below a newer one
      this.settled.add(order.hex);
      this.settledAtcs.add(atc);
      if (atc > this.platformLastAtc) this.platformLastAtc = atc;
      totals.authorizations++;
    } catch (err) {
      if (!(err instanceof PlatformError)) throw err;
      const fine = (err.reason === "replayed" && this.settled.has(order.hex)) || (err.reason === "atc-replayed" && this.settledAtcs.has(atc)) || (err.reason === "order-already-authorized" && this.settled.has(order.hex));
      if (!fine) this.fail(`platform refused ATC ${atc} for ${order.hex}: ${err.reason} ${err.message}`);
    }
  }

  // ───────────── the user's decision
  decide(o: Outstanding, how: "confirmed" | "declined", from: number, to: number): void {
    this.pending = null;
    const chAlive = this.unwrapAllows(from, to);
    // a late reply in a session that reached its lifetime is CHANNEL_NOT_OPEN (§7.5); idle cannot end it
    const outer = [...(chAlive.ok ? [0] : []), ...(chAlive.closed ? [ST_CHANNEL_NOT_OPEN] : [])];
    const e: Expected = { outer, order: o.order };
    if (how === "declined") {
      this.atc++;
      this.log.push({ atc: this.atc, result: 0, orderHex: o.order.hex });
      e.status = ST.PAY_DECLINED;
      totals.declines++;
    } else if (!o.pinRight) {
      this.failures++;
      totals.wrongPins++;
      if (this.failures >= MAX_TRIES) {
        e.status = ST.PIN_BLOCKED;
        this.destroyed = true;
      } else {
        e.status = ST.PIN_WRONG;
        e.triesLeft = MAX_TRIES - this.failures;
      }
    } else {
      this.failures = 0;
      const earlier = [...this.log.slice(-KEPT)].reverse().find((x) => x.result === 1 && x.orderHex === o.order.hex);
      if (earlier) { e.atc = earlier.atc; totals.repeatsDecided++; }
      else {
        // authorized before but no longer among the kept entries: authorized again (§7.5 rule 3 only
        // looks at the kept log); the platform then refuses the second one
        if (this.log.some((x) => x.result === 1 && x.orderHex === o.order.hex)) totals.outOfWindowRepeats++;
        this.atc++;
        this.log.push({ atc: this.atc, result: 1, orderHex: o.order.hex });
        e.atc = this.atc;
      }
      e.status = ST.OK;
    }
    o.expected = e;
    this.note(`decided ${how} → ${e.status?.toString(16)}`);
  }

  userAnswers(how: "press" | "long" | "silence"): void {
    // a press still held when the UI times out is too late: the timeout decides first
    if (how !== "silence") this.timeoutFirst((how === "press" ? 120 : 1_500) + SLACK_MS);
    const p = this.pending;
    const t0 = this.rig.board.now();
    if (how === "silence") {
      this.advance(UI_TIMEOUT_MS + 1_000);
    } else {
      const hold = how === "press" ? 120 : 1_500;
      this.rig.board.clickButton(1, hold);
      if (p) this.decide(p.out, how === "press" ? "confirmed" : "declined", t0, t0 + hold + SLACK_MS);
      this.advance(hold + 500);
    }
    const rs = this.collect();
    if (p && this.rig.board.leds()[0] !== false) this.fail("LED1 still on after the decision");
    if (!p && rs.length) this.fail(`${how} with nothing waiting produced ${rs.length} responses`);
    if (p) {
      const late = rs.filter((r) => r.seq === p.out.frame.seq);
      if (late.length !== 1) this.fail(`the decided PAY sent ${late.length} late replies`);
    }
    this.handleLate(rs);
  }

  // ───────────── other steps
  forged(): void {
    this.timeoutFirst();
    const f = this.frame(CMD.MESSAGE, new Map([[1, Uint8Array.from({ length: 60 }, (_, k) => (k * 13 + this.seq) & 0xff)]]), true);
    const before = this.rig.board.now();
    const rs = this.deliver(f);
    const mine = this.rsFor(f, rs);
    this.handleLate(rs.filter((r) => r.seq !== f.seq));
    if (mine.length !== 1) this.fail(`forged seq ${f.seq}: ${mine.length} responses`);
    if (this.pending) {
      if (mine[0]!.status !== ST.BUSY) this.fail(`forged message while PAY waits: ${mine[0]!.status}, not BUSY`);
      totals.busy++;
    } else {
      if (![ST.BAD_MAC, ST_CHANNEL_NOT_OPEN, ST.NOT_ALLOWED].includes(mine[0]!.status as 0x32)) this.fail(`forged message: status ${mine[0]!.status}`);
      this.countRejection(mine[0]!, before, this.rig.board.now());
    }
  }

  info(): CborMap {
    const r = this.request(CMD.INFO);
    if (r.status !== 0) this.fail(`INFO answered ${r.status}: the carrier no longer answers`);
    if (this.destroyed) return r.body;
    if (r.body.get(5) !== 1) this.fail(`state ${String(r.body.get(5))}, model PERSONALISED`);
    if (r.body.get(9) !== MAX_TRIES - this.failures) this.fail(`tries left ${String(r.body.get(9))}, model ${MAX_TRIES - this.failures}`);
    if (r.body.get(11) !== this.atc) this.fail(`ATC ${String(r.body.get(11))}, model ${this.atc}`);
    return r.body;
  }

  readLog(): { atc: number; result: number; orderHex: string }[] {
    const r = this.request(CMD.LOG_READ);
    if (r.status !== 0) this.fail(`LOG_READ ${r.status}`);
    const page = verifyLogPage(r.body);
    if (!page.ok) this.fail("LOG_READ chain does not verify");
    return page.entries.map(parseEntry).map((e) => ({ atc: e.atc, result: e.result, orderHex: hex(e.orderId) }));
  }

  checkLog(): void {
    if (this.destroyed) return;
    const got = this.readLog();
    const want = this.log.slice(-KEPT);
    if (JSON.stringify(got) !== JSON.stringify(want)) this.fail(`LOG_READ ${JSON.stringify(got.map((e) => [e.atc, e.result]))}, model ${JSON.stringify(want.map((e) => [e.atc, e.result]))}`);
    for (const o of this.orders) {
      if (o.seen && this.log.slice(-KEPT).some((x) => x.atc === o.seen!.atc) && !got.some((x) => x.atc === o.seen!.atc && x.orderHex === o.hex && x.result === 1)) {
        this.fail(`the log lacks the authorization ATC ${o.seen.atc} the host saw`);
      }
    }
  }

  close(): void {
    this.abandonOnBoard();
    const r = this.request(CMD.CLOSE);
    if (r.status !== 0) this.fail(`CHANNEL_CLOSE ${r.status}`);
    this.ch = null;
    this.outstanding = null;
    if (this.rig.board.leds()[0] !== false) this.fail("LED1 on after CHANNEL_CLOSE abandoned the order");
  }

  async reboot(cutAt: number | null, partial: "none" | "some-bits"): Promise<void> {
    const p = this.pending;
    const f0 = this.failures;
    const a0 = this.atc;
    const log0 = this.log.slice();
    let cutFired = false;
    if (p && cutAt !== null) {
      // the user confirms (or declines) and the power goes at the cutAt-th flash word write
      totals.cuts++;
      const confirm = cutAt % 3 !== 0;
      this.rig.board.cutPowerAfterFlashWrites(cutAt, partial);
      this.rig.board.clickButton(1, confirm ? 120 : 1_500);
      this.rig.board.advance(2_000);
      cutFired = !this.rig.board.flash.isPowered();
      if (cutFired) totals.cutsFired++;
      this.out = "";
      this.note(`cut at write ${cutAt} (${partial}) ${confirm ? "confirm" : "decline"} fired ${cutFired}`);
      if (!cutFired) {
        // the decision completed before the cut point: as a normal decision
        this.decide(p.out, confirm ? "confirmed" : "declined", 0, Number.MAX_SAFE_INTEGER);
      } else {
        this.pending = null;
        this.decideCut(p.out, confirm, f0, a0, log0);
      }
    } else this.note("reboot");
    this.pending = null;
    await this.rig.reboot();
    this.attach();
    this.ch = null;
    this.outstanding = null;
    this.cache = null;
    this.framesBySeq.clear();
    this.lastFrame = null;
    if (cutFired) this.resync(p!.out, f0, a0, log0);
  }

  // After a cut the model knows what may have happened: resolved by INFO and LOG_READ after the reboot.
  cutCase: { confirm: boolean; pinRight: boolean } | null = null;
  decideCut(o: Outstanding, confirm: boolean, _f0: number, _a0: number, _log0: LogEntry[]): void {
    this.cutCase = { confirm, pinRight: o.pinRight };
  }

  resync(o: Outstanding, f0: number, a0: number, log0: LogEntry[]): void {
    const c = this.cutCase!;
    this.cutCase = null;
    const r = this.request(CMD.INFO);
    if (r.status !== 0) this.fail(`INFO after a cut: ${r.status}`);
    if (r.body.get(5) !== 1) {
      // only the 10th WRONG verdict may destroy
      if (!(c.confirm && !o.pinRight && f0 + 1 >= MAX_TRIES)) this.fail(`state ${String(r.body.get(5))} after a cut`);
      this.destroyed = true;
      return;
    }
    const tries = r.body.get(9) as number;
    const atc = r.body.get(11) as number;
    const triesOk = c.confirm ? (o.pinRight ? [MAX_TRIES - f0, MAX_TRIES - f0 - 1, MAX_TRIES] : [MAX_TRIES - f0, MAX_TRIES - f0 - 1]) : [MAX_TRIES - f0];
    if (!triesOk.includes(tries)) this.fail(`tries left ${tries} after a cut, allowed [${triesOk}]`);
    this.failures = MAX_TRIES - tries;
    const got = this.readLog();
    const earlier = log0.slice(-KEPT).some((x) => x.result === 1 && x.orderHex === o.order.hex);
    const mayAppend = !c.confirm || (o.pinRight && !earlier);
    if (atc === a0) {
      if (JSON.stringify(got) !== JSON.stringify(log0.slice(-KEPT))) this.fail("log changed after a cut although the ATC did not");
      this.log = log0;
    } else if (atc === a0 + 1 && mayAppend) {
      if (c.confirm && tries !== MAX_TRIES) this.fail(`an authorization was committed after a cut but tries left is ${tries}`);
      const entry = { atc, result: c.confirm ? 1 : 0, orderHex: o.order.hex };
      const want = [...log0, entry];
      if (JSON.stringify(got) !== JSON.stringify(want.slice(-KEPT))) this.fail(`log after a committed cut: ${JSON.stringify(got)}`);
      this.log = want;
      this.atc = atc;
    } else this.fail(`ATC ${atc} after a cut (was ${a0})`);
  }

  /**
   * Keeps the session busy until it is `leftMs` short of its 15-minute lifetime: the next PAY may
   * outlive it while the user decides. The keep-alive is a PAY refused at once (malformed verdict).
   */
  age(leftMs: number): void {
    if (this.outstanding || !this.ch) return;
    this.note(`age to ${leftMs} ms before the lifetime`);
    for (;;) {
      const remaining = this.chOpenedAt + LIFETIME_MS - leftMs - this.rig.board.now();
      if (remaining <= 0) return;
      this.advance(Math.min(remaining, 100_000));
      this.pay({ kind: "pay", repeat: null, pin: "right", what: "bad-pin", fault: "none" });
      if (!this.ch) return; // ended meanwhile (the model checked it was allowed to)
    }
  }

  /** `count` new orders declined by a long press: older authorizations leave the kept window. */
  churn(count: number): void {
    this.note(`churn ${count}`);
    for (let i = 0; i < count && !this.outstanding; i++) {
      this.pay({ kind: "pay", repeat: null, pin: "right", what: "ok", fault: "none" });
      if (!this.pending) return; // refused at once (lockout) or the session had ended
      this.userAnswers("long");
    }
  }

  clock(ms: number): void {
    this.note(`clock +${ms}`);
    this.advance(ms);
    this.handleLate(this.collect());
  }
}

function frameBytes(r: Response): string {
  return `${r.seq}:${r.status}:${r.body}`;
}

async function runSequence(steps: [Op, boolean][]): Promise<void> {
  const w = new PayWorld();
  await w.setUp();
  totals.sequences++;
  try {
    for (const [op, check] of steps) {
      if (w.destroyed) break;
      totals.steps++;
      switch (op.kind) {
        case "pay": w.pay(op); break;
        case "press": case "long": case "silence": w.note(op.kind); w.userAnswers(op.kind); break;
        case "retransmit": w.retransmit(op.fault); break;
        case "forged": w.note("forged"); w.forged(); break;
        case "log": w.note("log"); w.checkLog(); break;
        case "info": w.note("info"); w.info(); break;
        case "close": w.note("close"); w.close(); break;
        case "reopen": w.note("reopen"); w.openChannel(); break;
        case "reboot": await w.reboot(op.cutAt, op.partial); break;
        case "clock": w.clock(op.ms); break;
        case "age": w.age(op.leftMs); break;
        case "churn": w.churn(op.count); break;
      }
      // the carrier answers INFO (no wedge) and matches the model; not after every step, so that
      // retransmissions also meet the reply cache (INFO would replace it)
      if (check) w.info();
    }
    w.checkLog();
  } finally {
    w.dispose();
  }
}

describe("deferred PAY vs a model, with link faults, reboots and power cuts (release bundle)", () => {
  afterAll(() => {
    console.log(`[payfuzz] seed ${SEED}, ${RUNS} runs: ${totals.sequences} sequences, ${totals.steps} steps, ${totals.faults} link faults, ` +
      `${totals.authorizations} settled authorizations, ${totals.repeatsDecided} repeats of an authorized order confirmed (${totals.repeatsAnswered} seen twice by the host), ${totals.declines} declines, ${totals.wrongPins} wrong PINs, ` +
      `${totals.busy} BUSY, ${totals.cacheHits} cache hits, ${totals.ignoredRepeats} ignored retransmissions, ${totals.cuts} power cuts armed (${totals.cutsFired} fired), ` +
      `${totals.lifetimeEnds} sessions found ended, ${totals.lateLifetimeEnds} late replies after the lifetime, ${totals.abandoned} waiting orders abandoned, ${totals.outOfWindowRepeats} repeats past the kept window, ${totals.lateSettled} late authorizations settled below a newer ATC`);
  });

  it(`random sequences (fast-check, seed ${SEED}; KC_PAYFUZZ_RUNS / KC_PAYFUZZ_SEED)`, async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(opArb, fc.boolean()), { minLength: 8, maxLength: 60 }), runSequence), { seed: SEED, numRuns: RUNS, ...(PATH !== undefined ? { path: PATH } : {}) });
    // every drawn sequence ran on a fresh carrier (fast-check may add none, a replay runs one)
    expect(totals.sequences).toBe(PATH !== undefined ? 1 : RUNS);
  }, 600_000);
});
