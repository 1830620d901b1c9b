// The application store (PROTOCOL.md §7.4, §7.6): the keys installed by PERSONALISE and the newest
// transaction-log entries, as records of the carrier's page store (store/pages.ts, STORAGE.md §2):
//  - key 0x03: the keys record, version 0x02 ‖ ids, channel key, cryptogram key wrapped under the
//    carrier's master key, amount limit. K_ac is never stored in the clear (SECURITY.md §7).
//  - keys 0x10…0x17: log entry with ATC n lives at key 0x10 + n % RING, payload prevHash ‖ entry.
// One append = one commit, so the ATC increment and its log entry can never be torn apart: the
// current ATC is the highest ATC among the kept entries, which a wipe alone can lower.
import { storeGet, storePut, type PageStore } from "../store/pages.ts";
import { chr, readU32be, readU64be, u64be } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export const REC_APP_KEYS = 0x03;
// The keys record's leading version byte: a reader refuses any other layout (store v1 had none).
export const APP_KEYS_VERSION = 2;
export const ENTRY_KEY_BASE = 0x10;
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

export function openAppStore(st: PageStore): AppStore {
  let cachedKeys: AppKeys | undefined;

  // The kept entries, oldest first: read once per boot (a RAM cache, so a power cut only loses it)
  // and then kept in step with every append; eraseAll drops it.
  let cachedEntries: StoredEntry[] | null = null;

  function entries(): StoredEntry[] {
    if (cachedEntries !== null) return cachedEntries;
    const out: StoredEntry[] = [];
    for (let k = ENTRY_KEY_BASE; k < ENTRY_KEY_BASE + LOG_RING; k++) {
      const p = storeGet(st, k);
      if (p === undefined) continue;
      out.push({ atc: readU32be(p, HASH_BYTES), prevHash: p.substr(0, HASH_BYTES), entry: p.substr(HASH_BYTES) });
    }
    out.sort(function (a, b) { return a.atc - b.atc; });
    cachedEntries = out;
    return out;
  }

  // After entry atc was committed: when the kept entries are the consecutive ATCs just below atc
  // (what PAY always appends), atc's slot held the oldest one, so the cache follows without a
  // rescan; any other shape is read again from the store on the next read.
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
        const p = storeGet(st, REC_APP_KEYS);
        if (p !== undefined) {
          if (p.charCodeAt(0) !== APP_KEYS_VERSION) raise("app store: keys record version " + p.charCodeAt(0));
          cachedKeys = decodeAppKeys(p.substr(1));
        }
      }
      return cachedKeys;
    },
    installKeys: function (k: AppKeys) {
      storePut(st, REC_APP_KEYS, chr(APP_KEYS_VERSION) + encodeAppKeys(k));
      cachedKeys = k;
    },
    entries: entries,
    lastAtc: function () {
      const e = entries();
      return e.length === 0 ? 0 : e[e.length - 1]!.atc;
    },
    appendEntry: function (atc: number, prevHash: string, entry: string) {
      if (prevHash.length !== HASH_BYTES || readU32be(entry, 0) !== atc) raise("app store: bad entry");
      storePut(st, ENTRY_KEY_BASE + (atc % LOG_RING), prevHash + entry);
      followAppend(atc, prevHash, entry);
    },
    isEmpty: function () {
      if (st.recs[REC_APP_KEYS] !== undefined) return false;
      for (let k = ENTRY_KEY_BASE; k < ENTRY_KEY_BASE + LOG_RING; k++) if (st.recs[k] !== undefined) return false;
      return true;
    },
    eraseAll: function () {
      // Deletes (a len-0 record each) only what is there: after a self-destruct, which zeroised every
      // record in place, this writes nothing and only drops the RAM caches.
      if (st.recs[REC_APP_KEYS] !== undefined) storePut(st, REC_APP_KEYS, "");
      for (let k = ENTRY_KEY_BASE; k < ENTRY_KEY_BASE + LOG_RING; k++) if (st.recs[k] !== undefined) storePut(st, k, "");
      cachedKeys = undefined;
      cachedEntries = null;
    },
  };
}
