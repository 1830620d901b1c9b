// The carrier's trusted state: personalisation, the PIN-verdict try counter, self-destruct
// (SECURITY.md, STORAGE.md). The carrier holds no PIN material: the platform checks the PIN online
// and MACs its verdict; the carrier counts the verdicts it receives. Everything durable is a record of
// the page store (store/pages.ts, STORAGE.md §2) the application store shares; every decision about
// the order of flash writes is here:
//  - a verdict: the tally's attempt mark is written BEFORE the verdict is judged (its MAC checked);
//    the success mark only after an authentic OK verdict. A cut anywhere costs a try, never grants one.
//  - self-destruct: the DESTROYED record is the commit; then every other record is zeroised in place
//    (1→0), the store compacted to DESTROYED alone and every other page erased, and WIPED appended
//    (STORAGE.md §6). No step touches Espruino Storage. openCarrier() finishes an interrupted wipe
//    before anything else runs.
import { storeCompact, storeFinishWipe, storeGet, storeOrder, storePut, storeWipePending, storeZeroise, storeEraseOthers, type PageStore } from "../store/pages.ts";
import { tallyBegin, tallyExists, tallyFailures, tallyReset, tallyShare, tallySuccess } from "../store/tally.ts";
import { isStoreFull } from "../store/ports.ts";
import { chr } from "../store/bytes.ts";
import { lockedOut } from "./pin.ts";
import { VERDICT_BLOCKED, VERDICT_FORGED, VERDICT_OK } from "./verdict.ts";
import { delayAfterFailures } from "./lockout.ts";
import type { CryptoPort } from "./crypto-port.ts";
import type { Presence } from "./presence.ts";
import { STATUS_PIN_BLOCKED, STATUS_PIN_VERDICT_BAD, STATUS_PIN_WRONG, STATUS_PRESENCE_REQUIRED, STATUS_STORAGE_FULL } from "./status.ts";
import { raise } from "../raise.ts";

export const STATE_BLANK = 0;
export const STATE_PERSONALISED = 1;
export const STATE_DESTROYED = 3;
export const STATUS_OK = 0x00;
export const STATUS_BUSY = 0x07;
export const STATUS_NOT_ALLOWED_IN_STATE = 0x04;

// Record keys of the page store (STORAGE.md §2); the tally is tally.ts's TALLY_KEY (0x81).
export const REC_PERSO = 0x01;
export const REC_DESTROYED = 0x02;
export const REC_WIPED = 0x04;
export const DESTROY_TRIES_EXHAUSTED = 1;
export const DESTROY_WIPE_COMMAND = 2;

export interface CarrierConfig {
  maxTries: number;
}

// Defaults for every board profile (SECURITY.md §4). maxTries is the carrier's own limit on verdicts
// that are not an authentic OK: the issuer's limit (3, the platform's) blocks first; this one is the
// backstop against a host feeding forged verdicts.
export const DEFAULT_CONFIG: CarrierConfig = { maxTries: 10 };

export interface CarrierPorts {
  // the page store (platform.ts openStore; shared with the application store)
  store: PageStore;
  crypto: CryptoPort;
  presence: Presence;
  // milliseconds, monotonic while running (getTime()*1000 on a board)
  now(): number;
}

export interface Outcome { status: number; triesLeft: number; retryAfterMs: number; detail: string }

export interface Carrier {
  state(): number;
  triesLeft(): number;
  retryAfterMs(): number;
  // masterKey: the MK that PERSONALISE already wrapped the application keys under; drawn here when
  // absent (tests). The PERSO record written here is what commits it (PROTOCOL.md §7.4).
  enrol(masterKey?: string): Outcome;
  // Counts one PIN verdict: the try is durably spent, then judge() runs (it checks the verdict's
  // MAC and returns VERDICT_OK/WRONG/BLOCKED, or VERDICT_FORGED); an authentic OK gives the try
  // back, BLOCKED (or the carrier's own limit) self-destructs.
  countVerdict(judge: () => number): Outcome;
  wipe(): Outcome;
  // A fresh master key: PERSONALISE wraps K_ac under it, then commits it with enrol(masterKey).
  drawMasterKey(): string;
  // AES-256-ECB of a random 32 B key under a master key (SECURITY.md §5: why ECB suffices here).
  wrapKey(masterKey: string, key: string): string;
  // The inverse under this carrier's master key (unwrapped from the PERSO record); throws unless PERSONALISED.
  unwrapKey(wrapped: string): string;
}

// PERSO record: version u8 (2) | device-secret share A 32 | wrapped MK 32. No PIN material.
// The device secret is SHA-256("KCds" | share A | share B), share B living in the tally record
// (tally.ts); MK is wrapped under SHA-256("KCkek2" | device secret). That protects nothing against a
// full dump (both shares are in flash); the self-destruct zeroises both in place (STORAGE.md §6).
const PERSO_VERSION = 2;
interface Perso { shareA: string; wrappedKey: string }

function decodePerso(s: string): Perso {
  // A throw statement (not raise()) here: with raise(), terser inlines this function into its one
  // caller through a variable of the enclosing scope, which the hoisting gate rightly rejects.
  if (s.length !== 65 || s.charCodeAt(0) !== PERSO_VERSION) throw new Error("security: bad PERSO record");
  return { shareA: s.substr(1, 32), wrappedKey: s.substr(33, 32) };
}

function outcome(status: number, triesLeft: number, retryAfterMs: number, detail: string): Outcome {
  return { status: status, triesLeft: triesLeft, retryAfterMs: retryAfterMs, detail: detail };
}

// The state from the store's records alone: PERSO newer than DESTROYED is PERSONALISED (records keep
// their write order through compaction, storeOrder).
export function carrierState(st: PageStore): number {
  const p = storeOrder(st, REC_PERSO);
  const d = storeOrder(st, REC_DESTROYED);
  return p > d ? STATE_PERSONALISED : d >= 0 ? STATE_DESTROYED : STATE_BLANK;
}

// The self-destruct (STORAGE.md §6), from the DESTROYED mark on; idempotent, so a boot simply runs
// it again. A DESTROYED mark that does not fit (a page of live records: no fixed key set reaches it)
// zeroises every record instead, PERSO included: the carrier then reads BLANK, never PERSONALISED.
function destroyStore(st: PageStore, reason: number): void {
  if (carrierState(st) !== STATE_DESTROYED) {
    try {
      storePut(st, REC_DESTROYED, chr(reason));
    } catch (e) {
      if (!isStoreFull(e)) throw e;
      storeZeroise(st, -1);
      storeEraseOthers(st);
      return;
    }
  }
  storeFinishWipe(st, REC_DESTROYED, REC_WIPED);
}

// Records a personalisation cut before its commit left behind (a keys record wrapped under an MK no
// PERSO record ever stored, a fresh tally) on a carrier that is not PERSONALISED: zeroised in place
// and their pages erased, as a self-destruct does (a DESTROYED carrier simply wipes again). The
// state does not change. Rare: only after such a cut, at boot.
export function purgeRecords(st: PageStore): void {
  if (carrierState(st) === STATE_DESTROYED) {
    storeFinishWipe(st, REC_DESTROYED, REC_WIPED);
    return;
  }
  storeZeroise(st, -1);
  storeCompact(st);
  storeEraseOthers(st);
}

export function openCarrier(ports: CarrierPorts, config?: CarrierConfig): Carrier {
  const cfg = config === undefined ? DEFAULT_CONFIG : config;
  if (!(cfg.maxTries >= 1 && cfg.maxTries <= 15)) raise("security: bad config");
  const st = ports.store;
  const crypto = ports.crypto;
  let lockedUntil = 0;
  let unlockedKey: string | null = null;

  // The state follows from the store's records; it is read twice per request (both dispatchers), so
  // it is kept in RAM. Every change below forgets it first (knownState = -1): a change that throws
  // leaves it forgotten, and the next read asks the store.
  let knownState = -1;
  function state(): number {
    if (knownState < 0) knownState = carrierState(st);
    return knownState;
  }

  function triesLeft(): number {
    if (state() !== STATE_PERSONALISED) return 0;
    const left = cfg.maxTries - tallyFailures(st);
    return left < 0 ? 0 : left;
  }

  function destroy(reason: number): void {
    unlockedKey = null;
    knownState = -1;
    destroyStore(st, reason);
  }

  function armLockout(): number {
    const d = delayAfterFailures(tallyFailures(st));
    lockedUntil = d > 0 ? ports.now() + d : 0;
    return d;
  }

  function retryAfterMs(): number {
    const left = lockedUntil - ports.now();
    return left > 0 ? left : 0;
  }

  function storageFull(e: unknown): Outcome {
    if (!isStoreFull(e)) throw e;
    return outcome(STATUS_STORAGE_FULL, triesLeft(), 0, e.reason);
  }

  function blocked(): Outcome {
    destroy(DESTROY_TRIES_EXHAUSTED);
    return outcome(STATUS_PIN_BLOCKED, 0, 0, "carrier destroyed");
  }

  function kek(shareA: string): string {
    return crypto.sha256("KCkek2" + crypto.sha256("KCds" + shareA + tallyShare(st)));
  }

  // Every successful enrolment and OK verdict answers this (an OK sends no detail).
  const done = outcome(STATUS_OK, cfg.maxTries, 0, "");

  // Boot: finish what a power cut interrupted before anything answers.
  if (storeWipePending(st, REC_DESTROYED, REC_WIPED)) destroy(DESTROY_TRIES_EXHAUSTED);
  // No tally on a personalised carrier cannot come from any power cut (enrol writes it before its
  // commit; a new tally record is whole before the old one stops counting): fail closed.
  if (state() === STATE_PERSONALISED && (!tallyExists(st) || tallyFailures(st) >= cfg.maxTries)) destroy(DESTROY_TRIES_EXHAUSTED);
  if (state() === STATE_PERSONALISED) armLockout();

  return {
    state: state,
    triesLeft: triesLeft,
    retryAfterMs: retryAfterMs,
    enrol: function (masterKey?: string) {
      const s = state();
      if (s !== STATE_BLANK && s !== STATE_DESTROYED) return outcome(STATUS_NOT_ALLOWED_IN_STATE, triesLeft(), 0, "already personalised");
      const mk = masterKey === undefined ? crypto.randomBytes(32) : masterKey;
      const shareA = crypto.randomBytes(32);
      try {
        tallyReset(st, 0, crypto.randomBytes(32)); // fresh counter: failures 0, new share B
        // the commit: the PERSO record (layout above)
        knownState = -1;
        storePut(st, REC_PERSO, chr(PERSO_VERSION) + shareA + crypto.aesEncryptEcb(kek(shareA), mk));
      } catch (e) {
        return storageFull(e);
      }
      unlockedKey = mk;
      lockedUntil = 0;
      return done;
    },
    countVerdict: function (judge: () => number) {
      if (state() !== STATE_PERSONALISED) return outcome(STATUS_NOT_ALLOWED_IN_STATE, 0, 0, "not personalised");
      const wait = retryAfterMs();
      if (wait > 0) return outcome(STATUS_BUSY, triesLeft(), wait, lockedOut(wait));
      if (tallyFailures(st) >= cfg.maxTries) return blocked();
      let slot: number;
      try {
        slot = tallyBegin(st); // durable BEFORE the verdict is judged
      } catch (e) {
        return storageFull(e);
      }
      const v = judge();
      if (v === VERDICT_OK) {
        tallySuccess(st, slot);
        lockedUntil = 0;
        return done;
      }
      if (v === VERDICT_BLOCKED) return blocked();
      const left = cfg.maxTries - tallyFailures(st);
      if (left <= 0) return blocked();
      // hosts show the tries left from the reply (PROTOCOL.md §6)
      if (v === VERDICT_FORGED) return outcome(STATUS_PIN_VERDICT_BAD, left, armLockout(), "verdict not from the platform");
      return outcome(STATUS_PIN_WRONG, left, armLockout(), left + " tries left");
    },
    wipe: function () {
      if (state() !== STATE_PERSONALISED) return outcome(STATUS_NOT_ALLOWED_IN_STATE, 0, 0, "no PIN set");
      if (!ports.presence.takeConfirmation()) return outcome(STATUS_PRESENCE_REQUIRED, triesLeft(), 0, "no presence");
      destroy(DESTROY_WIPE_COMMAND);
      return outcome(STATUS_OK, 0, 0, "");
    },
    drawMasterKey: function () {
      return crypto.randomBytes(32);
    },
    wrapKey: function (masterKey: string, key: string) {
      return crypto.aesEncryptEcb(masterKey, key);
    },
    unwrapKey: function (wrapped: string) {
      if (state() !== STATE_PERSONALISED) raise("security: not personalised");
      if (unlockedKey === null) {
        const p = decodePerso(storeGet(st, REC_PERSO)!);
        unlockedKey = crypto.aesDecryptEcb(kek(p.shareA), p.wrappedKey);
      }
      return crypto.aesDecryptEcb(unlockedKey, wrapped);
    },
  };
}
