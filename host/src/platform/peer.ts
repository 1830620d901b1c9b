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
import type { Platform } from "./service.ts";
import { PlatformError } from "./service.ts";
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
 * The platform's internals this desk needs: the issuer's PIN verifier and the platform clock. Read
 * through the instance (they are private in service.ts, which another change owns); a one-line
 * accessor there would replace this.
 */
function internals(p: Platform): { pins: PinVerifier; now: () => number } {
  const i = p as unknown as { pins: PinVerifier; now: () => number };
  return { pins: i.pins, now: i.now };
}

export class PeerDesk {
  private readonly pins: PinVerifier;
  private readonly now: () => number;

  constructor(private readonly platform: Platform) {
    const i = internals(platform);
    this.pins = i.pins;
    this.now = i.now;
  }

  private get ledger() {
    return this.platform.ledger;
  }

  private audit(entityId: string, action: string, detail: object): void {
    this.ledger.run("INSERT INTO audit (at, entity, entity_id, action, detail) VALUES (?, ?, ?, ?, ?)", [this.now(), "peer", entityId, action, JSON.stringify(detail)]);
  }

  /** Opens a sealed peer message with its carrier's key; the carrier must be issued and not blocked. */
  private open(sealedHex: unknown, kind: number): { carrierId: string; id: Uint8Array; plain: Uint8Array } {
    const sealed = bytes(requireHex("sealed", sealedHex, 1, 512));
    try {
      const h = sealHeader(sealed);
      if (h.kind !== kind) throw new PlatformError(422, "bad-seal", kind === KIND_REQUEST ? "this is a sealed instruction, not a request" : "this is a sealed request, not an instruction");
      const carrierId = hex(h.carrierId);
      const carrier = this.platform.getCarrier(carrierId);
      if (carrier.state !== "issued") throw new PlatformError(403, "carrier-blocked", `carrier ${carrierId} is blocked: it can neither ask for nor make a payment`);
      const opened = openPeer(peerKey(this.platform.carrierKeys(carrierId).cryptogramKey), sealed);
      return { carrierId, id: opened.header.id, plain: opened.plain };
    } catch (e) {
      if (e instanceof PeerMessageError) throw new PlatformError(422, e.reason, e.message);
      throw e;
    }
  }

  /** The payee's host registers its carrier's sealed request. A repeat of the same request is answered the same. */
  registerRequest(req: { sealed?: unknown }): PeerRequestView & { created: boolean } {
    const { carrierId, id, plain } = this.open(req.sealed, KIND_REQUEST);
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
    const existing = this.ledger.get("SELECT request_digest FROM peer_requests WHERE request_digest = ?", [digest]);
    if (existing) return { ...this.requestStatus(digest), created: false };
    const nowS = Math.floor(this.now() / 1000);
    if (r.expiry <= nowS) throw new PlatformError(409, "request-expired", `this request expired at ${new Date(r.expiry * 1000).toISOString()} — ask again`);
    if (r.expiry > nowS + MAX_REQUEST_TTL_S) throw new PlatformError(422, "expiry-too-far", `a request may live at most ${MAX_REQUEST_TTL_S} s; this one asks for ${r.expiry - nowS} s`);
    this.ledger.transaction(() => {
      this.ledger.run(
        "INSERT INTO peer_requests (request_digest, payee_id, nonce, request_hex, amount, currency, expires_at_s, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
        [digest, carrierId, hex(r.nonce), hex(plain), r.amount, r.currency, r.expiry, this.now()],
      );
      this.audit(digest, "request-registered", { payeeId: carrierId, amount: r.amount, currency: r.currency, expiresAt: r.expiry });
    });
    return { ...this.requestStatus(digest), created: true };
  }

  /** What both hosts poll: open, settled (with the settlement) or expired. */
  requestStatus(digestHex: unknown): PeerRequestView {
    const digest = requireHex("requestDigest", digestHex, 32, 32);
    const row = this.ledger.get("SELECT * FROM peer_requests WHERE request_digest = ?", [digest]);
    if (!row) throw new PlatformError(404, "unknown-request", `no peer request ${digest} was registered — the payee's host registers it first`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    const expiresAt = Number(row.expires_at_s);
    const s = this.ledger.get("SELECT settlement_id FROM peer_settlements WHERE request_digest = ?", [digest]);
    const state = s ? "settled" : Math.floor(this.now() / 1000) >= expiresAt ? "expired" : "open";
    return {
      requestDigest: digest, request: String(row.request_hex), payeeId: String(row.payee_id), amount, currency, display: formatAmount(amount, currency),
      expiresAt, state, ...(s ? { settlement: this.settlement(String(s.settlement_id)) } : {}),
    };
  }

  settlement(settlementId: string): PeerSettlementView {
    const row = this.ledger.get("SELECT * FROM peer_settlements WHERE settlement_id = ?", [settlementId]);
    if (!row) throw new PlatformError(404, "unknown-settlement", `peer settlement ${settlementId} does not exist`);
    const amount = Number(row.amount);
    const currency = String(row.currency);
    return {
      settlementId, requestDigest: String(row.request_digest), payerId: String(row.payer_id), payeeId: String(row.payee_id), atc: Number(row.atc),
      amount, currency, display: formatAmount(amount, currency), settledAt: Number(row.created_at),
    };
  }

  /** The payer's PIN block is bound to this challenge, its carrier and the request (order id = digest[0:12]). */
  pinChallenge(req: { carrierId?: unknown; requestDigest?: unknown }): ChallengeView {
    const carrierId = requireHex("carrierId", req.carrierId, 4, 16);
    const view = this.requestStatus(req.requestDigest);
    this.platform.getCarrier(carrierId);
    return this.pins.challenge(carrierId, view.requestDigest.slice(0, PIN_ORDER_BYTES * 2), PinPurpose.PAY);
  }

  /**
   * Matches the payer's sealed instruction to its request and settles the pair, exactly once. The
   * same instruction sent again (a lost answer) gets the same settlement; anything else that names a
   * settled request, reuses a counter, or disagrees with the request is refused, and nothing moves.
   */
  submitInstruction(req: { sealed?: unknown; challenge?: unknown; pinBlock?: unknown }): PeerSettlementView & { created: boolean } {
    const { carrierId: payerId, id, plain } = this.open(req.sealed, KIND_INSTRUCTION);
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
    const done = this.ledger.get("SELECT settlement_id, request_digest, instruction_hex FROM peer_settlements WHERE payer_id = ? AND atc = ?", [payerId, ins.atc]);
    if (done) {
      if (done.request_digest === digest && done.instruction_hex === sealedHex) return { ...this.settlement(String(done.settlement_id)), created: false };
      throw new PlatformError(409, "replayed", `carrier ${payerId} already used ATC ${ins.atc} for a settled payment — a replayed or cloned instruction; nothing moved`);
    }
    if (this.ledger.get("SELECT 1 FROM authorizations WHERE carrier_id = ? AND atc = ?", [payerId, ins.atc])) {
      throw new PlatformError(409, "replayed", `carrier ${payerId} already used ATC ${ins.atc} for a QR payment — a replayed or cloned instruction; nothing moved`);
    }
    const request = this.ledger.get("SELECT * FROM peer_requests WHERE request_digest = ?", [digest]);
    if (!request) throw new PlatformError(404, "unknown-request", `the instruction names request ${digest}, which the platform never received — the payee's host must register it (or the request was altered on its way to the payer)`);
    if (request.state !== "open") throw new PlatformError(409, "request-paid", `request ${digest} was already paid by another instruction — nothing moved`);
    if (Math.floor(this.now() / 1000) >= Number(request.expires_at_s)) throw new PlatformError(409, "request-expired", `request ${digest} expired at ${new Date(Number(request.expires_at_s) * 1000).toISOString()} — the payee asks again`);
    if (Number(request.amount) !== ins.amount || String(request.currency) !== ins.currency) {
      throw new PlatformError(409, "mismatch", `the instruction says ${formatAmount(ins.amount, ins.currency)}, the request ${formatAmount(Number(request.amount), String(request.currency))} — refused`);
    }
    if (String(request.payee_id) === payerId) throw new PlatformError(409, "own-request", "a carrier cannot pay its own request");
    const payer = this.platform.getCarrier(payerId);
    if (ins.amount > payer.limit || ins.currency !== payer.currency) {
      throw new PlatformError(403, "over-limit", `the payer's carrier may pay up to ${formatAmount(payer.limit, payer.currency)} per payment`);
    }
    this.checkPin(payerId, digest, ins.amount, ins.currency, bytes(String(request.payee_id)), req.challenge, req.pinBlock);

    const settlementId = hex(randomBytes(8));
    this.ledger.transaction(() => {
      // The request is claimed first: a second instruction finds it settled (and the unique
      // request_digest of peer_settlements refuses it even if this check were raced).
      if (this.ledger.run("UPDATE peer_requests SET state = 'settled' WHERE request_digest = ? AND state = 'open'", [digest]) !== 1) {
        throw new PlatformError(409, "request-paid", `request ${digest} was already paid — nothing moved`);
      }
      this.ledger.run(
        "INSERT INTO peer_settlements (settlement_id, request_digest, payer_id, atc, payee_id, amount, currency, instruction_hex, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [settlementId, digest, payerId, ins.atc, String(request.payee_id), ins.amount, ins.currency, sealedHex, this.now()],
      );
      // the QR rules' ATC window follows the payer's counter, whichever applet used it
      this.ledger.run("UPDATE carriers SET last_atc = ? WHERE carrier_id = ? AND last_atc < ?", [ins.atc, payerId, ins.atc]);
      this.audit(digest, "settled", { settlementId, payerId, atc: ins.atc, payeeId: String(request.payee_id), amount: ins.amount, currency: ins.currency });
    });
    return { ...this.settlement(settlementId), created: true };
  }

  /** An OK verdict for (payer, request) recorded already, or a PIN block that the issuer's verifier finds right now. */
  private checkPin(payerId: string, digest: string, amount: number, currency: string, payeeId: Uint8Array, challenge: unknown, pinBlock: unknown): void {
    const orderId = digest.slice(0, PIN_ORDER_BYTES * 2);
    if (this.pins.verifiedFor(orderId, payerId)) return;
    if (challenge === undefined && pinBlock === undefined) {
      throw new PlatformError(403, "pin-required", "the payer's PIN must reach the platform for this request: ask /v1/peer/pin-challenges and send the PIN block with the instruction");
    }
    let v;
    try {
      v = this.pins.verifyForOrder({
        carrierId: payerId, orderId, challenge, pinBlock, sessionNonce: new Uint8Array(16), requestCounter: 0,
        fields: { orderId: bytes(orderId), merchantId: payeeId, amount, currency },
        cryptogramKey: this.platform.carrierKeys(payerId).cryptogramKey, carrierBlocked: false,
      });
    } catch (e) {
      if (e instanceof Refusal) throw new PlatformError(e.httpStatus, e.reason, e.message);
      throw e;
    }
    if (v.verdict === Verdict.WRONG) throw Object.assign(new PlatformError(403, "pin-wrong", `wrong PIN: ${v.triesLeft} tries left`), { triesLeft: v.triesLeft });
    if (v.verdict !== Verdict.OK) throw new PlatformError(403, "pin-blocked", `carrier ${payerId}'s PIN is blocked: the card is blocked`);
  }
}

const desks = new WeakMap<Platform, PeerDesk>();

/** The desk of a platform (one per Platform instance). */
export function peerDesk(platform: Platform): PeerDesk {
  let d = desks.get(platform);
  if (!d) {
    d = new PeerDesk(platform);
    desks.set(platform, d);
  }
  return d;
}

type PeerHandler = (ctx: { params: string[]; body: Record<string, unknown> }) => { status: number; body: unknown };

/**
 * The HTTP routes (registered by http.ts). Payer routes: no API key, each body carries its own proof
 * (a carrier's seal, a PIN block); a request digest is 32 unguessable bytes, so the status route
 * tells only who already holds the request.
 */
export function peerRoutes(platform: Platform): Array<{ method: string; path: RegExp; access: "payer"; handler: PeerHandler }> {
  const desk = peerDesk(platform);
  const answer = <T extends { created: boolean }>(r: T) => {
    const { created, ...view } = r;
    return { status: created ? 201 : 200, body: view };
  };
  return [
    { method: "POST", path: /^\/v1\/peer\/requests$/, access: "payer", handler: ({ body }) => answer(desk.registerRequest(body)) },
    { method: "GET", path: /^\/v1\/peer\/requests\/([^/]+)$/, access: "payer", handler: ({ params }) => ({ status: 200, body: desk.requestStatus(params[0]) }) },
    { method: "POST", path: /^\/v1\/peer\/pin-challenges$/, access: "payer", handler: ({ body }) => ({ status: 201, body: desk.pinChallenge(body) }) },
    { method: "POST", path: /^\/v1\/peer\/instructions$/, access: "payer", handler: ({ body }) => answer(desk.submitInstruction(body)) },
  ];
}
