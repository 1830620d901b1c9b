// A screen frame (rows of 0/1 pixels) as a PNG file, back from one, and as terminal text.
// PNG: lit pixels white, dark ones black, each pixel a scale×scale square, so tests can read the
// PNG back and compare it bit for bit with a rendering of the expected text (OCR-free).
import { PNG } from "pngjs";

export type Frame = number[][];

export function frameToPng(frame: Frame, scale = 2): Buffer {
  const h = frame.length, w = h ? frame[0]!.length : 0;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new RangeError(`scale must be an integer 1-16, got ${scale}`);
  const png = new PNG({ width: w * scale, height: h * scale });
  for (let y = 0; y < h * scale; y++) {
    for (let x = 0; x < w * scale; x++) {
      const v = frame[Math.floor(y / scale)]![Math.floor(x / scale)] ? 255 : 0;
      const i = (y * w * scale + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = v;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** Reads a frame PNG back: the centre of each scale×scale square, lit when brighter than mid-grey. */
export function pngToFrame(png: Buffer, scale = 2): Frame {
  const img = PNG.sync.read(png);
  if (img.width % scale || img.height % scale) throw new Error(`PNG ${img.width}x${img.height} is not a whole number of ${scale}x${scale} pixels`);
  const out: Frame = [];
  for (let y = 0; y < img.height / scale; y++) {
    const row: number[] = [];
    for (let x = 0; x < img.width / scale; x++) {
      const i = ((y * scale + (scale >> 1)) * img.width + x * scale + (scale >> 1)) * 4;
      row.push(img.data[i]! + img.data[i + 1]! + img.data[i + 2]! > 3 * 128 ? 1 : 0);
    }
    out.push(row);
  }
  return out;
}

/** Two pixel rows per text line with half blocks (▀ ▄ █), framed, for a terminal. */
export function frameToText(frame: Frame): string {
  const h = frame.length, w = h ? frame[0]!.length : 0;
  const lines = ["┌" + "─".repeat(w) + "┐"];
  for (let y = 0; y < h; y += 2) {
    let line = "│";
    for (let x = 0; x < w; x++) {
      const top = frame[y]![x], bottom = y + 1 < h ? frame[y + 1]![x] : 0;
      line += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    lines.push(line + "│");
  }
  lines.push("└" + "─".repeat(w) + "┘");
  return lines.join("\n");
}

/** Positions where two frames differ (empty: identical), at most `limit` of them. */
export function frameDiff(a: Frame, b: Frame, limit = 20): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const h = Math.max(a.length, b.length);
  for (let y = 0; y < h && out.length < limit; y++) {
    const w = Math.max(a[y]?.length ?? 0, b[y]?.length ?? 0);
    for (let x = 0; x < w && out.length < limit; x++) if ((a[y]?.[x] ?? -1) !== (b[y]?.[x] ?? -1)) out.push({ x, y });
  }
  return out;
}
