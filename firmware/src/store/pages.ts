// Store v2: a log-structured record store on whole flash pages the store owns (STORAGE.md Part A is
// the spec; its anchor is OpenSK's persistent_store). Module-level functions over one explicit
// state object (`PageStore`): no closures, nothing but numbers and one small index object in RAM.
//
//   page   = header (12 B): "KCP2" | gen u32 | ~gen u32, then records from offset 12
//   record = word0 | payload (len B, 0x00-padded to a word) | crc32(word0..padding) u32 | [tail]
//   word0  = len u8 | key u8 | ~len u8 | ~key u8
//   tail   = UNARY_WORDS words, only for keys >= 0x80 ("unary" records), outside the CRC
//
// Why it survives a power cut at any word write or page erase:
//  - NOR words are programmed in address order; a record's CRC word is its last word, so a record is
//    committed exactly when its CRC lands; a cut earlier leaves a *dead* record (CRC mismatch).
//  - word0 carries len and key next to their complements. A partly programmed word holds a superset
//    of the target's 1-bits; the only such word whose halves are complements is the target itself.
//    So a word0 that passes the check is exactly the word0 that was meant, its extent is known, and
//    the scan steps over dead records. A word0 that fails the check (cut inside it) ends the page
//    (`dirty`): the next append compacts first and nothing is ever written after it.
//  - Compaction copies the live records into the next page (round robin: wear levelling), erased
//    first, and writes that page's header LAST: the header is the commit. Until it lands the old page
//    is current; after it the old page is stale (lower gen) and is erased only when it next becomes the
//    target. One compaction = one page erase.
//  - The current page is never erased; it stops being current only through a committed compaction.
//  - Unary tails are only ever cleared (1→0) word by word: a cut leaves a partial word, which the
//    owner must read pessimistically (tally.ts).
import { isErasedString, readU32, u32, chr, filled } from "./bytes.ts";
import { storeFull } from "./ports.ts";
import { raise } from "../raise.ts";

// What the store needs from the board: platform.ts gives E.memoryArea / require("Flash") and E.CRC32;
// tests give a strict fake flash. Byte strings (chars 0-255) throughout.
export interface FlashPort {
  // `len` bytes at absolute address `addr` (on a board: a native string into memory-mapped flash)
  read(addr: number, len: number): string;
  // program whole words (addr and data.length multiples of 4), bits 1→0 only
  write(addr: number, data: string): void;
  // erase the page starting at addr
  erase(addr: number): void;
  crc32(data: string): number;
}

export const PAGE_MAGIC = "KCP2";
export const PAGE_HEADER_BYTES = 12;
export const UNARY_KEY = 0x80;
export const UNARY_WORDS = 64;
export const MAX_PAYLOAD_V2 = 255;
export const ZERO4 = "\0\0\0\0";

export interface PageStore {
  port: FlashPort;
  // page start addresses and sizes (erase units); at least 2
  pages: number[];
  sizes: number[];
  // index of the current page, -1 when no page is valid (a blank store)
  cur: number;
  gen: number;
  // absolute address of the next append in the current page
  end: number;
  // a torn word0 ends the current page: the next append compacts first
  dirty: boolean;
  // address of the newest committed record per key (absent: never written, or deleted)
  at: { [key: number]: number };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

// Bytes a record takes in its page.
export function recordExtent(len: number, key: number): number {
  return 8 + align4(len) + (key >= UNARY_KEY ? 4 * UNARY_WORDS : 0);
}

const MAX_EXTENT = 8 + 256 + 4 * UNARY_WORDS;

// The bytes of one record as written (tail excluded: it stays erased until marked). Few calls:
// each JS function entry costs ~0.7 ms on a board (espruino-facts §3).
export function encodeRecordV2(port: FlashPort, key: number, payload: string): string {
  const len = payload.length;
  if (len > MAX_PAYLOAD_V2 || key < 0 || key > 255) raise("store: record " + key + " of " + len + " B");
  const body = chr(len, key, len ^ 255, key ^ 255) + payload + "\0\0\0".substr(0, ((len + 3) & ~3) - len);
  const c = port.crc32(body);
  return body + chr(c & 255, (c >>> 8) & 255, (c >>> 16) & 255, (c >>> 24) & 255);
}

export function encodePageHeader(gen: number): string {
  return PAGE_MAGIC + u32(gen) + u32(~gen >>> 0);
}

// gen of the page at index p when its header is whole, else -1.
function pageGen(st: PageStore, p: number): number {
  const h = st.port.read(st.pages[p]!, PAGE_HEADER_BYTES);
  if (h.substr(0, 4) !== PAGE_MAGIC) return -1;
  const gen = readU32(h, 4);
  return readU32(h, 8) === (~gen >>> 0) ? gen : -1;
}

// Replays the current page into st.at / st.end / st.dirty. Reads only: the page once (a native
// string into flash on a board), then per record its CRC over a memory-mapped slice — two native
// calls and no JS call per record (a JS call costs ~0.7 ms on a board).
function scanCurrent(st: PageStore): void {
  st.at = {};
  st.dirty = false;
  if (st.cur < 0) return;
  const port = st.port;
  const base = st.pages[st.cur]!;
  const size = st.sizes[st.cur]!;
  const pg = port.read(base, size);
  let o = PAGE_HEADER_BYTES;
  while (o + 4 <= size) {
    const len = pg.charCodeAt(o);
    const key = pg.charCodeAt(o + 1);
    if (len === 255 && key === 255 && pg.charCodeAt(o + 2) === 255 && pg.charCodeAt(o + 3) === 255) {
      // the clean end, unless something was written after it (a torn word0 that cleared no bit of
      // its first word cannot exist: then nothing after it was written either)
      if (!isErasedString(pg.substr(o, MAX_EXTENT))) st.dirty = true;
      break;
    }
    const n = 4 + ((len + 3) & ~3);
    const ext = n + 4 + (key >= UNARY_KEY ? 4 * UNARY_WORDS : 0);
    if (pg.charCodeAt(o + 2) !== (len ^ 255) || pg.charCodeAt(o + 3) !== (key ^ 255) || o + ext > size) {
      st.dirty = true;
      break;
    }
    const stored = pg.charCodeAt(o + n) | (pg.charCodeAt(o + n + 1) << 8) | (pg.charCodeAt(o + n + 2) << 16) | (pg.charCodeAt(o + n + 3) << 24);
    if (stored === (port.crc32(port.read(base + o, n)) | 0)) {
      if (len === 0) delete st.at[key];
      else st.at[key] = base + o;
    }
    o += ext;
  }
  st.end = base + o;
}

// Opens the store on its pages: picks the page with the highest whole header and replays it.
// Never writes: whatever a cut left is repaired by the next append (compaction) or by the owner.
export function openPageStore(port: FlashPort, pages: number[], sizes: number[]): PageStore {
  if (pages.length < 2 || pages.length !== sizes.length) raise("store: needs 2+ pages");
  const st: PageStore = { port: port, pages: pages, sizes: sizes, cur: -1, gen: 0, end: 0, dirty: false, at: {} };
  for (let p = 0; p < pages.length; p++) {
    const g = pageGen(st, p);
    if (g >= 0 && (st.cur < 0 || g > st.gen)) {
      st.cur = p;
      st.gen = g;
    }
  }
  scanCurrent(st);
  return st;
}

// Payload of the newest committed record of key, or undefined.
export function storeGet(st: PageStore, key: number): string | undefined {
  const a = st.at[key];
  if (a === undefined) return undefined;
  return st.port.read(a + 4, st.port.read(a, 1).charCodeAt(0));
}

// Where key's newest record sits: records keep their relative order through compaction, so this
// orders keys by when they were last written. -1 when absent.
export function storeOrder(st: PageStore, key: number): number {
  const a = st.at[key];
  return a === undefined ? -1 : a;
}

// Live keys in write order.
export function storeKeys(st: PageStore): number[] {
  const keys: number[] = [];
  for (const k in st.at) keys.push(+k);
  keys.sort(function (a, b) { return st.at[a]! - st.at[b]!; });
  return keys;
}

// Appends one record (payload "" deletes key). Compacts first when the current page is dirty, full
// or absent; answers STORAGE_FULL (storeFull) only when the live records plus this one exceed a page.
export function storePut(st: PageStore, key: number, payload: string): void {
  const rec = encodeRecordV2(st.port, key, payload);
  const ext = key >= UNARY_KEY ? rec.length + 4 * UNARY_WORDS : rec.length;
  if (st.cur < 0 || st.dirty || st.end + ext > st.pages[st.cur]! + st.sizes[st.cur]!) storeCompact(st, -1, ext);
  const at = st.end;
  st.port.write(at, rec);
  st.end += ext;
  if (payload.length === 0) delete st.at[key];
  else st.at[key] = at;
}

// Live bytes (records st.at points to), only key `only` when only >= 0.
function liveBytes(st: PageStore, only: number): number {
  let n = 0;
  for (const k in st.at) {
    if (only >= 0 && +k !== only) continue;
    n += recordExtent(st.port.read(st.at[k]!, 1).charCodeAt(0), +k);
  }
  return n;
}

// Copies the live records (only key `only` when given: the self-destruct) into the next page and
// commits it with gen + 1. No predicate callbacks: a function instance costs vars on a board.
// `room`: bytes that must stay free after the copy (the record about to be appended).
export function storeCompact(st: PageStore, only?: number, room?: number): void {
  const keep = only === undefined ? -1 : only;
  const t = st.cur < 0 ? 0 : (st.cur + 1) % st.pages.length;
  const base = st.pages[t]!;
  const need = PAGE_HEADER_BYTES + liveBytes(st, keep) + (room === undefined ? 0 : room);
  if (need > st.sizes[t]!) storeFull("live records " + need + " B over a " + st.sizes[t] + " B page");
  const port = st.port;
  port.erase(base);
  const keys = storeKeys(st);
  const at: { [key: number]: number } = {};
  let dst = base + PAGE_HEADER_BYTES;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (keep >= 0 && k !== keep) continue;
    const src = st.at[k]!;
    const ext = recordExtent(port.read(src, 1).charCodeAt(0), k);
    port.write(dst, port.read(src, ext)); // a unary tail is copied as it is: partial words stay partial
    at[k] = dst;
    dst += ext;
  }
  const gen = st.gen + 1; // 1 on a blank store
  port.write(base, encodePageHeader(gen)); // the commit
  st.cur = t;
  st.gen = gen;
  st.at = at;
  st.end = dst;
  st.dirty = false;
}

// ---- unary tails (keys >= UNARY_KEY): 64 words, only ever cleared, never erased (tally.ts) ------

// Address of the tail of key's newest record, or -1.
export function tailAddress(st: PageStore, key: number): number {
  const a = st.at[key];
  if (a === undefined || key < UNARY_KEY) return -1;
  return a + 8 + align4(st.port.read(a, 1).charCodeAt(0));
}

// ---- self-destruct: zeroise in place, then erase ------------------------------------------------

// Overwrites with 0x00 every record of the current page but those of key `keep` (payload, CRC and
// tail; dead records included): each such record is dead from its first cleared word on, its word0
// stays, so the scan still steps over it. Idempotent: rerunning it after a cut only writes zeros on zeros.
export function storeZeroise(st: PageStore, keep: number): void {
  if (st.cur < 0) return;
  const port = st.port;
  let pos = st.pages[st.cur]! + PAGE_HEADER_BYTES;
  while (pos < st.end) {
    const w = port.read(pos, 4);
    const key = w.charCodeAt(1);
    const ext = recordExtent(w.charCodeAt(0), key);
    if (key !== keep) {
      // CRC word first (the record dies with its first cleared bit there), then payload and tail
      const crcAt = pos + 4 + align4(w.charCodeAt(0));
      port.write(crcAt, ZERO4);
      if (crcAt > pos + 4) port.write(pos + 4, filled("\0", crcAt - pos - 4));
      if (ext > crcAt + 4 - pos) port.write(crcAt + 4, filled("\0", ext - (crcAt + 4 - pos)));
      delete st.at[key];
    }
    pos += ext;
  }
}

// Erases every page but the current one (stale copies, half-copied or half-erased pages).
export function storeEraseOthers(st: PageStore): void {
  for (let p = 0; p < st.pages.length; p++) if (p !== st.cur) st.port.erase(st.pages[p]!);
}

// The self-destruct after its `destroyed` record is committed (STORAGE.md §A6): zeroise every other
// record in place, compact keeping only `destroyed`, erase every other page, then append `done`.
// Each step is idempotent: after a cut, storeWipePending says so and this runs again from the top.
export function storeFinishWipe(st: PageStore, destroyed: number, done: number): void {
  storeZeroise(st, destroyed);
  storeCompact(st, destroyed);
  storeEraseOthers(st);
  storePut(st, done, "\x01");
}

// A committed `destroyed` record newer than the newest `done` record: a wipe a cut interrupted.
export function storeWipePending(st: PageStore, destroyed: number, done: number): boolean {
  return st.at[destroyed] !== undefined && storeOrder(st, done) < storeOrder(st, destroyed);
}
