// The application store (PROTOCOL.md §7.4, §7.6): the keys installed by PERSONALISE and the newest
// transaction-log entries, as records of one A/B record log ("kc.pay.a/b", STORAGE.md format).
//  - key 1: the personalisation record (ids, channel key, cryptogram key wrapped under the carrier's
//    master key, amount limit). K_ac is never stored in the clear (SECURITY.md §7).
//  - keys 16…16+RING-1: log entry with ATC n lives at key 16 + n % RING, payload prevHash ‖ entry.
// One append = one commit, so the ATC increment and its log entry can never be torn apart: the
// current ATC is the highest ATC among the kept entries, which a wipe alone can lower.
import { openLog, type RecordLog } from "../store/log.ts";
import type { StoreEnv } from "../store/ports.ts";
import { chr, readU32be, readU64be, u64be } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export const APP_LOG_NAMES = ["kc.pay.a", "kc.pay.b"];
// The same size as the carrier's files (security/carrier.ts logBytes): every file the store creates
// must have the same Espruino size word (STORAGE.md §6, torn size words).
export const APP_LOG_BYTES = 1024;
export const REC_APP_KEYS = 1;
export const ENTRY_KEY_BASE = 16;
export const LOG_RING = 8;
export const HASH_BYTES = 32;

export interface AppKeys {
  carrierId: string;
  platformId: string;
  channelKey: string;
  // AES-256-ECB(MK, K_ac): Carrier.unwrapKey recovers K_ac (MK is under the device secret; a dump
  // yields it too: SECURITY.md §7 says why that pays nothing).
  wrappedCryptogramKey: string;
  maxAmount: number;
}

export interface StoredEntry { atc: number; prevHash: string; entry: string }

export interface AppStore {
  keys(): AppKeys | undefined;
  installKeys(k: AppKeys): void;
  // kept entries, oldest first
  entries(): StoredEntry[];
  lastAtc(): number;
  appendEntry(atc: number, prevHash: string, entry: string): void;
  // no record and no file: nothing left to erase
  isEmpty(): boolean;
  eraseAll(): void;
}

export function encodeAppKeys(k: AppKeys): string {
  return chr(k.carrierId.length) + k.carrierId + chr(k.platformId.length) + k.platformId + k.channelKey + k.wrappedCryptogramKey + u64be(k.maxAmount);
}

export function decodeAppKeys(s: string): AppKeys {
  const cidLen = s.charCodeAt(0);
  const pidAt = 1 + cidLen;
  const pidLen = s.charCodeAt(pidAt);
  const keysAt = pidAt + 1 + pidLen;
  if (s.length !== keysAt + 72) raise("app store: bad keys record");
  return {
    carrierId: s.substr(1, cidLen),
    platformId: s.substr(pidAt + 1, pidLen),
    channelKey: s.substr(keysAt, 32),
    wrappedCryptogramKey: s.substr(keysAt + 32, 32),
    maxAmount: readU64be(s, keysAt + 64),
  };
}

export function openAppStore(env: StoreEnv): AppStore {
  const log: RecordLog = openLog(env, APP_LOG_NAMES, APP_LOG_BYTES);
  let cachedKeys: AppKeys | undefined;

  // The kept entries, oldest first: scanned once per boot (a RAM cache, so a power cut only loses
  // it) and then kept in step with every append; a wipe drops it.
  let cachedEntries: StoredEntry[] | null = null;

  function entries(): StoredEntry[] {
    if (cachedEntries !== null) return cachedEntries;
    const out: StoredEntry[] = [];
    const records = log.records();
    for (let k = ENTRY_KEY_BASE; k < ENTRY_KEY_BASE + LOG_RING; k++) {
      const r = records[k];
      if (r === undefined || r.payload.length === 0) continue;
      out.push({ atc: readU32be(r.payload, HASH_BYTES), prevHash: r.payload.substr(0, HASH_BYTES), entry: r.payload.substr(HASH_BYTES) });
    }
    out.sort(function (a, b) { return a.atc - b.atc; });
    cachedEntries = out;
    return out;
  }

  // After entry atc was committed: when the kept entries are the consecutive ATCs just below atc
  // (what PAY always appends), atc's slot held the oldest one, so the cache follows without a
  // rescan; any other shape is rescanned from the log on the next read.
  function followAppend(atc: number, prevHash: string, entry: string): void {
    const e = cachedEntries;
    if (e === null) return;
    const n = e.length;
    if (n > 0 && (e[n - 1]!.atc !== atc - 1 || e[0]!.atc !== atc - n)) {
      cachedEntries = null;
      return;
    }
    if (n === LOG_RING) e.shift();
    e.push({ atc: atc, prevHash: prevHash, entry: entry });
  }

  return {
    keys: function () {
      if (cachedKeys === undefined) {
        const r = log.get(REC_APP_KEYS);
        if (r !== undefined) cachedKeys = decodeAppKeys(r.payload);
      }
      return cachedKeys;
    },
    installKeys: function (k: AppKeys) {
      log.append(REC_APP_KEYS, encodeAppKeys(k));
      cachedKeys = k;
    },
    entries: entries,
    lastAtc: function () {
      const e = entries();
      return e.length === 0 ? 0 : e[e.length - 1]!.atc;
    },
    appendEntry: function (atc: number, prevHash: string, entry: string) {
      if (prevHash.length !== HASH_BYTES || readU32be(entry, 0) !== atc) raise("app store: bad entry");
      log.append(ENTRY_KEY_BASE + (atc % LOG_RING), prevHash + entry);
      followAppend(atc, prevHash, entry);
    },
    isEmpty: function () {
      // A file holding only a torn record (a PERSONALISE cut mid-write) is not empty: the boot path
      // erases and purges it too, so no partial key bytes stay behind.
      return log.keys().length === 0 && env.storage.read(APP_LOG_NAMES[0]!, 0, 1) === undefined && env.storage.read(APP_LOG_NAMES[1]!, 0, 1) === undefined;
    },
    eraseAll: function () {
      log.eraseAll();
      cachedKeys = undefined;
      cachedEntries = null;
    },
  };
}
