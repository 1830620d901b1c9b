// The offline card-emulation applet (PROTOCOL.md §11): outer commands a POS terminal sends with no
// secure channel (it is offline) — OFFLINE_LICENSE, OFFLINE_PAY (deferred until BTN1, like PAY),
// OFFLINE_SIG_READ — and the inner OFFLINE_INSTALL the platform sends in a personalised session.
// Module-level functions over one explicit state object; main.ts wires it only in the full bundle
// (KC_OFFLINE). Order of durable effects per authorization: the risk rules (nothing written) → the
// user's press → the leaf slot (log entry, offline ATC) → only then the signature (authorize.ts).
import { bytesArg, DEFERRED, okRaw, PAY_WAITS, refuse, textArg, uintArg, type Command, type CommandResult, type LateResult } from "../dispatch.ts";
import { head as cborHead, type CborMap } from "../codec.ts";
import { STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_INTERNAL } from "../protocol.ts";
import { STATUS_STORAGE_FULL } from "../security/status.ts";
import { isStoreFull, type StoreEnv } from "../store/ports.ts";
import { amountClass, DECISION_CONFIRMED, DECISION_PENDING, type TrustedUi } from "../ui/confirm.ts";
import { lmsParams, type LmsNatives } from "./lms.ts";
import { readU32be } from "../store/bytes.ts";
import { eraseOfflineKey, keyBytes, markOnline, openOfflineKey, writeKeyPiece, type OfflineKey } from "./key-store.ts";
import { eraseLicense, licenseChunk, licenseLength, writeLicensePiece } from "./license-store.ts";
import { offlineRefusal, signOffline, RULE_BAD, RULE_EXHAUSTED, RULE_OK, type OfflineRequest } from "./authorize.ts";

export const CMD_OFFLINE_LICENSE = 0x50;
export const CMD_OFFLINE_PAY = 0x51;
export const CMD_OFFLINE_SIG_READ = 0x52;
export const CMD_OFFLINE_INSTALL = 0x53;
export const STATUS_OFFLINE_LIMIT = 0x50;
export const STATUS_OFFLINE_KEYS_EXHAUSTED = 0x51;
export const STATUS_NO_LICENSE = 0x52;
// PAY's: a declined press answers as PAY does (PROTOCOL.md §6).
export const STATUS_PAY_DECLINED = 0x41;
/** Bytes of license or signature per reply: the reply map stays under MAX_BODY (512). */
export const OFFLINE_CHUNK = 480;
export const INSTALL_KEY = 1;
export const INSTALL_LICENSE = 2;

export interface OfflineDeps {
  env: StoreEnv;
  nat: LmsNatives;
  ui: TrustedUi;
  /** n random bytes (the board's hardware RNG): the randomizer C of each signature. */
  random(n: number): string;
  /** The personalised carrier id (PERSONALISE field 1). */
  carrierId(): string;
}

export interface OfflineState {
  deps: OfflineDeps;
  /** The key as opened (undefined: not read since boot or since an install). */
  key: OfflineKey | null | undefined;
  license: number;
  pending: OfflineRequest | null;
  pendingLate: LateResult | null;
  /** The last authorization, for OFFLINE_SIG_READ and a repeated request (RAM only). */
  lastBody: string;
  lastAtc: number;
  lastSig: string;
  /** Next expected OFFLINE_INSTALL offsets (key, license). */
  keyNext: number;
  licenseNext: number;
}

export function createOfflineState(deps: OfflineDeps): OfflineState {
  return { deps: deps, key: undefined, license: -2, pending: null, pendingLate: null, lastBody: "", lastAtc: 0, lastSig: "", keyNext: 0, licenseNext: 0 };
}

function currentKey(st: OfflineState): OfflineKey | null {
  if (st.key === undefined) st.key = openOfflineKey(st.deps.env);
  return st.key;
}

function currentLicense(st: OfflineState): number {
  if (st.license === -2) st.license = licenseLength(st.deps.env);
  return st.license;
}

/** Offline payments are possible: a whole key and a whole license are installed. */
export function offlineReady(st: OfflineState): boolean {
  return currentKey(st) !== null && currentLicense(st) > 0;
}

/** An OFFLINE_PAY waits for the user (main.ts makes PAY answer BUSY meanwhile). */
export function offlineWaiting(st: OfflineState): boolean {
  return st.pending !== null;
}

/** An online PAY succeeded: the cumulative offline amount starts again (a durable mark). */
export function offlineOnline(st: OfflineState): void {
  const key = currentKey(st);
  if (key !== null) markOnline(st.deps.env, key);
}

/** Abandons an OFFLINE_PAY waiting for the user: LEDs off, nothing written, no reply. */
export function offlineCancel(st: OfflineState): void {
  const late = st.pendingLate;
  st.pending = null;
  st.pendingLate = null;
  if (late !== null) {
    st.deps.ui.reset();
    late(null);
  }
}

/** Wipe or destruction: the offline key and license go with the other keys. */
export function offlineErase(st: OfflineState): void {
  offlineCancel(st);
  eraseOfflineKey(st.deps.env);
  eraseLicense(st.deps.env);
  st.key = undefined;
  st.license = -2;
  st.lastBody = "";
  st.lastSig = "";
}

// OFFLINE_PAY fields 1-5, else the detail of the first bad one.
function parseRequest(args: CborMap): OfflineRequest | string {
  const amount = uintArg(args[1], 0);
  if (amount === undefined) return "bad amount";
  const currency = textArg(args[2]);
  if (currency === undefined || !/^[A-Z][A-Z][A-Z]$/.test(currency)) return "bad currency";
  const terminalId = bytesArg(args[3], 8, 8);
  const terminalNonce = bytesArg(args[4], 16, 16);
  if (terminalId === undefined || terminalNonce === undefined) return "bad terminal id or nonce";
  const date = uintArg(args[5], 19700101);
  if (date === undefined || date > 99991231) return "bad date";
  return { amount: amount, currency: currency, terminalId: terminalId, terminalNonce: terminalNonce, date: date };
}

// Replies spliced as canonical CBOR (keys ascending, shortest heads) without the generic encoder.
// {1: offline ATC, 2: signature length, 3: first chunk}
function authorized(st: OfflineState): CommandResult {
  const c = st.lastSig.substr(0, OFFLINE_CHUNK);
  return okRaw("\xa3\x01" + cborHead(0, st.lastAtc) + "\x02" + cborHead(0, st.lastSig.length) + "\x03" + cborHead(2, c.length) + c);
}

// The user decided (a button or timer callback): sign, or decline.
function decide(st: OfflineState, r: OfflineRequest, body: string, decision: number): CommandResult {
  if (decision !== DECISION_CONFIRMED) return refuse(STATUS_PAY_DECLINED, "declined");
  const key = currentKey(st);
  if (key === null) return refuse(STATUS_INTERNAL, "no offline key");
  const rule = offlineRefusal(key, r);
  if (rule[0] !== RULE_OK) return refuse(rule[0] === RULE_EXHAUSTED ? STATUS_OFFLINE_KEYS_EXHAUSTED : STATUS_OFFLINE_LIMIT, rule[1]);
  const a = signOffline(st.deps.env, key, st.deps.nat, st.deps.carrierId(), r, st.deps.random(32));
  if (a === null) return refuse(STATUS_OFFLINE_KEYS_EXHAUSTED, "no one-time keys left: re-issue");
  st.lastBody = body;
  st.lastAtc = a.atc;
  st.lastSig = a.signature;
  return authorized(st);
}

function runPay(st: OfflineState, args: CborMap, body: string, late: LateResult): CommandResult {
  const r = parseRequest(args);
  if (typeof r === "string") return refuse(STATUS_BAD_ARGUMENT, r);
  if (!offlineReady(st)) return refuse(STATUS_NO_LICENSE, "no offline license");
  if (st.pending !== null || st.deps.ui.decision() === DECISION_PENDING) return refuse(STATUS_BUSY, PAY_WAITS);
  // the same request again (the terminal lost the reply): the same authorization, no new leaf
  if (body === st.lastBody) return authorized(st);
  const rule = offlineRefusal(currentKey(st)!, r);
  if (rule[0] !== RULE_OK) {
    return refuse(rule[0] === RULE_BAD ? STATUS_BAD_ARGUMENT : rule[0] === RULE_EXHAUSTED ? STATUS_OFFLINE_KEYS_EXHAUSTED : STATUS_OFFLINE_LIMIT, rule[1]);
  }
  st.pending = r;
  st.pendingLate = late;
  st.deps.ui.ask(amountClass(r.amount), function (decision: number) {
    const p = st.pending, l = st.pendingLate;
    st.pending = null;
    st.pendingLate = null;
    if (p === null || l === null) return;
    let result: CommandResult;
    try {
      result = decide(st, p, body, decision);
    } catch (e) {
      result = refuse(STATUS_INTERNAL, "failed");
    }
    try {
      l(result);
    } catch (e) {
      // a button or timer callback: nothing may escape into Espruino's event loop
    }
  });
  return DEFERRED;
}

function runLicense(st: OfflineState, args: CborMap): CommandResult {
  const offset = args[1] === undefined ? 0 : uintArg(args[1], 0);
  if (offset === undefined) return refuse(STATUS_BAD_ARGUMENT, "bad offset");
  const n = currentKey(st) === null ? -1 : currentLicense(st);
  if (n <= 0) return refuse(STATUS_NO_LICENSE, "no offline license");
  if (offset >= n) return refuse(STATUS_BAD_ARGUMENT, "offset past the license (" + n + " B)");
  const c = licenseChunk(st.deps.env, offset, n - offset < OFFLINE_CHUNK ? n - offset : OFFLINE_CHUNK);
  return okRaw("\xa2\x01" + cborHead(2, c.length) + c + "\x02" + cborHead(0, n));
}

function runSigRead(st: OfflineState, args: CborMap): CommandResult {
  const offset = uintArg(args[1], 0);
  if (offset === undefined) return refuse(STATUS_BAD_ARGUMENT, "bad offset");
  if (st.lastSig === "") return refuse(STATUS_BAD_ARGUMENT, "no offline authorization");
  if (offset >= st.lastSig.length) return refuse(STATUS_BAD_ARGUMENT, "offset past the signature (" + st.lastSig.length + " B)");
  const c = st.lastSig.substr(offset, OFFLINE_CHUNK);
  return okRaw("\xa1\x01" + cborHead(2, c.length) + c);
}

// OFFLINE_INSTALL {1: part (1 key section, 2 license), 2: offset, 3: total, 4: piece} → {1: next offset}
function runInstall(st: OfflineState, args: CborMap): CommandResult {
  const part = uintArg(args[1], 1);
  const offset = uintArg(args[2], 0);
  const total = uintArg(args[3], 1);
  const piece = bytesArg(args[4], 1, 512);
  if (part === undefined || part > INSTALL_LICENSE || offset === undefined || total === undefined || piece === undefined) return refuse(STATUS_BAD_ARGUMENT, "bad install piece");
  if (st.pending !== null) return refuse(STATUS_BUSY, PAY_WAITS);
  let next: number;
  try {
    if (part === INSTALL_KEY) {
      st.key = undefined;
      st.lastBody = "";
      if (offset === 0 && (piece.length < 12 || total !== keyBytes(lmsParams(readU32be(piece, 4))))) return refuse(STATUS_BAD_ARGUMENT, "total is not the key section of its LMS type");
      next = st.keyNext = writeKeyPiece(st.deps.env, offset === 0 ? 0 : st.keyNext, offset, piece);
    } else {
      st.license = -2;
      next = st.licenseNext = writeLicensePiece(st.deps.env, offset === 0 ? 0 : st.licenseNext, offset, total, piece);
    }
  } catch (e) {
    if (isStoreFull(e)) return refuse(STATUS_STORAGE_FULL, e.reason);
    return refuse(STATUS_BAD_ARGUMENT, String((e as { message?: unknown }).message || e));
  }
  return okRaw("\xa1\x01" + cborHead(0, next));
}

const PERSONALISED_ONLY = 1 << STATE_PERSONALISED;

/** The outer commands: OFFLINE_LICENSE, OFFLINE_PAY, OFFLINE_SIG_READ. */
export function offlineOuterCommands(st: OfflineState): Command[] {
  return [
    { id: CMD_OFFLINE_LICENSE, allowedStates: PERSONALISED_ONLY, fields: 1, run: function (args) { return runLicense(st, args); } },
    { id: CMD_OFFLINE_PAY, allowedStates: PERSONALISED_ONLY, fields: 5, run: function (args, body, late) { return runPay(st, args, body, late); } },
    { id: CMD_OFFLINE_SIG_READ, allowedStates: PERSONALISED_ONLY, fields: 1, run: function (args) { return runSigRead(st, args); } },
  ];
}

/** The inner OFFLINE_INSTALL (in the platform's personalised session). */
export function offlineInstallCommand(st: OfflineState): Command {
  return { id: CMD_OFFLINE_INSTALL, allowedStates: PERSONALISED_ONLY, fields: 4, run: function (args) { return runInstall(st, args); } };
}
