/**
 * StorageFile, as `require("Storage").open(name, mode)` returns it (src/jswrap_storage.c,
 * jswrap_storage_open / jswrap_storagefile_*).
 *
 * A StorageFile is a chain of ordinary Storage files named `name` + chunk char (\x01, \x02, …,
 * up to \xFF), each `chunkSize` (= min(page, 4096) − 32) bytes, flagged StorageFile (64).
 * The end of the data is the first 0xFF byte, because erased flash reads 0xFF — which is why
 * data containing 0xFF is truncated on read back. With `strictStorageFileData` (the default)
 * we refuse such data instead of letting it silently vanish.
 */
import type { EspruinoStorage } from "./storage.ts";
import { bytesToString, FLAG_STORAGEFILE, NAME_LENGTH, stringToBytes } from "./storage.ts";

export type StorageFileMode = "r" | "w" | "a";

const READ_BUF = 32; // jswrap_storagefile_read_internal reads in 32-byte gulps (readLine works per gulp)

export class StorageFile {
  /** the name as given (Espruino keeps it truncated to 28 chars) */
  readonly name: string;
  private readonly storage: EspruinoStorage;
  private readonly field: Uint8Array;
  /** index of the chunk-number char in the name field */
  private readonly chunkIndex: number;
  private chunk = 1;
  private offset = 0;
  private addr: number | null = null;
  private len = 0;
  /** 0 after erase(): the object can then neither read nor write, as on a board */
  private mode: StorageFileMode | 0;

  constructor(storage: EspruinoStorage, name: string, mode: StorageFileMode) {
    if (mode !== "r" && mode !== "w" && mode !== "a") throw new Error(`Invalid mode ${JSON.stringify(mode)}`);
    this.storage = storage;
    // jsvNewFromStringVar(name, 0, 28): the chunk char then replaces char 28 of a 28-char name
    this.field = storage.nameField(name, NAME_LENGTH - 1);
    this.name = name.slice(0, NAME_LENGTH);
    let i = NAME_LENGTH - 1;
    while (i && this.field[i - 1] === 0) i--;
    this.chunkIndex = i;
    this.mode = mode;

    this.addr = this.find(1);
    this.len = this.addr === null ? 0 : storage.headerAt(this.addr).size;
    if (mode === "w" && this.addr !== null) {
      this.erase();
      this.mode = "w";
      this.addr = null;
      this.len = 0;
    }
    if (mode === "a") {
      // find the last chunk (the first one whose last byte is still 0xFF), then its end
      let lastCh = this.addr === null ? 0xff : this.lastByte(this.addr);
      while (this.addr !== null && lastCh !== 0xff && this.chunk < 255) {
        this.chunk++;
        this.addr = this.find(this.chunk);
        this.len = this.addr === null ? 0 : storage.headerAt(this.addr).size;
        if (this.addr !== null) lastCh = this.lastByte(this.addr);
      }
      if (this.addr !== null) this.offset = this.firstFF(this.addr, this.len);
    }
  }

  /** jswrap_storagefile_read: up to n bytes, or undefined at end of file. */
  read(n: number): string | undefined {
    return this.readInternal(n < 0 ? 0 : n, false);
  }

  /** jswrap_storagefile_readLine: up to and including "\n", or undefined at end of file. */
  readLine(): string | undefined {
    return this.readInternal(READ_BUF, true);
  }

  /** jswrap_storagefile_getLength: re-reads the chain from scratch. */
  getLength(): number {
    let chunk = 1;
    let length = 0;
    let addr = this.find(chunk);
    let lastCh = addr === null ? 0xff : this.lastByte(addr);
    while (addr !== null && lastCh !== 0xff && chunk < 255) {
      length += this.storage.headerAt(addr).size;
      chunk++;
      addr = this.find(chunk);
      if (addr !== null) lastCh = this.lastByte(addr);
    }
    if (addr !== null) length += this.firstFF(addr, this.storage.headerAt(addr).size);
    return length;
  }

  /** jswrap_storagefile_write: append. */
  write(data: string): void {
    if (this.mode !== "w" && this.mode !== "a") throw new Error("Can't write in this mode");
    const bytes = stringToBytes(String(data), `StorageFile("${this.name}").write data`);
    if (bytes.length === 0) return;
    if (this.storage.strictStorageFileData) {
      const ff = bytes.indexOf(0xff);
      if (ff >= 0)
        throw new Error(
          `StorageFile("${this.name}").write: data byte ${ff} is 0xFF, which Espruino reads back as end of file (everything after it is lost); encode the data so it never contains 0xFF`,
        );
    }
    const remaining = this.len - this.offset;
    if (this.addr !== null) {
      const onFlash = this.storage.headerAt(this.addr).name;
      let same = true;
      for (let i = 0; i <= this.chunkIndex; i++) if (onFlash[i] !== this.nameFor(this.chunk)[i]) same = false;
      if (!same) {
        this.addr = this.find(this.chunk);
        if (this.addr === null) throw new Error("File deleted while writing!");
      }
    } else {
      this.storage.writeFileRaw(this.nameFor(this.chunk), bytes, FLAG_STORAGEFILE, 0, this.storage.chunkSize);
      this.addr = this.find(this.chunk);
      this.len = this.storage.headerAt(this.addr!).size;
      this.offset = bytes.length;
      return;
    }
    if (bytes.length < remaining) {
      // jswrap_flash_write: no erased-check, the flash just ANDs (our flash throws on 0→1 instead)
      this.storage.flashWriteAligned(bytes, this.addr + this.offset);
      this.offset += bytes.length;
      return;
    }
    this.storage.flashWriteAligned(bytes.subarray(0, remaining), this.addr + this.offset);
    if (this.chunk === 255) throw new Error("File too big!");
    this.chunk++;
    const rest = bytes.subarray(remaining);
    this.storage.writeFileRaw(this.nameFor(this.chunk), rest, FLAG_STORAGEFILE, 0, this.storage.chunkSize);
    this.addr = this.find(this.chunk);
    this.len = this.storage.headerAt(this.addr!).size;
    this.offset = rest.length;
  }

  /** jswrap_storagefile_erase: erase chunks 1, 2, … until one is missing; the object is then closed. */
  erase(): void {
    for (let chunk = 1; chunk <= 255; chunk++) if (!this.storage.eraseFileRaw(this.nameFor(chunk))) break;
    this.chunk = 1;
    this.offset = 0;
    this.addr = null;
    this.mode = 0;
  }

  private readInternal(lenIn: number, isReadLine: boolean): string | undefined {
    if (this.mode !== "r") throw new Error("Can't read in this mode");
    if (this.addr === null) return undefined;
    let len = lenIn;
    let result: string | undefined;
    while (len) {
      let remaining = this.len - this.offset;
      if (remaining <= 0) {
        this.offset = 0;
        if (this.chunk === 255) this.addr = null;
        else {
          this.chunk++;
          this.addr = this.find(this.chunk);
          this.len = this.addr === null ? 0 : this.storage.headerAt(this.addr).size;
        }
        remaining = this.len;
        if (this.addr === null) return result;
      }
      let l = Math.min(len, READ_BUF, remaining);
      const buf = this.storage.flash.read(this.addr! + this.offset, l);
      for (let i = 0; i < l; i++) {
        if (buf[i] === 0xff) {
          l = i;
          len = l;
          break;
        }
        if (isReadLine && buf[i] === 0x0a) {
          l = i + 1;
          len = l;
          isReadLine = false;
          break;
        }
      }
      if (!l) break;
      result = (result ?? "") + bytesToString(buf.subarray(0, l));
      len -= l;
      this.offset += l;
      if (isReadLine) len = READ_BUF;
    }
    return result;
  }

  private nameFor(chunk: number): Uint8Array {
    const f = this.field.slice();
    f[this.chunkIndex] = chunk;
    return f;
  }

  private find(chunk: number): number | null {
    return this.storage.findFile(this.nameFor(chunk));
  }

  private lastByte(addr: number): number {
    return this.storage.flash.read(addr + this.storage.headerAt(addr).size - 1, 1)[0]!;
  }

  private firstFF(addr: number, len: number): number {
    const b = this.storage.flash.read(addr, len);
    const i = b.indexOf(0xff);
    return i < 0 ? len : i;
  }
}
