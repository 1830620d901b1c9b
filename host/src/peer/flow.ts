/**
 * The peer payment, host side (docs/PEER.md §2): each host relays opaque bytes between its own
 * carrier (USB, NFC reader or PC/SC) and the platform; neither host can alter what either carrier
 * made, only drop or delay it.
 *   payee: PEER_REQUEST {amount, currency, expiry} → the payee confirms on its carrier → R and
 *          R sealed to the platform → POST /v1/peer/requests → R (or its digest) to the payer.
 *   payer: R → PEER_PAY → the payer confirms on its carrier → ATC + instruction sealed to the
 *          platform → the PIN, encrypted to the platform, with the instruction → settlement.
 * Retries: the carrier link retransmits identical frames (exactly-once per frame, PROTOCOL.md §8);
 * platform calls are idempotent (a request or an instruction sent twice gets the same answer).
 */
import type { KeyCarrier } from "../client.ts";
import { decodeCbor, encodeCbor, type CborMap } from "../codec.ts";
import { KeyCarrierError } from "../errors.ts";
import type { Platform } from "../platform/service.ts";
import { encryptPinBlock, PinPurpose } from "../platform/online-pin.ts";
import type { ChallengeView } from "../platform/pin-verifier.ts";
import { peerDesk, PIN_ORDER_BYTES, type PeerRequestView, type PeerSettlementView } from "../platform/peer.ts";
import { parseRequest, sha256, sealHeader } from "./messages.ts";

type MaybePromise<T> = T | Promise<T>;

export const PeerCommand = { PEER_REQUEST: 0x58, PEER_PAY: 0x59 } as const;
export const PeerStatus = { OK: 0x00, BUSY: 0x07, PAY_OVER_LIMIT: 0x43, PAY_ORDER_CHANGED: 0x44, PEER_DECLINED: 0x58, PEER_BAD_REQUEST: 0x59, PEER_OWN_REQUEST: 0x5a } as const;
const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PeerStatus).map(([k, v]) => [v, k]));

/** The carrier's decision window (PROTOCOL.md §7.7) plus the commit and the link. */
export const PEER_DECISION_DEADLINE_MS = 35_000;
/** How far ahead a request expires by default (the platform allows up to 15 minutes). */
export const DEFAULT_REQUEST_TTL_S = 300;

/** A refusal by a carrier (status) or the platform (reason). */
export class PeerError extends KeyCarrierError {
  constructor(status: number, readonly detail: string) {
    const name = STATUS_NAMES[status] ?? `status 0x${status.toString(16)}`;
    super(status, name, `${name}: ${detail}`);
  }
}

/** What the peer flows need from the platform: in process, or over HTTP (`httpPeerPlatform`). */
export interface PeerPlatform {
  registerRequest(sealed: string): MaybePromise<PeerRequestView>;
  requestStatus(digest: string): MaybePromise<PeerRequestView>;
  pinChallenge(req: { carrierId: string; requestDigest: string }): MaybePromise<ChallengeView>;
  submitInstruction(req: { sealed: string; challenge?: string; pinBlock?: string }): MaybePromise<PeerSettlementView>;
}

export function inProcessPeerPlatform(platform: Platform): PeerPlatform {
  const desk = peerDesk(platform);
  return {
    registerRequest: (sealed) => strip(desk.registerRequest({ sealed })),
    requestStatus: (digest) => desk.requestStatus(digest),
    pinChallenge: (req) => desk.pinChallenge(req),
    submitInstruction: (req) => strip(desk.submitInstruction(req)),
  };
}

function strip<T extends { created: boolean }>(r: T): Omit<T, "created"> {
  const { created: _created, ...view } = r;
  return view;
}

/** A platform refusal over HTTP: its reason id and message. */
export class PeerPlatformError extends Error {
  constructor(readonly httpStatus: number, readonly reason: string, message: string) {
    super(message);
    this.name = "PeerPlatformError";
  }
}

/** The platform's HTTP API (docs/PEER.md §5). */
export function httpPeerPlatform(baseUrl: string, fetchImpl: typeof fetch = fetch): PeerPlatform {
  async function call<T>(method: "GET" | "POST", path: string, body?: object): Promise<T> {
    const res = await fetchImpl(`${baseUrl}${path}`, {
      method, headers: method === "POST" ? { "content-type": "application/json" } : {}, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as { error?: { reason: string; message: string } };
    if (!res.ok) throw new PeerPlatformError(res.status, json.error?.reason ?? "http", json.error?.message ?? `HTTP ${res.status}`);
    return json as T;
  }
  return {
    registerRequest: (sealed) => call("POST", "/v1/peer/requests", { sealed }),
    requestStatus: (digest) => call("GET", `/v1/peer/requests/${digest}`),
    pinChallenge: (req) => call("POST", "/v1/peer/pin-challenges", req),
    submitInstruction: (req) => call("POST", "/v1/peer/instructions", req),
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

export interface CarrierConfirm {
  /** Called once the command went out, while the carrier waits for its user: tell them, or press the button (virtual board). */
  confirm?: (signal: AbortSignal) => Promise<void>;
  onStep?: (line: string) => void;
  deadlineMs?: number;
}

/** One outer command whose reply waits for the user's decision on the carrier. */
async function decided(kc: KeyCarrier, command: number, body: CborMap, opts: CarrierConfirm): Promise<CborMap> {
  let confirming: Promise<void> | undefined;
  const answered = new AbortController();
  const r = await kc.link.request(command, encodeCbor(body), {
    extraTimeoutMs: 2_000,
    deadlineMs: opts.deadlineMs ?? PEER_DECISION_DEADLINE_MS,
    onSent: () => {
      if (opts.confirm) confirming = opts.confirm(answered.signal).catch(() => {});
    },
  }).finally(() => answered.abort());
  await confirming;
  const decoded = r.body.length ? decodeCbor(r.body) : new Map();
  const map = decoded instanceof Map ? (decoded as CborMap) : new Map();
  if (r.status !== 0) throw new PeerError(r.status, typeof map.get(1) === "string" ? (map.get(1) as string) : "");
  return map;
}

export interface PeerRequestResult {
  /** R in clear: what the payer's host hands its carrier. */
  request: string;
  requestDigest: string;
  sealed: string;
  registered: PeerRequestView;
}

/** Payee: the carrier makes and seals the request once its user confirmed; the host registers it. */
export async function requestPayment(
  kc: KeyCarrier, platform: PeerPlatform, req: { amount: number; currency: string; expiresAt?: number; ttlSeconds?: number; now?: () => number }, opts: CarrierConfirm = {},
): Promise<PeerRequestResult> {
  const step = opts.onStep ?? (() => {});
  const nowS = Math.floor((req.now ?? Date.now)() / 1000);
  const expiry = req.expiresAt ?? nowS + (req.ttlSeconds ?? DEFAULT_REQUEST_TTL_S);
  step(`asking the payee's carrier for a request of ${req.amount} ${req.currency} (expires ${new Date(expiry * 1000).toISOString()}): confirm with a short press`);
  const body = await decided(kc, PeerCommand.PEER_REQUEST, new Map<number, number | string>([[1, req.amount], [2, req.currency], [3, expiry]]), opts);
  const r = body.get(1);
  const sealed = body.get(2);
  if (!(r instanceof Uint8Array) || !(sealed instanceof Uint8Array)) throw new PeerError(0x08, "PEER_REQUEST answer lacks {1: R, 2: sealed R} — firmware and host disagree on PROTOCOL.md §12");
  parseRequest(r);
  const registered = await platform.registerRequest(hex(sealed));
  if (registered.requestDigest !== hex(sha256(r))) throw new PeerError(0x08, "the platform registered another request than the carrier made");
  step(`request ${registered.requestDigest} registered at the platform: ${registered.display}, open until ${new Date(registered.expiresAt * 1000).toISOString()}`);
  return { request: hex(r), requestDigest: registered.requestDigest, sealed: hex(sealed), registered };
}

export interface PeerPayResult {
  atc: number;
  instruction: string;
  logHead: string;
  settlement: PeerSettlementView;
}

/**
 * Payer: R (hex, from the payee's host or fetched by digest) → the carrier instructs once its user
 * confirmed → the PIN, encrypted to the platform, goes with the sealed instruction.
 */
export async function payRequest(
  kc: KeyCarrier, platform: PeerPlatform, requestHex: string, opts: CarrierConfirm & { pin: string | (() => Promise<string>); carrierId?: string },
): Promise<PeerPayResult> {
  const step = opts.onStep ?? (() => {});
  const r = unhex(requestHex);
  const fields = parseRequest(r);
  const digest = hex(sha256(r));
  const status = await platform.requestStatus(digest);
  if (status.state !== "open") throw new PeerPlatformError(409, status.state === "settled" ? "request-paid" : "request-expired", `request ${digest} is ${status.state}`);
  step(`request ${digest}: ${status.display} to carrier ${hex(fields.payeeId)} — confirm on the payer's carrier with a short press`);
  const body = await decided(kc, PeerCommand.PEER_PAY, new Map([[1, r]]), opts);
  const atc = body.get(1);
  const sealed = body.get(2);
  const head = body.get(3);
  if (typeof atc !== "number" || !(sealed instanceof Uint8Array) || !(head instanceof Uint8Array)) {
    throw new PeerError(0x08, "PEER_PAY answer lacks {1: ATC, 2: sealed instruction, 3: log head} — PROTOCOL.md §12");
  }
  const carrierId = opts.carrierId ?? hex(sealHeader(sealed).carrierId);
  step(`the payer's carrier instructed with ATC ${atc}; the PIN goes to the platform, encrypted to it`);
  const pin = typeof opts.pin === "string" ? opts.pin : await opts.pin();
  const c = await platform.pinChallenge({ carrierId, requestDigest: digest });
  const block = encryptPinBlock(pin, unhex(c.publicKey), { purpose: PinPurpose.PAY, carrierId: unhex(carrierId), orderId: unhex(digest.slice(0, PIN_ORDER_BYTES * 2)), challenge: unhex(c.challenge) });
  const settlement = await platform.submitInstruction({ sealed: hex(sealed), challenge: c.challenge, pinBlock: hex(block) });
  step(`settled ${settlement.display} from ${settlement.payerId} to ${settlement.payeeId} as ${settlement.settlementId}`);
  return { atc, instruction: hex(sealed), logHead: hex(head), settlement };
}
