// The carrier's trusted state: personalisation, the PIN-verdict try counter, self-destruct
// (SECURITY.md, STORAGE.md). The carrier holds no PIN material: the platform checks the PIN online
// and MACs its verdict; the carrier counts the verdicts it receives. Everything durable goes through
// the record log and the unary counter; every decision about the order of flash writes is here:
//  - a verdict: the attempt byte is written BEFORE the verdict is judged (its MAC checked); the
//    success byte only after an authentic OK verdict. A cut anywhere costs a try, never grants one.
//  - self-destruct: the DESTROYED record is written first; then the log is rewritten without any
//    secret record, the counter erased, and Storage compacted so erased bytes are physically gone.
//    openCarrier() finishes an interrupted wipe before anything else runs.
import { openLog, type RecordLog } from "../store/log.ts";
import { openCounter, type UnaryCounter } from "../store/counter.ts";
import { runMaintenance } from "../store/maintenance.ts";
import { creationBytes } from "../store/space.ts";
import { isStoreFull, type StoreEnv } from "../store/ports.ts";
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

export const REC_PERSO = 0x01;
export const REC_DESTROYED = 0x02;
export const DESTROY_TRIES_EXHAUSTED = 1;
export const DESTROY_WIPE_COMMAND = 2;

export const LOG_NAMES = ["kc.log.a", "kc.log.b"];
export const COUNTER_NAMES = ["kc.ctr.a", "kc.ctr.b"];

export interface CarrierConfig {
  maxTries: number;
  logBytes: number;
  counterSlots: number;
}

// Defaults for every board profile; SECURITY.md §4 and STORAGE.md §7 derive them. maxTries is the
// carrier's own limit on verdicts that are not an authentic OK: the issuer's limit (3, the
// platform's) blocks first; this one is the backstop against a host feeding forged verdicts.
// counterSlots 488 = (1024 - 48) / 2: the counter file is exactly as large as a log file.
export const DEFAULT_CONFIG: CarrierConfig = { maxTries: 10, logBytes: 1024, counterSlots: 488 };

export interface CarrierPorts {
  env: StoreEnv;
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
  // Compact Storage when trash leaves less than the reserve free; call only while idle.
  maintain(): boolean;
}

// PERSO record: version u8 (2) | device-secret share A 32 | wrapped MK 32. No PIN material: version 1
// (salt, stretching rounds, PIN verifier, MK under a PIN-derived key) is gone with the on-device PIN.
// The device secret is SHA-256("KCds" | share A | share B), share B living in the counter file's
// header; MK is wrapped under SHA-256("KCkek2" | device secret). That protects nothing against a
// full dump (both shares are in flash): it makes the residue of a torn self-destruct useless once
// either share is gone (SECURITY.md §5).
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

export function openCarrier(ports: CarrierPorts, config?: CarrierConfig): Carrier {
  const cfg = config === undefined ? DEFAULT_CONFIG : config;
  if (!(cfg.maxTries >= 1 && cfg.maxTries <= 15)) raise("security: bad config");
  const env = ports.env;
  const crypto = ports.crypto;
  const log: RecordLog = openLog(env, LOG_NAMES, cfg.logBytes);
  // Every file the store creates has the same size (the log's), hence the same Espruino size word:
  // a size word torn by a power cut holds a superset of its 1-bits, so the next creation at that
  // slot — always one of ours — completes it instead of clashing (STORAGE.md §6).
  const counter: UnaryCounter = /*#__NOINLINE__*/ openCounter(env, COUNTER_NAMES, cfg.counterSlots, cfg.logBytes);
  // Room for two rotations of each file (STORAGE.md §5).
  const reserve = 4 * creationBytes(cfg.logBytes);
  let lockedUntil = 0;
  let unlockedKey: string | null = null;

  // The state follows from the log's records; it is read twice per request (both dispatchers), so
  // it is kept in RAM (−9 to −12 ms per sealed request on the Puck.js model). Every change to the
  // log below forgets it first (knownState = -1): a change that throws leaves it forgotten, and the
  // next read asks the log. (No wrapper object around the log: 3 closures less, issue #12.)
  let knownState = -1;
  function state(): number {
    if (knownState < 0) {
      const d = log.get(REC_DESTROYED);
      const p = log.get(REC_PERSO);
      knownState = p !== undefined && (d === undefined || p.seq > d.seq) ? STATE_PERSONALISED : d !== undefined ? STATE_DESTROYED : STATE_BLANK;
    }
    return knownState;
  }

  function triesLeft(): number {
    if (state() !== STATE_PERSONALISED) return 0;
    const left = cfg.maxTries - counter.failures();
    return left < 0 ? 0 : left;
  }

  function secretsInLog(): boolean {
    const keys = log.keys();
    for (let i = 0; i < keys.length; i++) if (keys[i] !== REC_DESTROYED) return true;
    return false;
  }

  // Steps after the DESTROYED mark; each is idempotent, so a reboot simply runs them again.
  function finishWipe(): void {
    unlockedKey = null;
    if (secretsInLog()) {
      knownState = -1;
      try {
        log.rotate(function (key: number) {
          return key === REC_DESTROYED;
        });
      } catch (e) {
        if (!isStoreFull(e)) throw e;
        log.eraseAll(); // no room for the clean copy: drop the mark too (the carrier reads BLANK)
      }
    }
    counter.eraseAll();
    runMaintenance(env, 0, true);
  }

  function destroy(reason: number): void {
    unlockedKey = null;
    try {
      if (state() !== STATE_DESTROYED) {
        knownState = -1;
        log.append(REC_DESTROYED, chr(reason));
      }
    } catch (e) {
      if (!isStoreFull(e)) throw e;
      // The mark does not fit: erase the secrets first so a cut leaves BLANK, never PERSONALISED.
      knownState = -1;
      log.eraseAll();
    }
    finishWipe();
  }

  function perso(): Perso {
    return decodePerso(log.get(REC_PERSO)!.payload);
  }

  function armLockout(): number {
    const d = delayAfterFailures(counter.failures());
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

  function deviceSecret(shareA: string): string {
    return crypto.sha256("KCds" + shareA + counter.share());
  }

  function kek(shareA: string): string {
    return crypto.sha256("KCkek2" + deviceSecret(shareA));
  }

  // Every successful enrolment and OK verdict answers this (an OK sends no detail).
  const done = outcome(STATUS_OK, cfg.maxTries, 0, "");

  // Boot: finish what a power cut interrupted before anything answers.
  if (state() === STATE_DESTROYED && (secretsInLog() || counter.exists() || env.storage.getStats().trashBytes !== 0)) finishWipe();
  // No counter file on a personalised carrier cannot come from any power cut (enrol creates the counter before
  // its commit, rotation erases the old file only after the new one is valid): fail closed.
  if (state() === STATE_PERSONALISED && (!counter.exists() || counter.failures() >= cfg.maxTries)) destroy(DESTROY_TRIES_EXHAUSTED);
  if (state() === STATE_PERSONALISED) armLockout();
  // A cut in the purge compaction can drop the DESTROYED record and leave erased bytes of the old
  // files as trash: a BLANK carrier has nothing to lose, so it always purges its trash at boot.
  if (state() === STATE_BLANK && env.storage.getStats().trashBytes > 0) runMaintenance(env, 0, true);

  return {
    state: state,
    triesLeft: triesLeft,
    retryAfterMs: retryAfterMs,
    enrol: function (masterKey?: string) {
      const st = state();
      if (st !== STATE_BLANK && st !== STATE_DESTROYED) return outcome(STATUS_NOT_ALLOWED_IN_STATE, triesLeft(), 0, "already personalised");
      const mk = masterKey === undefined ? crypto.randomBytes(32) : masterKey;
      const shareA = crypto.randomBytes(32);
      try {
        counter.reset(0, crypto.randomBytes(32)); // fresh counter: failures 0, new share B
        // the commit: the PERSO record (layout above)
        knownState = -1;
        log.append(REC_PERSO, chr(PERSO_VERSION) + shareA + crypto.aesEncryptEcb(kek(shareA), mk));
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
      if (counter.failures() >= cfg.maxTries) return blocked();
      let slot: number;
      try {
        slot = counter.beginAttempt(); // durable BEFORE the verdict is judged
      } catch (e) {
        return storageFull(e);
      }
      const v = judge();
      if (v === VERDICT_OK) {
        counter.markSuccess(slot);
        lockedUntil = 0;
        return done;
      }
      if (v === VERDICT_BLOCKED) return blocked();
      const left = cfg.maxTries - counter.failures();
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
        const p = perso();
        unlockedKey = crypto.aesDecryptEcb(kek(p.shareA), p.wrappedKey);
      }
      return crypto.aesDecryptEcb(unlockedKey, wrapped);
    },
    maintain: function () {
      return runMaintenance(env, reserve).compacted;
    },
  };
}
