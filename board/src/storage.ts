/**
 * Espruino's `require("Storage")` reimplemented over the NOR flash model.
 *
 * The on-flash format and every decision below follow Espruino's src/jsflash.c (`jsf*`
 * functions), src/jswrap_storage.c (`jswrap_storage_*`) and jshFlashWriteAligned
 * (src/jshardware_common.c); each method names the function it mirrors. Nothing is cached in
 * RAM: every call re-reads flash, so a new instance over the same flash is "the board after a
 * reboot", exactly what the power-cut tests need.
 *
 * Format (little-endian, as on ARM):
 *   header (32 B) = u32 size (low 24 bits: data length; top 8 bits: flags 64=StorageFile, 128=compressed)
 *                 + 28 B name, NUL-padded. A deleted file has its first 4 name bytes cleared to 0.
 *   data follows, padded to the write alignment (the flash word size, JSF_ALIGNMENT).
 *   Files are chained: next header at align(header + 32 + size). A page whose first header is
 *   invalid ends the chain; an invalid header mid-page makes the scan jump to the next page.
 *
 * Byte strings (each char 0–255) are the currency, as on a board.
 */
import { NorFlash } from "./flash.ts";
import { StorageFile, type StorageFileMode } from "./storage-file.ts";

export const HEADER_SIZE = 32;
export const NAME_LENGTH = 28;
export const FLAG_STORAGEFILE = 64;
export const FLAG_COMPRESSED = 128;
const WORD_UNSET = 0xffffffff;

export interface StorageOptions {
  /** flash address of the Storage area (page aligned); default 0 */
  start?: number;
  /** bytes of the Storage area (whole pages); default: the rest of the flash */
  size?: number;
  /** console output (Espruino prints `Compacting...`, `Storage is corrupt.`) */
  print?(line: string): void;
  /** throw on names > 28 chars, empty names, NUL or drive prefixes instead of truncating/colliding (default true) */
  strictNames?: boolean;
  /** throw when StorageFile data contains 0xFF (which Espruino reads back as end-of-file) (default true) */
  strictStorageFileData?: boolean;
  /** the board's address of flash offset 0, used only by hash() (which mixes in file addresses) */
  mappedBase?: number;
}

export interface StorageStats {
  totalBytes: number;
  freeBytes: number;
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
}

/** Mutable header buffer: like the C code, a failed read of a next header leaves the old contents. */
interface Header {
  size: number; // raw u32 incl. flags
  name: Uint8Array; // 28 bytes
}
/** `addr` is null where Espruino's C code uses address 0 as "none". */
interface Cursor {
  addr: number | null;
}

export type StorageWriteData = string | number | Uint8Array | ArrayBuffer | number[] | Record<string, unknown>;

function newHeader(): Header {
  return { size: 0, name: new Uint8Array(NAME_LENGTH) };
}
function fileSize(h: Header): number {
  return h.size & 0x00ffffff;
}
function fileFlags(h: Header): number {
  return h.size >>> 24;
}
function isReplaced(h: Header): boolean {
  return h.name[0] === 0 && h.name[1] === 0 && h.name[2] === 0 && h.name[3] === 0;
}
function namesEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < NAME_LENGTH; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function bytesToString(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

export function stringToBytes(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff)
      throw new Error(`${what} is not a byte string: char ${i} is U+${c.toString(16).padStart(4, "0")}; encode it to bytes (one char per byte, 0–255) first`);
    out[i] = c;
  }
  return out;
}

/** Espruino's string form of a name field: the bytes up to the first NUL (jsfVarFromName). */
export function nameFieldToString(field: Uint8Array): string {
  let n = 0;
  while (n < NAME_LENGTH && field[n] !== 0) n++;
  return bytesToString(field.subarray(0, n));
}

/** CRC-32 (IEEE), as E.CRC32 computes it; one implementation for the whole board. */
import { crc32 } from "./runtime/bytes.ts";
export { crc32 };

export class EspruinoStorage {
  readonly flash: NorFlash;
  readonly start: number;
  readonly end: number;
  readonly pageSize: number;
  /** JSF_ALIGNMENT: the flash word size */
  readonly alignment: number;
  /** STORAGEFILE_CHUNKSIZE for Storage areas under 1 MB: min(page, 4096) − 32 */
  readonly chunkSize: number;
  readonly strictNames: boolean;
  readonly strictStorageFileData: boolean;
  private readonly print: (line: string) => void;
  private readonly mappedBase: number;

  constructor(flash: NorFlash, opts: StorageOptions = {}) {
    const g = flash.geometry;
    const start = opts.start ?? 0;
    const size = opts.size ?? g.size - start;
    if (!Number.isInteger(start) || start < 0 || start % g.pageSize !== 0)
      throw new Error(`Storage start ${start} must be a page-aligned flash address (pages are ${g.pageSize} bytes)`);
    if (!Number.isInteger(size) || size <= 0 || size % g.pageSize !== 0 || start + size > g.size)
      throw new Error(`Storage size ${size} must be whole ${g.pageSize}-byte pages inside the ${g.size}-byte flash (start ${start})`);
    if (g.pageSize < 2 * HEADER_SIZE) throw new Error(`page size ${g.pageSize} is too small for Espruino Storage`);
    if (g.wordSize > HEADER_SIZE) throw new Error(`word size ${g.wordSize} exceeds the 32-byte header`);
    this.flash = flash;
    this.start = start;
    this.end = start + size;
    this.pageSize = g.pageSize;
    this.alignment = g.wordSize;
    this.chunkSize = (g.pageSize < 4096 ? g.pageSize : 4096) - HEADER_SIZE;
    this.strictNames = opts.strictNames ?? true;
    this.strictStorageFileData = opts.strictStorageFileData ?? true;
    this.print = opts.print ?? (() => {});
    this.mappedBase = opts.mappedBase ?? 0;
  }

  // ───────────────────────────── public API (jswrap_storage.c) ─────────────────────────────

  /** jswrap_storage_read → jsfReadFile */
  read(name: string, offset = 0, length = 0): string | undefined {
    const b = this.readBytes(this.nameField(name), offset, length);
    return b === undefined ? undefined : bytesToString(b);
  }

  /**
   * jsfReadFile as a board returns it: the bytes and the flash offset they start at (a native
   * string pointing into memory-mapped flash, jsvAddressToVar), for E.getAddressOf.
   */
  readMapped(name: string, offset = 0, length = 0): { data: string; flashOffset: number } | undefined {
    const h = newHeader();
    const addr = this.findFile(this.nameField(name), h);
    if (addr === null) return undefined;
    // the clipping of jsfReadFile (readBytes), on the header found once
    const len = fileSize(h);
    const off = offset < 0 ? 0 : offset > len ? len : offset;
    let n = length <= 0 ? len : length;
    if (off + n > len) n = len - off;
    return { data: n <= 0 ? "" : bytesToString(this.flash.read(addr + off, n)), flashOffset: addr + off };
  }

  /** jswrap_storage_readArrayBuffer */
  readArrayBuffer(name: string): ArrayBuffer | undefined {
    const b = this.readBytes(this.nameField(name), 0, 0);
    return b === undefined ? undefined : (b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer);
  }

  /** jswrap_storage_readJSON: Espruino's JSON.parse, which accepts unquoted keys. */
  readJSON(name: string, noExceptions = false): unknown {
    const text = this.read(name);
    if (text === undefined) return undefined;
    try {
      return parseEspruinoJSON(text);
    } catch (e) {
      if (noExceptions) return undefined;
      throw e;
    }
  }

  /** jswrap_storage_write → jsfWriteFile. Throws Espruino's messages. */
  write(name: string, data: StorageWriteData, offset = 0, size = 0): true {
    let bytes: Uint8Array;
    if (typeof data === "string") bytes = stringToBytes(data, `Storage.write("${name}") data`);
    else if (typeof data === "number") bytes = Uint8Array.of(data & 0xff); // a number is one byte (facts §5)
    else if (data instanceof Uint8Array) bytes = data.slice();
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data.slice(0));
    else if (Array.isArray(data)) bytes = Uint8Array.from(data, (v) => Number(v) & 0xff);
    else if (data !== null && typeof data === "object") {
      // jswrap_storage_write: objects are stringified, and offset/size are ignored
      bytes = stringToBytes(stringifyEspruinoJSON(data), "JSON");
      offset = 0;
      size = 0;
    } else throw new Error(`Storage.write("${name}"): can't get data to write from ${String(data)}; pass a string, number, array or object`);
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0)
      // Espruino silently returns false here; we throw (stricter where it protects users)
      throw new Error(`Storage.write("${name}"): offset (${offset}) and size (${size}) must be integers ≥ 0`);
    this.writeFileRaw(this.nameField(name), bytes, 0, offset, size);
    return true;
  }

  /** jswrap_storage_writeJSON: writes with unquoted keys, e.g. {a:[1,2],b:"x"} (facts §5). */
  writeJSON(name: string, value: unknown): true {
    const text = stringifyEspruinoJSON(value);
    this.writeFileRaw(this.nameField(name), stringToBytes(text, "JSON"), 0, 0, 0);
    return true;
  }

  /** jswrap_storage_erase → jsfEraseFile. Returns undefined, like Espruino. */
  erase(name: string): void {
    this.eraseFileRaw(this.nameField(name));
  }

  /** jswrap_storage_list → jsfBankListFiles + jsfBankListFilesHandleFile */
  list(filter?: string | RegExp, opts?: { sf?: boolean }): string[] {
    let containing = 0;
    let notContaining = 0;
    if (opts && opts.sf !== undefined) {
      if (opts.sf) containing |= FLAG_STORAGEFILE;
      else notContaining |= FLAG_STORAGEFILE;
    }
    const out: string[] = [];
    this.forEachListedFile(filter, containing, notContaining, (n) => out.push(n));
    return out;
  }

  /** jswrap_storage_hash → jsfHashFiles (names and addresses, StorageFiles excluded) */
  hash(filter?: string | RegExp): number {
    let hash = 0xabcddcba;
    this.forEachListedFile(filter, 0, FLAG_STORAGEFILE, (n, addr) => {
      hash = ((hash << 1) | (hash >>> 31)) >>> 0;
      hash = (hash ^ ((addr + this.mappedBase) >>> 0) ^ crc32(stringToBytes(n, "name"))) >>> 0;
    });
    return hash | 0; // JsVarInt is int32
  }

  /** jswrap_storage_getStats → jsfGetStorageStats(0, true) */
  getStats(): StorageStats {
    const s = this.storageStats();
    return { totalBytes: s.total, freeBytes: s.free, fileBytes: s.fileBytes, fileCount: s.fileCount, trashBytes: s.trashBytes, trashCount: s.trashCount };
  }

  /** jswrap_storage_getFree */
  getFree(): number {
    return this.storageStats().free;
  }

  /** jswrap_storage_compact → jsfCompact */
  compact(): void {
    this.bankCompact();
  }

  /** jswrap_storage_eraseAll → jsfEraseAll → jshFlashErasePages over the whole area */
  eraseAll(): void {
    this.erasePages(this.start, this.end - this.start);
  }

  /** jswrap_storage_open */
  open(name: string, mode: StorageFileMode): StorageFile {
    return new StorageFile(this, name, mode);
  }

  /**
   * The first-boot check of jsiSemiInit (src/jsinteractive.c):
   * `if (!jsfIsStorageValid(JSFSTT_NORMAL)) { print "Storage is corrupt."; jsfResetStorage(); }`
   * (non-Bangle boards print nothing when storage is fine).
   */
  bootCheck(): "ok" | "wiped" {
    if (this.isStorageValid()) return "ok";
    this.print("Storage is corrupt.");
    // jsfResetStorage
    this.print("Erasing Storage Area...");
    this.eraseAll();
    this.print("Erase complete.");
    return "wiped";
  }

  /** jsfIsBankStorageValid with JSFSTT_NORMAL: see board/docs/storage-model.md for the exact rules. */
  isStorageValid(): boolean {
    const cur: Cursor = { addr: this.start };
    let oldAddr = this.start;
    const h = newHeader();
    const valid = this.loadHeader(this.start, h);
    if (valid) {
      while (this.nextFileHeader(cur, h, true)) oldAddr = cur.addr!;
      if (cur.addr === null) {
        // the scan may have stopped just because storage is full
        const newAddr = this.alignUp(oldAddr + fileSize(h) + HEADER_SIZE);
        if (newAddr <= this.end && newAddr + HEADER_SIZE > this.end) return true;
      }
    }
    const raw = this.headerBytes(h);
    const allFF = raw.every((b) => b === 0xff);
    if (allFF && cur.addr === this.start) return this.isErased(this.start, this.end - this.start);
    return allFF;
  }

  // ─────────────────── internals shared with StorageFile (jsflash.c equivalents) ───────────────────

  /** jsfNameFromVar (+ our strict checks). Returns the 28-byte NUL-padded field. */
  nameField(name: string, maxLength = NAME_LENGTH): Uint8Array {
    if (typeof name !== "string") throw new Error(`Storage file name must be a string (got ${typeof name})`);
    if (this.strictNames) {
      if (name.length === 0) throw new Error(`Storage file name is empty; on a board it would match deleted files. Use 1–${maxLength} characters`);
      if (name.length > maxLength)
        throw new Error(
          `Storage file name "${name}" is ${name.length} characters; Espruino keeps only the first ${maxLength} and silently collides with other names sharing them. Use at most ${maxLength} characters`,
        );
      if (name.includes("\0")) throw new Error(`Storage file name ${JSON.stringify(name)} contains NUL, which ends names on a board; remove it`);
      if (name[1] === ":") throw new Error(`Storage file name "${name}" has a drive prefix ("${name.slice(0, 2)}"), which Espruino strips; drop the prefix`);
    }
    const bytes = stringToBytes(name, `Storage file name "${name}"`);
    const field = new Uint8Array(NAME_LENGTH);
    field.set(bytes.subarray(0, NAME_LENGTH));
    return field;
  }

  /** jsfReadFile: bytes of a file, clipped as Espruino clips offset/length. */
  readBytes(name: Uint8Array, offset: number, length: number): Uint8Array | undefined {
    const h = newHeader();
    const addr = this.findFile(name, h);
    if (addr === null) return undefined;
    if (offset < 0) offset = 0;
    const len = fileSize(h);
    if (length <= 0) length = len;
    if (offset > len) offset = len;
    if (offset + length > len) length = len - offset;
    if (length <= 0) return new Uint8Array(0);
    return this.flash.read(addr + offset, length);
  }

  /** jsfFindFile → jsfBankFindFile. Returns the data address (after the header) or null. */
  findFile(nameIn: Uint8Array, out?: Header): number | null {
    const name = this.stripDrive(nameIn);
    const h = newHeader();
    const cur: Cursor = { addr: this.start };
    if (!this.loadHeader(this.start, h)) return null;
    do {
      if (namesEqual(h.name, name)) {
        if (out) {
          out.size = h.size;
          out.name.set(h.name);
        }
        return cur.addr! + HEADER_SIZE;
      }
    } while (this.nextFileHeader(cur, h, true));
    return null;
  }

  /** Size and flags of a file's header at data address `addr`. */
  headerAt(dataAddr: number): { size: number; flags: number; name: Uint8Array } {
    const h = newHeader();
    this.loadHeader(dataAddr - HEADER_SIZE, h);
    return { size: fileSize(h), flags: fileFlags(h), name: h.name };
  }

  /** jsfWriteFile */
  writeFileRaw(name: Uint8Array, data: Uint8Array, flags: number, offset: number, sizeIn: number): void {
    let size = sizeIn;
    if (size === 0) size = data.length;
    if (!size) throw new Error("Can't create zero length file");
    const h = newHeader();
    let addr = this.findFile(name, h);
    if (
      (addr === null && offset === 0) ||
      (addr !== null && offset === 0 && (flags !== fileFlags(h) || size !== fileSize(h) || !this.isErased(addr, size)))
    ) {
      if (addr !== null && offset === 0 && size === fileSize(h) && flags === fileFlags(h) && data.length === size && this.isEqual(addr, data))
        return; // identical: nothing to do
      if (addr !== null) this.eraseFileAt(addr); // delete BEFORE creating: not power-safe, as on the board
      addr = this.createFile(name, size, flags, h);
    }
    if (addr === null) throw new Error("Unable to find or create file");
    if (offset + data.length > fileSize(h)) throw new Error("Too much data for file size");
    addr += offset;
    if (!this.isErased(addr, data.length)) throw new Error("File already written with different data");
    this.flashWriteAligned(data, addr);
  }

  /** jsfEraseFile: returns whether a file was found. */
  eraseFileRaw(name: Uint8Array): boolean {
    const addr = this.findFile(name);
    if (addr === null) return false;
    this.eraseFileAt(addr);
    return true;
  }

  /** jshFlashWriteAligned: read-modify-write the partial words at either end. */
  flashWriteAligned(data: Uint8Array, addrIn: number): void {
    const A = this.alignment;
    let addr = addrIn;
    let pos = 0;
    let len = data.length;
    const lead = addr & (A - 1);
    if (lead) {
      const word = this.flash.read(addr - lead, A);
      const n = Math.min(A - lead, len);
      word.set(data.subarray(0, n), lead);
      this.flash.write(addr - lead, word);
      addr += n;
      pos += n;
      len -= n;
      if (!len) return;
    }
    const tail = len & (A - 1);
    const body = len - tail;
    if (body) this.flash.write(addr, data.subarray(pos, pos + body));
    addr += body;
    pos += body;
    if (tail) {
      const word = this.flash.read(addr, A);
      word.set(data.subarray(pos, pos + tail), 0);
      this.flash.write(addr, word);
    }
  }

  // ───────────────────────────── jsflash.c internals ─────────────────────────────

  private alignUp(a: number): number {
    return Math.ceil(a / this.alignment) * this.alignment;
  }

  private pageStart(addr: number): number {
    return Math.floor(addr / this.pageSize) * this.pageSize;
  }

  /** jsfStripDriveFromName: "C:foo" → "foo" (the drive letter selects a bank on 2-bank boards). */
  private stripDrive(name: Uint8Array): Uint8Array {
    if (name[1] !== 0x3a) return name;
    const out = new Uint8Array(NAME_LENGTH);
    out.set(name.subarray(2));
    return out;
  }

  private headerBytes(h: Header): Uint8Array {
    const b = new Uint8Array(HEADER_SIZE);
    new DataView(b.buffer).setUint32(0, h.size >>> 0, true);
    b.set(h.name, 4);
    return b;
  }

  /** jsfGetFileHeader: load the header at addr into h; valid = size not 0xFFFFFFFF, not 0, and fits. */
  private loadHeader(addr: number | null, h: Header): boolean {
    if (addr === null) return false;
    const raw = this.flash.read(addr, HEADER_SIZE);
    h.size = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true);
    h.name.set(raw.subarray(4, HEADER_SIZE));
    return h.size !== WORD_UNSET && h.size !== 0 && addr + HEADER_SIZE + fileSize(h) <= this.end;
  }

  /** jsfGetAddressOfNextPage */
  private nextPage(addr: number | null): number | null {
    if (addr === null) return null;
    const next = this.pageStart(addr) + this.pageSize;
    return next >= this.end ? null : next;
  }

  /** jsfGetSpaceLeftInPage: up to the next page, or to the end if the next page starts empty. */
  private spaceLeftInPage(addr: number | null): number {
    if (addr === null) return 0; // Espruino passes address 0 here, which never yields a usable hole
    let nextPageStart = this.pageStart(addr) + this.pageSize;
    if (nextPageStart < this.end && !this.loadHeader(nextPageStart, newHeader())) nextPageStart = this.end;
    return nextPageStart - addr;
  }

  /**
   * jsfGetNextFileHeader. getAll = GNFH_GET_ALL: if the header after this file is invalid,
   * try the start of the next page (and stop there either way).
   */
  private nextFileHeader(cur: Cursor, h: Header, getAll: boolean): boolean {
    const oldAddr = cur.addr!;
    cur.addr = null;
    const newAddr = this.alignUp(oldAddr + fileSize(h) + HEADER_SIZE);
    if (newAddr + HEADER_SIZE > this.end) return false; // not enough space for another header
    cur.addr = newAddr;
    let valid = this.loadHeader(newAddr, h);
    if (getAll && !valid) {
      const next = this.nextPage(newAddr);
      cur.addr = next;
      if (next === null) return false;
      valid = this.loadHeader(next, h);
    }
    return valid;
  }

  /** jsfIsErased */
  private isErased(addr: number, len: number): boolean {
    if (len <= 0) return true;
    return this.flash.read(addr, len).every((b) => b === 0xff);
  }

  /** jsfIsEqual */
  private isEqual(addr: number, data: Uint8Array): boolean {
    const cur = this.flash.read(addr, data.length);
    for (let i = 0; i < data.length; i++) if (cur[i] !== data[i]) return false;
    return true;
  }

  /** jsfEraseFileInternal: clear name.firstChars (a legal 1→0 word write). */
  private eraseFileAt(dataAddr: number): void {
    this.flash.write(dataAddr - HEADER_SIZE + 4, new Uint8Array(4));
  }

  /** jshFlashErasePages */
  private erasePages(addr: number, len: number): void {
    for (let p = this.pageStart(addr); p < addr + len; p += this.pageSize) this.flash.erasePage(p);
  }

  /** jsfGetStorageStats(start, allPages=true) */
  private storageStats(): { total: number; free: number; fileBytes: number; fileCount: number; trashBytes: number; trashCount: number } {
    const s = { total: this.end - this.start, free: 0, fileBytes: 0, fileCount: 0, trashBytes: 0, trashCount: 0 };
    const cur: Cursor = { addr: this.start };
    const h = newHeader();
    let lastAddr = this.start;
    if (this.loadHeader(this.start, h))
      do {
        const size = this.alignUp(fileSize(h)) + HEADER_SIZE;
        lastAddr = cur.addr! + size;
        if (!isReplaced(h)) {
          s.fileBytes += size;
          s.fileCount++;
        } else {
          s.trashBytes += size;
          s.trashCount++;
        }
      } while (this.nextFileHeader(cur, h, true));
    s.free = this.end - lastAddr;
    return s;
  }

  /**
   * jsfCreateFile: first hole big enough (scanning page by page), compacting once if none.
   * Auto-compaction prints `Compacting...` and only runs when free + trash could fit the file
   * (measured on 2v29, facts §5); otherwise the caller reports `Unable to find or create file`.
   */
  private createFile(nameIn: Uint8Array, size: number, flags: number, out: Header): number | null {
    const name = this.stripDrive(nameIn);
    const required = this.alignUp(size) + HEADER_SIZE;
    let compacted = false;
    let freeAddr: number | null = null;
    const h = newHeader();
    while (freeAddr === null) {
      const cur: Cursor = { addr: this.start };
      do {
        if (this.loadHeader(cur.addr, h))
          do {
            /* walk to the end of this run of files */
          } while (this.nextFileHeader(cur, h, false));
        if (this.spaceLeftInPage(cur.addr) < required) cur.addr = this.nextPage(cur.addr);
        else freeAddr = cur.addr;
      } while (cur.addr !== null && freeAddr === null);
      if (freeAddr === null) {
        if (compacted) return null;
        compacted = true;
        const stats = this.storageStats();
        if (stats.trashBytes === 0 || stats.free + stats.trashBytes < required) return null;
        this.print("Compacting...");
        if (!this.bankCompact()) return null;
      }
    }
    out.size = (size | (flags << 24)) >>> 0;
    out.name.set(name);
    this.flash.write(freeAddr, this.headerBytes(out)); // header first, no checksum: not power-safe
    return freeAddr + HEADER_SIZE;
  }

  /**
   * jsfBankCompact + jsfCompactInternal: stream live files down to the start through a circular
   * RAM buffer of min(fileBytes, page + 32) bytes, erasing each destination page just before
   * writing it. A power cut after such an erase loses whatever was only in the RAM buffer.
   * (Espruino falls back to a JsVar buffer when the stack is short; we always have RAM.)
   */
  private bankCompact(): boolean {
    const stats = this.storageStats();
    if (!stats.trashBytes) return true; // already fully compacted
    let bufSize = stats.fileBytes;
    if (bufSize > this.pageSize + HEADER_SIZE) bufSize = this.pageSize + HEADER_SIZE;
    const buf = new Uint8Array(bufSize);
    const st = { write: this.start, head: 0, tail: 0, used: 0 };
    const h = newHeader();
    const cur: Cursor = { addr: this.start };
    if (this.loadHeader(this.start, h))
      do {
        if (!isReplaced(h)) {
          // memcpy_circular of the header
          for (const b of this.headerBytes(h)) {
            buf[st.head] = b;
            st.head = (st.head + 1) % bufSize;
          }
          st.used += HEADER_SIZE;
          let alignedSize = this.alignUp(fileSize(h));
          let ptr = cur.addr! + HEADER_SIZE;
          this.compactWriteBuffer(st, ptr, buf);
          while (alignedSize) {
            let s = bufSize - st.used;
            if (s > bufSize - st.head) s = bufSize - st.head;
            if (st.tail > st.head && s > st.tail - st.head) s = st.tail - st.head;
            if (s === 0) return false; // Espruino: "compact> error - no space left!"
            if (s > alignedSize) s = alignedSize;
            buf.set(this.flash.read(ptr, s), st.head);
            alignedSize -= s;
            ptr += s;
            st.used += s;
            st.head = (st.head + s) % bufSize;
            this.compactWriteBuffer(st, ptr, buf);
          }
        }
      } while (this.nextFileHeader(cur, h, true));
    this.compactWriteBuffer(st, this.end, buf);
    // erase whatever is left after the new end of data, up to where the scan stopped
    let writeAddr: number | null = st.write;
    if (writeAddr !== this.start) writeAddr = this.nextPage(writeAddr - 1);
    if (writeAddr !== null) {
      const stopAddr = cur.addr ?? this.end;
      this.erasePages(writeAddr, stopAddr - writeAddr);
    }
    return true;
  }

  /** jsfCompactWriteBuffer: flush the buffer, but never into a page we are still reading from. */
  private compactWriteBuffer(st: { write: number; head: number; tail: number; used: number }, readAddr: number, buf: Uint8Array): void {
    const bufSize = buf.length;
    let nextFlashPage = this.nextPage(st.write) ?? this.end;
    while (st.used) {
      let s = st.used;
      if (s + st.tail > bufSize) s = bufSize - st.tail;
      if (s + st.write > nextFlashPage) s = nextFlashPage - st.write;
      if (readAddr < nextFlashPage) return; // still reading from the page we'd write
      if (this.pageStart(st.write) === st.write) this.flash.erasePage(st.write);
      this.flash.write(st.write, buf.subarray(st.tail, st.tail + s));
      st.write += s;
      nextFlashPage = this.nextPage(st.write) ?? this.end;
      st.tail = (st.tail + s) % bufSize;
      st.used -= s;
    }
  }

  /** jsfBankListFiles + jsfBankListFilesHandleFile */
  private forEachListedFile(filter: string | RegExp | undefined, containing: number, notContaining: number, cb: (name: string, headerAddr: number) => void): void {
    const h = newHeader();
    const cur: Cursor = { addr: this.start };
    if (!this.loadHeader(this.start, h)) return;
    do {
      if (isReplaced(h)) continue;
      const flags = fileFlags(h);
      if (notContaining & flags) continue;
      if (containing && !(containing & flags)) continue;
      const field = h.name.slice();
      if (flags & FLAG_STORAGEFILE) {
        let i = 0;
        while (i + 1 < NAME_LENGTH && field[i + 1]) i++;
        if (field[i] !== 1) continue; // only the first chunk stands for the StorageFile
        if (containing & FLAG_STORAGEFILE) field[i] = 0;
      }
      const name = nameFieldToString(field);
      let match = true;
      if (filter !== undefined) match = typeof filter === "string" ? name.includes(filter) : name.match(filter) !== null;
      if (match) cb(name, cur.addr!);
    } while (this.nextFileHeader(cur, h, true));
  }
}

// ───────────────────────────── Espruino-flavoured JSON ─────────────────────────────

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** JSON as Storage.writeJSON stores it: identifier keys unquoted (facts §5: `{a:[1,2],b:"x"}`). */
export function stringifyEspruinoJSON(value: unknown): string {
  const out = enc(value, true);
  if (out === undefined) throw new Error(`writeJSON: ${String(value)} has no JSON form; pass an object, array, string, number or boolean`);
  return out;
}

function enc(v: unknown, top: boolean): string | undefined {
  if (v === null) return "null";
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "string":
      return JSON.stringify(v);
    case "undefined":
    case "function":
    case "symbol":
      return top ? undefined : undefined;
    case "bigint":
      throw new Error("writeJSON: BigInt does not exist on Espruino; convert it to a number or string");
  }
  if (Array.isArray(v)) return "[" + v.map((x) => enc(x, false) ?? "null").join(",") + "]";
  if (v instanceof Uint8Array) return "new Uint8Array([" + Array.from(v).join(",") + "])";
  const parts: string[] = [];
  for (const k of Object.keys(v as object)) {
    const e = enc((v as Record<string, unknown>)[k], false);
    if (e === undefined) continue;
    parts.push((IDENT.test(k) ? k : JSON.stringify(k)) + ":" + e);
  }
  return "{" + parts.join(",") + "}";
}

/** Espruino's JSON.parse as readJSON uses it: standard JSON plus unquoted identifier keys. */
export function parseEspruinoJSON(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`JSON.parse: ${what} at position ${i} of ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text)}`);
  };
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const q = text[i++];
    let s = "";
    while (i < text.length && text[i] !== q) {
      let c = text[i++]!;
      if (c === "\\") {
        const e = text[i++];
        if (e === "n") c = "\n";
        else if (e === "t") c = "\t";
        else if (e === "r") c = "\r";
        else if (e === "b") c = "\b";
        else if (e === "f") c = "\f";
        else if (e === "0") c = "\0";
        else if (e === "x") {
          c = String.fromCharCode(parseInt(text.slice(i, i + 2), 16));
          i += 2;
        } else if (e === "u") {
          c = String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else if (e === undefined) fail("unterminated escape");
        else c = e;
        if (c !== c || Number.isNaN(c.charCodeAt(0))) fail("bad escape");
      }
      s += c;
    }
    if (text[i] !== q) fail("unterminated string");
    i++;
    return s;
  };
  const val = (): unknown => {
    ws();
    const c = text[i];
    if (c === undefined) return fail("unexpected end");
    if (c === "{") {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        let key: string;
        if (text[i] === '"' || text[i] === "'") key = str();
        else {
          const m = /^[A-Za-z0-9_$]+/.exec(text.slice(i));
          if (!m) return fail("expected a key");
          key = m[0];
          i += key.length;
        }
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        o[key] = val();
        ws();
        const d = text[i++];
        if (d === "}") return o;
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(val());
        ws();
        const d = text[i++];
        if (d === "]") return a;
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"' || c === "'") return str();
    const m = /^(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|true|false|null|undefined)/.exec(text.slice(i));
    if (!m) return fail(`unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    if (m[0] === "true") return true;
    if (m[0] === "false") return false;
    if (m[0] === "null") return null;
    if (m[0] === "undefined") return undefined;
    return Number(m[0]);
  };
  const v = val();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}
