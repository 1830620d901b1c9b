// The SSD1306 OLED controller as an I2C device: it decodes the command stream and GDDRAM writes the
// way the chip does (Solomon Systech SSD1306 datasheet rev 1.1, §8.1.5 I2C: after the address, a
// control byte — Co bit 7, D/C# bit 6 — then command or data bytes; §9-10 command table; §10.1.3
// addressing modes), and shows what the panel would light: GDDRAM through segment remap (A0/A1),
// COM scan direction (C0/C8), multiplex ratio (A8), display offset (D3), start line (40-7F),
// contrast is kept but not rendered, normal/inverse (A6/A7), entire-display-on (A4/A5), display
// on/off (AE/AF) and the charge pump (8D 14: without it a panel on the internal supply stays dark).
// A multi-byte command's arguments may come in later transactions (the SSD1306 module sends each
// byte as its own [0x00, byte] write): the parser state outlives one write, as on the chip.
// Orientation: A1 + C8 (the SSD1306 module's and most drivers' setting) shows GDDRAM column 0,
// page 0 bit 0 at the top-left of the panel; A0 mirrors left-right and C0 top-bottom.

/** Argument bytes that follow each command (datasheet §9 table). */
function argCount(cmd: number): number {
  if (cmd === 0x81 || cmd === 0x20 || cmd === 0xa8 || cmd === 0xd3 || cmd === 0xd5 || cmd === 0xd9 || cmd === 0xda || cmd === 0xdb || cmd === 0x8d) return 1;
  if (cmd === 0x21 || cmd === 0x22 || cmd === 0xa3) return 2;
  if (cmd === 0x26 || cmd === 0x27) return 6;
  if (cmd === 0x29 || cmd === 0x2a) return 5;
  return 0;
}

export interface Ssd1306Options { width?: number; height?: number; address?: number }

export class Ssd1306 {
  readonly width: number;
  readonly height: number;
  readonly address: number;
  readonly pages: number;
  /** GDDRAM, page-major: byte [page * width + column], bit n = row page*8+n. */
  readonly gddram: Uint8Array;
  displayOn = false;
  chargePump = false;
  inverse = false;
  entireOn = false;
  contrast = 0x7f;
  segRemap = false;
  comReverse = false;
  multiplex = 63;
  offset = 0;
  startLine = 0;
  addressingMode = 2; // page addressing after reset (datasheet §10.1.3)
  colStart = 0;
  colEnd = 127;
  pageStart = 0;
  pageEnd = 7;
  col = 0;
  page = 0;
  /** Bytes written to GDDRAM so far, and complete data transactions (a new frame for watchers). */
  dataBytes = 0;
  dataWrites = 0;
  /** Every command byte decoded, for tests and the trace. */
  readonly commandLog: number[][] = [];
  private pending: number[] | undefined;
  private pendingArgs = 0;

  constructor(opts: Ssd1306Options = {}) {
    this.width = opts.width ?? 128;
    this.height = opts.height ?? 64;
    this.address = opts.address ?? 0x3c;
    this.pages = this.height >> 3;
    this.gddram = new Uint8Array(this.width * this.pages);
    this.reset();
  }

  /** Power-on / RES# state (datasheet §8.9): display off, page addressing, GDDRAM undefined (kept as is: we keep zeros after power-up). */
  reset(): void {
    this.displayOn = false;
    this.chargePump = false;
    this.inverse = false;
    this.entireOn = false;
    this.contrast = 0x7f;
    this.segRemap = false;
    this.comReverse = false;
    this.multiplex = 63;
    this.offset = 0;
    this.startLine = 0;
    this.addressingMode = 2;
    this.colStart = 0;
    this.colEnd = this.width - 1;
    this.pageStart = 0;
    this.pageEnd = this.pages - 1;
    this.col = 0;
    this.page = 0;
    this.pending = undefined;
    this.pendingArgs = 0;
  }

  /** Power removed: the panel forgets everything. */
  powerOff(): void {
    this.gddram.fill(0);
    this.reset();
  }

  /** One I2C write transaction addressed to this chip (the bytes after the address byte). */
  write(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const control = bytes[i++]!;
      const continuation = (control & 0x80) !== 0; // Co = 1: one byte, then another control byte
      const isData = (control & 0x40) !== 0;
      if (continuation) {
        if (i >= bytes.length) return;
        const b = bytes[i++]!;
        if (isData) this.data(b); else this.commandByte(b);
        continue;
      }
      for (; i < bytes.length; i++) {
        if (isData) this.data(bytes[i]!); else this.commandByte(bytes[i]!);
      }
      if (isData) this.dataWrites++;
    }
  }

  private data(b: number): void {
    this.gddram[this.page * this.width + this.col] = b;
    this.dataBytes++;
    if (this.addressingMode === 0) { // horizontal
      if (++this.col > this.colEnd) {
        this.col = this.colStart;
        if (++this.page > this.pageEnd) this.page = this.pageStart;
      }
    } else if (this.addressingMode === 1) { // vertical
      if (++this.page > this.pageEnd) {
        this.page = this.pageStart;
        if (++this.col > this.colEnd) this.col = this.colStart;
      }
    } else if (this.col < this.width - 1) this.col++; // page mode: the column stops at the end
  }

  private commandByte(b: number): void {
    if (this.pending !== undefined) {
      this.pending.push(b);
      if (--this.pendingArgs === 0) {
        const c = this.pending;
        this.pending = undefined;
        this.execute(c);
      }
      return;
    }
    const n = argCount(b);
    if (n === 0) this.execute([b]);
    else {
      this.pending = [b];
      this.pendingArgs = n;
    }
  }

  private execute(c: number[]): void {
    this.commandLog.push(c);
    const cmd = c[0]!;
    if (cmd <= 0x0f) { if (this.addressingMode === 2) this.col = (this.col & 0xf0) | cmd; return; }
    if (cmd <= 0x1f) { if (this.addressingMode === 2) this.col = ((cmd & 0x0f) << 4 | (this.col & 0x0f)) % this.width; return; }
    if (cmd >= 0x40 && cmd <= 0x7f) { this.startLine = cmd & 0x3f; return; }
    if (cmd >= 0xb0 && cmd <= 0xb7) { if (this.addressingMode === 2) this.page = (cmd & 7) % this.pages; return; }
    switch (cmd) {
      case 0x20: this.addressingMode = c[1]! & 3; if (this.addressingMode === 3) this.addressingMode = 2; return;
      case 0x21: this.colStart = (c[1]! & 0x7f) % this.width; this.colEnd = (c[2]! & 0x7f) % this.width; this.col = this.colStart; return;
      case 0x22: this.pageStart = (c[1]! & 7) % this.pages; this.pageEnd = (c[2]! & 7) % this.pages; this.page = this.pageStart; return;
      case 0x81: this.contrast = c[1]!; return;
      case 0x8d: this.chargePump = (c[1]! & 0x04) !== 0; return;
      case 0xa0: this.segRemap = false; return;
      case 0xa1: this.segRemap = true; return;
      case 0xa4: this.entireOn = false; return;
      case 0xa5: this.entireOn = true; return;
      case 0xa6: this.inverse = false; return;
      case 0xa7: this.inverse = true; return;
      case 0xa8: this.multiplex = Math.max(15, c[1]! & 0x3f); return;
      case 0xae: this.displayOn = false; return;
      case 0xaf: this.displayOn = true; return;
      case 0xc0: this.comReverse = false; return;
      case 0xc8: this.comReverse = true; return;
      case 0xd3: this.offset = c[1]! & 0x3f; return;
      default: return; // clock, precharge, COM pins, VCOMH, scrolling, NOP: no visible effect modelled
    }
  }

  /** What the panel lights now, rows of 0/1 (top-left first). Dark when off or without the charge pump. */
  visible(): number[][] {
    const rows: number[][] = [];
    const lit = this.displayOn && this.chargePump;
    for (let y = 0; y < this.height; y++) {
      const row: number[] = [];
      for (let x = 0; x < this.width; x++) {
        if (!lit || y > this.multiplex) { row.push(0); continue; }
        if (this.entireOn) { row.push(1); continue; }
        const com = this.comReverse ? y : this.multiplex - y;
        const ramRow = (com + this.startLine + this.offset) % 64;
        const ramCol = this.segRemap ? x : this.width - 1 - x;
        const bit = ramRow < this.height ? (this.gddram[(ramRow >> 3) * this.width + ramCol]! >> (ramRow & 7)) & 1 : 0;
        row.push(this.inverse ? bit ^ 1 : bit);
      }
      rows.push(row);
    }
    return rows;
  }
}
