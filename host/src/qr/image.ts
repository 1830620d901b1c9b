/**
 * QR images of payment codes: rendered to PNG and to the terminal with `qrcode`, decoded from PNG
 * (pngjs) or JPEG (jpeg-js) pixels with jsQR. The text is base45, so it uses the QR alphanumeric mode.
 */
import QRCode from "qrcode";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";

export class QrImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QrImageError";
  }
}

function segments(text: string): QRCode.QRCodeSegment[] {
  // Alphanumeric mode packs base45 at 5.5 bits per character; qrcode would otherwise pick byte mode.
  // Other text (not a payment code) is left to qrcode's own choice of modes.
  return /^[0-9A-Z $%*+\-./:]*$/.test(text) ? [{ data: text, mode: "alphanumeric" }] : [{ data: Buffer.from(text, "utf8"), mode: "byte" }];
}

export interface RenderOptions {
  /** Pixels per module (default 8). */
  scale?: number;
  /** Quiet zone in modules (default 4, the minimum ISO/IEC 18004 asks for). */
  margin?: number;
}

export async function renderQrPng(text: string, opts: RenderOptions = {}): Promise<Buffer> {
  return QRCode.toBuffer(segments(text), { type: "png", errorCorrectionLevel: "M", scale: opts.scale ?? 8, margin: opts.margin ?? 4 });
}

/** Half-block characters: two modules per character row, readable by a phone off a terminal. */
export async function renderQrTerminal(text: string): Promise<string> {
  return QRCode.toString(segments(text), { type: "terminal", small: true, errorCorrectionLevel: "M" });
}

interface Rgba { width: number; height: number; data: Uint8Array }

function decodePixels(image: Uint8Array): Rgba {
  const isPng = image.length > 8 && image[0] === 0x89 && image[1] === 0x50 && image[2] === 0x4e && image[3] === 0x47;
  const isJpeg = image.length > 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(image));
      return { width: png.width, height: png.height, data: png.data };
    }
    if (isJpeg) {
      const jpg = jpeg.decode(image, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 40 });
      return { width: jpg.width, height: jpg.height, data: jpg.data };
    }
  } catch (e) {
    throw new QrImageError(`cannot read the ${isPng ? "PNG" : "JPEG"} image: ${(e as Error).message}`);
  }
  throw new QrImageError("the image is neither PNG nor JPEG (unknown file signature) — save the QR code as .png or .jpg");
}

/** Finds the QR code in a PNG or JPEG image and returns its text. */
export function decodeQrImage(image: Uint8Array): string {
  const { width, height, data } = decodePixels(image);
  const found = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, width * height * 4), width, height, { inversionAttempts: "attemptBoth" });
  if (!found) throw new QrImageError(`no QR code found in the ${width}×${height} image — crop it to the code, improve the light or focus, and try again`);
  return found.data;
}
