/**
 * Peer payments at the platform (docs/PEER.md §5, PROTOCOL.md §12): the payee's carrier seals a
 * request, the payer's carrier an instruction naming the request's digest; the platform opens each
 * with that carrier's peer key, matches exactly one instruction to one request and settles the pair
 * exactly once, in one ledger transaction whose unique constraints (migration 005) forbid a second.
 *
 *   registerRequest({sealed})             → the request, open until its expiry (idempotent)
 *   pinChallenge({carrierId, requestDigest}) → a single-use challenge for the payer's PIN block
 *   submitInstruction({sealed, challenge?, pinBlock?}) → the settlement, or a clear refusal
 *   requestStatus(digest)                 → open / settled (+ settlement) / expired: both hosts poll it
 *
 * Online PIN, after the instruction (docs/PEER.md §4): the PIN block is bound to the payer's carrier
 * and to the request (order id = the first 12 bytes of its digest); it is checked and counted by the
 * issuer's verifier before the pair settles, and an OK verdict stays recorded, so a retry after a
 * crash or a lost answer needs no PIN again. A wrong PIN settles nothing; the same instruction can be
 * sent again with a new PIN block (the carrier is not asked twice).
 */
import { randomBytes } from "node:crypto";
import type { Platform, PlatformOps } from "./service.ts";
import { PlatformError } from "./service.ts";
import { get, run, tx, type Work } from "./work.ts";
import type { PinVerifier, ChallengeView } from "./pin-verifier.ts";
import { Refusal } from "./refusal.ts";
import { PinPurpose, Verdict } from "./online-pin.ts";
import { formatAmount } from "../qr/currency.ts";
import {
  KIND_INSTRUCTION, KIND_REQUEST, openPeer, parseInstruction, parseRequest, PeerMessageError, peerKey, sealHeader, sha256,
} from "../peer/messages.ts";

/** A request may not live longer than this past its registration (the payee's host picks the expiry). */
export const MAX_REQUEST_TTL_S = 15 * 60;
/** The PIN block's order id: the first 12 bytes of the request digest (PAY's order ids are 12 bytes too). */
export const PIN_ORDER_BYTES = 12;

export interface PeerRequestView {
  requestDigest: string;
  request: string;
  payeeId: string;
  amount: number;
  currency: string;
  display: string;
  expiresAt: number;
  state: "open" | "settled" | "expired";
  settlement?: PeerSettlementView;
}

export interface PeerSettlementView {
  settlementId: string;
  requestDigest: string;
  payerId: string;
  payeeId: string;
  atc: number;
  amount: number;
  currency: string;
  display: string;
  settledAt: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

function requireHex(field: string, v: unknown, min: number, max: number): string {
  if (typeof v !== "string" || !/^([0-9a-f]{2})+$/.test(v) || v.length < min * 2 || v.length > max * 2) {
    throw new PlatformError(400, "bad-request", `${field} must be ${min === max ? min * 2 : `${min * 2}–${max * 2}`} lowercase hex digits`);
  }
  return v;
}

/**
 * The peer desk's operations, engine-neutral (work.ts): run through `platform.run` (HTTP, either
 * engine) or `peerDesk(platform)` (in-process, SQLite). Every race between processes is decided by
 * the ledger: the unique request digest, the conditional claim of an open request, and
 * peer_settlements' unique (request) and (payer, ATC).
 */
export class PeerDesk {
  constructor(private readonly ops: PlatformOps) {}

  private get pins(): PinVerifier {
    return this.ops.pins;
  }

  private now(): number {
    return this.ops.now();
  }

  private *audit(entityId: string, action: string, detail: object): Work<void> {
    yield* run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, ?, ?, ?, ?)", [this.now(), "peer", entityId, action, JSON.stringify(detail)]);
  }

  /** Opens a sealed peer message with its carrier's key; the carrier must be issued and not blocked. */
  private *open(sealedHex: unknown, kind: number): Work<{ carrierId: string; id: Uint8Array; plain: Uint8Array }> {
    const sealed = bytes(requireHex("sealed", sealedHex, 1, 512));
    try {
      const h = sealHeader(sealed);
      if (h.kind !== kind) throw new PlatformError(422, "bad-seal", kind === KIND_REQUEST ? "this is a sealed instruction, not a request" : "this is a sealed request, not an instruction");
      const carrierId = hex(h.carrierId);
      const carrier = yield* this.ops.getCarrier(carrierId);
      if (carrier.state !== "issued") throw new PlatformError(403, "carrier-blocked", `carrier ${carrierId} is blocked: it can neither ask for nor make a payment`);
      const opened = openPeer(peerKey((yield* this.ops.carrierKeys(carrierId)).cryptogramKey), sealed);
      return { carrierId, id: opened.header.id, plain: opened.plain };
    } catch (e) {
      if (e instanceof PeerMessageError) throw new PlatformError(422, e.reason, e.message);
      throw e;
    }
  }

  /**
   * The payee's host registers its carrier's sealed request. A repeat of the same request is answered
   * the same (two at once on PostgreSQL: the primary key lets one insert, the other runs again and
   * finds it).
   */
  *registerRequest(req: { sealed?: unknown }): Work<PeerRequestView & { created: boolean }> {
    const { carrierId, id, plain } = yield* this.open(req.sealed, KIND_REQUEST);
    let r;
    try {
      r = parseRequest(plain);
    } catch (e) {
      if (e instanceof PeerMessageError) throw new PlatformError(422, e.reason, e.message);
      throw e;
    }
    // The seal's clear header must say what the sealed bytes say.
    if (hex(r.payeeId) !== carrierId || hex(r.nonce) !== hex(id)) throw new PlatformError(422, "bad-request", "the seal's header does not match the request it carries");
    const digest = hex(sha256(plain));
    const existing = yield* get("SELECT request_digest FROM peer_requests WHERE request_digest = ?", [digest]);
    if (existing) return { ...(yield* this.requestStatus(digest)), created: false };
    const nowS = Math.floor(this.now() / 1000);
    if (r.expiry <= nowS) throw new PlatformError(409, "request-expired", `this request expired at ${new Date(r.expiry * 1000).toISOString()} — ask again`);
    if (r.expiry > nowS + MAX_REQUEST_TTL_S) throw new PlatformError(422, "expiry-too-far", `a request may live at most ${MAX_REQUEST_TTL_S} s; this one asks for ${r.expiry - nowS} s`);
    yield* tx(function* (this: PeerDesk) {
      yield* run(
        "INSERT INTO peer_requests (request_digest, payee_id, nonce, request_hex, amount, currency, expires_at_s, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
        [digest, carrierId, hex(r.nonce), hex(plain), r.amount, r.currency, r.expiry, this.now()],
      );
      yield* this.audit(digest, "request-registered", { payeeId: carrierId, amount: r.amount, currency: r.currency, expiresAt: r.expiry });
    }.bind(this));
    return { ...(yield* this.requestStatus(digest)), created: true };
  }

  /** What both hosts poll: open, settled (with the settlement) or expired. */
  *requestStatus(digestHex: unknown): Work<PeerRequestView> {
    const digest = requireHex("requestDigest", digestHex, 32, 32);
    const row = yield* get("SELECT * FROM peer_requests WHERE request_digest = ?", [digest]);
    if (!row) throw new PlatformError(404, "unknown-request", `no peer request ${digest} was registered — the payee's host registers it first`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    const expiresAt = Number(row.expires_at_s);
    const s = yield* get("SELECT settlement_id FROM peer_settlements WHERE request_digest = ?", [digest]);
    const state = s ? "settled" : Math.floor(this.now() / 1000) >= expiresAt ? "expired" : "open";
    return {
      requestDigest: digest, request: String(row.request_hex), payeeId: String(row.payee_id), amount, currency, display: formatAmount(amount, currency),
      expiresAt, state, ...(s ? { settlement: yield* this.settlement(String(s.settlement_id)) } : {}),
    };
  }

  *settlement(settlementId: string): Work<PeerSettlementView> {
    const row = yield* get("SELECT * FROM peer_settlements WHERE settlement_id = ?", [settlementId]);
    if (!row) throw new PlatformError(404, "unknown-settlement", `peer settlement ${settlementId} does not exist`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    return {
      settlementId, requestDigest: String(row.request_digest), payerId: String(row.payer_id), payeeId: String(row.payee_id), atc: Number(row.atc),
      amount, currency, display: formatAmount(amount, currency), settledAt: Number(row.created_at),
    };
  }

  /** The payer's PIN block is bound to this challenge, its carrier and the request (order id = digest[0:12]). */
  *pinChallenge(req: { carrierId?: unknown; requestDigest?: unknown }): Work<ChallengeView> {
    const carrierId = requireHex("carrierId", req.carrierId, 4, 16);
    const view = yield* this.requestStatus(req.requestDigest);
    yield* this.ops.getCarrier(carrierId);
    return yield* this.pins.challenge(carrierId, view.requestDigest.slice(0, PIN_ORDER_BYTES * 2), PinPurpose.PAY);
  }

  /**
   * Matches the payer's sealed instruction to its request and settles the pair, exactly once. The
   * same instruction sent again (a lost answer) gets the same settlement; anything else that names a
   * settled request, reuses a counter, or disagrees with the request is refused, and nothing moves.
   */
  *submitInstruction(req: { sealed?: unknown; challenge?: unknown; pinBlock?: unknown }): Work<PeerSettlementView & { created: boolean }> {
    const { carrierId: payerId, id, plain } = yield* this.open(req.sealed, KIND_INSTRUCTION);
    let ins;
    try {
      ins = parseInstruction(plain);
    } catch (e) {
      if (e instanceof PeerMessageError) throw new PlatformError(422, e.reason, e.message);
      throw e;
    }
    if (hex(ins.payerId) !== payerId || Buffer.from(id).readUInt32BE(0) !== ins.atc) throw new PlatformError(422, "bad-instruction", "the seal's header does not match the instruction it carries");
    const digest = hex(ins.digest);
    const sealedHex = String(req.sealed);

    // A resend of this very instruction: the settlement it already made.
    const done = yield* get("SELECT settlement_id, request_digest, instruction_hex FROM peer_settlements WHERE payer_id = ? AND atc = ?", [payerId, ins.atc]);
    if (done) {
      if (done.request_digest === digest && done.instruction_hex === sealedHex) return { ...(yield* this.settlement(String(done.settlement_id))), created: false };
      throw new PlatformError(409, "replayed", `carrier ${payerId} already used ATC ${ins.atc} for a settled payment — a replayed or cloned instruction; nothing moved`);
    }
    if (yield* get("SELECT 1 FROM authorizations WHERE carrier_id = ? AND atc = ?", [payerId, ins.atc])) {
      throw new PlatformError(409, "replayed", `carrier ${payerId} already used ATC ${ins.atc} for a QR payment — a replayed or cloned instruction; nothing moved`);
    }
    const request = yield* get("SELECT * FROM peer_requests WHERE request_digest = ?", [digest]);
    if (!request) throw new PlatformError(404, "unknown-request", `the instruction names request ${digest}, which the platform never received — the payee's host must register it (or the request was altered on its way to the payer)`);
    if (request.state !== "open") throw new PlatformError(409, "request-paid", `request ${digest} was already paid by another instruction — nothing moved`);
    if (Math.floor(this.now() / 1000) >= Number(request.expires_at_s)) throw new PlatformError(409, "request-expired", `request ${digest} expired at ${new Date(Number(request.expires_at_s) * 1000).toISOString()} — the payee asks again`);
    if (Number(request.amount) !== ins.amount || String(request.currency) !== ins.currency) {
      throw new PlatformError(409, "mismatch", `the instruction says ${formatAmount(ins.amount, ins.currency)}, the request ${formatAmount(Number(request.amount), String(request.currency))} — refused`);
    }
    if (String(request.payee_id) === payerId) throw new PlatformError(409, "own-request", "a carrier cannot pay its own request");
    const payer = yield* this.ops.getCarrier(payerId);
    if (ins.amount > payer.limit || ins.currency !== payer.currency) {
      throw new PlatformError(403, "over-limit", `the payer's carrier may pay up to ${formatAmount(payer.limit, payer.currency)} per payment`);
    }
    yield* this.checkPin(payerId, digest, ins.amount, ins.currency, bytes(String(request.payee_id)), req.challenge, req.pinBlock);

    const settlementId = hex(randomBytes(8));
    yield* tx(function* (this: PeerDesk) {
      // The request is claimed first: a second instruction finds it settled (and the unique
      // request_digest of peer_settlements refuses it even if this check were raced).
      if ((yield* run("UPDATE peer_requests SET state = 'settled' WHERE request_digest = ? AND state = 'open'", [digest])) !== 1) {
        throw new PlatformError(409, "request-paid", `request ${digest} was already paid — nothing moved`);
      }
      yield* run(
        "INSERT INTO peer_settlements (settlement_id, request_digest, payer_id, atc, payee_id, amount, currency, instruction_hex, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [settlementId, digest, payerId, ins.atc, String(request.payee_id), ins.amount, ins.currency, sealedHex, this.now()],
      );
      // the QR rules' ATC window follows the payer's counter, whichever applet used it
      yield* run("UPDATE carriers SET last_atc = ? WHERE carrier_id = ? AND last_atc < ?", [ins.atc, payerId, ins.atc]);
      yield* this.audit(digest, "settled", { settlementId, payerId, atc: ins.atc, payeeId: String(request.payee_id), amount: ins.amount, currency: ins.currency });
    }.bind(this));
    return { ...(yield* this.settlement(settlementId)), created: true };
  }

  /** An OK verdict for (payer, request) recorded already, or a PIN block that the issuer's verifier finds right now. */
  private *checkPin(payerId: string, digest: string, amount: number, currency: string, payeeId: Uint8Array, challenge: unknown, pinBlock: unknown): Work<void> {
    const orderId = digest.slice(0, PIN_ORDER_BYTES * 2);
    if (yield* this.pins.verifiedFor(orderId, payerId)) return;
    if (challenge === undefined && pinBlock === undefined) {
      throw new PlatformError(403, "pin-required", "the payer's PIN must reach the platform for this request: ask /v1/peer/pin-challenges and send the PIN block with the instruction");
    }
    let v;
    try {
      v = yield* this.pins.verifyForOrder({
        carrierId: payerId, orderId, challenge, pinBlock, sessionNonce: new Uint8Array(16), requestCounter: 0,
        fields: { orderId: bytes(orderId), merchantId: payeeId, amount, currency },
        cryptogramKey: (yield* this.ops.carrierKeys(payerId)).cryptogramKey, carrierBlocked: false,
      });
    } catch (e) {
      if (e instanceof Refusal) throw new PlatformError(e.httpStatus, e.reason, e.message);
      throw e;
    }
    if (v.verdict === Verdict.WRONG) throw Object.assign(new PlatformError(403, "pin-wrong", `wrong PIN: ${v.triesLeft} tries left`), { triesLeft: v.triesLeft });
    if (v.verdict !== Verdict.OK) throw new PlatformError(403, "pin-blocked", `carrier ${payerId}'s PIN is blocked: the card is blocked`);
  }
}

const desks = new WeakMap<PlatformOps, PeerDesk>();

/** The desk of a platform's operations (one per PlatformOps), for `platform.run((ops) => deskOf(ops).x(…))` on either engine. */
export function deskOf(ops: PlatformOps): PeerDesk {
  let d = desks.get(ops);
  if (!d) {
    d = new PeerDesk(ops);
    desks.set(ops, d);
  }
  return d;
}

/** The desk's operations as plain calls, each one operation on the embedded SQLite ledger (in-process callers). */
export interface SyncPeerDesk {
  registerRequest(req: { sealed?: unknown }): PeerRequestView & { created: boolean };
  requestStatus(digest: unknown): PeerRequestView;
  settlement(settlementId: string): PeerSettlementView;
  pinChallenge(req: { carrierId?: unknown; requestDigest?: unknown }): ChallengeView;
  submitInstruction(req: { sealed?: unknown; challenge?: unknown; pinBlock?: unknown }): PeerSettlementView & { created: boolean };
}

/** The desk of a platform, synchronously (SQLite ledger; HTTP serves either engine through peerRoutes). */
export function peerDesk(platform: Platform): SyncPeerDesk {
  const d = deskOf(platform.ops);
  return {
    registerRequest: (req) => platform.sync(() => d.registerRequest(req)),
    requestStatus: (digest) => platform.sync(() => d.requestStatus(digest)),
    settlement: (id) => platform.sync(() => d.settlement(id)),
    pinChallenge: (req) => platform.sync(() => d.pinChallenge(req)),
    submitInstruction: (req) => platform.sync(() => d.submitInstruction(req)),
  };
}

type PeerHandler = (ctx: { params: string[]; body: Record<string, unknown> }) => Promise<{ status: number; body: unknown }>;

/**
 * The HTTP routes (registered by http.ts). Payer routes: no API key, each body carries its own proof
 * (a carrier's seal, a PIN block); a request digest is 32 unguessable bytes, so the status route
 * tells only who already holds the request.
 */
export function peerRoutes(platform: Platform): Array<{ method: string; path: RegExp; access: "payer"; handler: PeerHandler }> {
  const desk = (work: (d: PeerDesk) => Work<unknown>) => platform.run((ops) => work(deskOf(ops)));
  const answer = (r: { created: boolean }) => {
    const { created, ...view } = r;
    return { status: created ? 201 : 200, body: view };
  };
  return [
    { method: "POST", path: /^\/v1\/peer\/requests$/, access: "payer", handler: async ({ body }) => answer(await desk((d) => d.registerRequest(body)) as { created: boolean }) },
    { method: "GET", path: /^\/v1\/peer\/requests\/([^/]+)$/, access: "payer", handler: async ({ params }) => ({ status: 200, body: await desk((d) => d.requestStatus(params[0])) }) },
    { method: "POST", path: /^\/v1\/peer\/pin-challenges$/, access: "payer", handler: async ({ body }) => ({ status: 201, body: await desk((d) => d.pinChallenge(body)) }) },
    { method: "POST", path: /^\/v1\/peer\/instructions$/, access: "payer", handler: async ({ body }) => answer(await desk((d) => d.submitInstruction(body)) as { created: boolean }) },
  ];
}
