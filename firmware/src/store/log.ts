// Log-structured record store over an A/B pair of pre-sized Espruino Storage files.
// STORAGE.md is the spec (format §2, commit rule §3, preconditions §6); in short:
//   file   = header (20 B) + records, created ONCE by a single write(name, header+copied, 0, size)
//   header = "KCL1" | gen u32 | copiedLen u32 | crc32(copied) u32 | crc32(previous 16 B) u32
//   record = len u16 | key u8 | seq u32 | payload (len B) | crc32(len..payload) u32
// Records are appended with write-once offset writes. The latest valid record per key wins;
// len 0 is a tombstone. A torn record ends the log: nothing is ever appended after it, the next
// append rotates instead. Rotation copies the live records into the other file (gen + 1) in its
// single creating write; that write is the commit, and only after it is the old file erased.
import { isErasedString, readU16, readU32, u16, u32, chr } from "./bytes.ts";
import { createOther, eraseOthers, eraseTornVariants } from "./space.ts";
import { storeFull, type StoreEnv } from "./ports.ts";
import { raise } from "../raise.ts";

export const LOG_MAGIC = "KCL1";
export const LOG_HEADER_BYTES = 20;
export const RECORD_OVERHEAD = 11;
export const MAX_PAYLOAD = 255;

export interface LogRecord { key: number; seq: number; payload: string }

export interface LogScan {
  // index into names of the current file, or -1 when no valid file exists (a blank store)
  current: number;
  gen: number;
  records: { [key: number]: LogRecord };
  order: number[];
  appendAt: number;
  // a torn record (or bytes after the last record) was found: never append to this file again
  dirty: boolean;
  lastSeq: number;
}

export interface RecordLog {
  get(key: number): LogRecord | undefined;
  // The newest record of every key, tombstones (empty payload) included: for a caller reading many
  // keys at once without a get() call per key. Read-only, and valid until the next change to the log.
  records(): { [key: number]: LogRecord };
  keys(): number[];
  append(key: number, payload: string): void;
  // Rewrite the live records (optionally only those `keep` accepts) into the other file.
  rotate(keep?: (key: number) => boolean): void;
  // Erase both files (the wipe); the log reads as blank afterwards.
  eraseAll(): void;
}

export function encodeRecord(env: StoreEnv, key: number, seq: number, payload: string): string {
  if (payload.length > MAX_PAYLOAD) raise("store: payload of " + payload.length + " B");
  const body = u16(payload.length) + chr(key & 255) + u32(seq) + payload;
  return body + u32(env.crc32(body));
}

// The file's gen when its header and copied block are valid, else -1.
function validGen(env: StoreEnv, s: string | undefined): number {
  if (s === undefined || s.length < LOG_HEADER_BYTES || s.substr(0, 4) !== LOG_MAGIC) return -1;
  if (readU32(s, 16) !== env.crc32(s.substr(0, 16))) return -1;
  const copied = readU32(s, 8);
  if (LOG_HEADER_BYTES + copied > s.length) return -1;
  if (readU32(s, 12) !== env.crc32(s.substr(LOG_HEADER_BYTES, copied))) return -1;
  return readU32(s, 4);
}

// Read both files and replay the current one. Never writes.
export function scanLog(env: StoreEnv, names: string[]): LogScan {
  const scan: LogScan = { current: -1, gen: 0, records: {}, order: [], appendAt: 0, dirty: false, lastSeq: 0 };
  let content = "";
  for (let i = 0; i < names.length; i++) {
    const s = env.storage.read(names[i]!);
    const gen = validGen(env, s);
    if (gen >= 0 && (scan.current < 0 || gen > scan.gen)) {
      scan.current = i;
      scan.gen = gen;
      content = s!;
    }
  }
  if (scan.current < 0) return scan;
  let pos = LOG_HEADER_BYTES;
  while (pos < content.length) {
    const rest = content.length - pos;
    const len = rest >= 2 ? readU16(content, pos) : 0xffff;
    if (len === 0xffff) {
      // erased from here on = the clean end; anything else is the remnant of a torn append
      if (!isErasedString(content.substr(pos, RECORD_OVERHEAD + MAX_PAYLOAD))) scan.dirty = true;
      break;
    }
    const total = RECORD_OVERHEAD + len;
    if (total > rest || readU32(content, pos + total - 4) !== env.crc32(content.substr(pos, total - 4))) {
      scan.dirty = true;
      break;
    }
    const key = content.charCodeAt(pos + 2);
    const seq = readU32(content, pos + 3);
    if (scan.records[key] === undefined) scan.order.push(key);
    scan.records[key] = { key: key, seq: seq, payload: content.substr(pos + 7, len) };
    if (seq > scan.lastSeq) scan.lastSeq = seq;
    pos += total;
  }
  scan.appendAt = pos;
  return scan;
}

// Opens the log and finishes whatever a power cut interrupted: erases the stale or torn other
// file of the pair and any half-named header Espruino lists for one of our names.
export function openLog(env: StoreEnv, names: string[], size: number): RecordLog {
  // 2 names, and room for one maximal record
  if (names.length !== 2 || size < LOG_HEADER_BYTES + RECORD_OVERHEAD + MAX_PAYLOAD) raise("store: bad log: " + names.length + " names, " + size + " B");
  eraseTornVariants(env, names);
  let scan = scanLog(env, names);
  eraseOthers(env, names, scan.current);

  function liveBody(keep?: (key: number) => boolean): string {
    let body = "";
    for (let i = 0; i < scan.order.length; i++) {
      const r = scan.records[scan.order[i]!]!;
      if (r.payload.length === 0) continue; // tombstones die at rotation
      if (keep !== undefined && !keep(r.key)) continue;
      body += encodeRecord(env, r.key, r.seq, r.payload);
    }
    return body;
  }

  function rotate(keep?: (key: number) => boolean): void {
    const body = liveBody(keep);
    if (LOG_HEADER_BYTES + body.length > size) storeFull("live records over " + size + " B");
    const header = LOG_MAGIC + u32(scan.gen + 1) + u32(body.length) + u32(env.crc32(body));
    createOther(env, names, scan.current, size, header + u32(env.crc32(header)) + body);
    scan = scanLog(env, names);
  }

  return {
    get: function (key: number) {
      const r = scan.records[key];
      return r === undefined || r.payload.length === 0 ? undefined : r;
    },
    records: function () {
      return scan.records;
    },
    keys: function () {
      const out: number[] = [];
      for (let i = 0; i < scan.order.length; i++) if (scan.records[scan.order[i]!]!.payload.length > 0) out.push(scan.order[i]!);
      return out;
    },
    append: function (key: number, payload: string) {
      const rec = encodeRecord(env, key, scan.lastSeq + 1, payload);
      if (scan.current < 0 || scan.dirty || scan.appendAt + rec.length > size) rotate();
      if (scan.appendAt + rec.length > size) storeFull("record of " + rec.length + " B");
      env.storage.write(names[scan.current]!, rec, scan.appendAt);
      if (scan.records[key] === undefined) scan.order.push(key);
      scan.records[key] = { key: key, seq: scan.lastSeq + 1, payload: payload };
      scan.lastSeq++;
      scan.appendAt += rec.length;
    },
    rotate: rotate,
    eraseAll: function () {
      eraseOthers(env, names, -1);
      scan = scanLog(env, names);
    },
  };
}
