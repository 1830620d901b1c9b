// Loads the shared vectors and converts their JSON value notation (firmware/vectors/cbor.json
// "valueNotation") to and from the firmware codec's in-memory values.
import { readFileSync } from "node:fs";
import { text, isText, type CborValue, type CborMap } from "../../src/codec.ts";

export type VectorValue = number | boolean | null | VectorValue[] | { bytes: string } | { text: string } | { map: [number, VectorValue][] };

export interface CborVectors {
  source: string;
  limits: { maxDepth: number; maxItems: number; maxBytes: number };
  valid: { from: string; hex: string; value: VectorValue; note?: string }[];
  invalid: { from: string; hex: string; why: string; status: number }[];
}

export interface FrameVector { name: string; section: string; hex: string; version: number; type: number; seq: number; code: number; bodyHex: string; body: VectorValue }
export interface DeviceVector { name: string; section: string; hex: string; expect: "silent" | { status: number; seq: number; bodyHex?: string } }
export interface FrameVectors { source: string; magicHex: string; maxBody: number; valid: FrameVector[]; device: DeviceVector[] }

const root = new URL("../../vectors/", import.meta.url);
export const cborVectors = JSON.parse(readFileSync(new URL("cbor.json", root), "utf8")) as CborVectors;
export const frameVectors = JSON.parse(readFileSync(new URL("frames.json", root), "utf8")) as FrameVectors;

export function hexToBytes(hex: string): string {
  return Buffer.from(hex, "hex").toString("latin1");
}

export function bytesToHex(bytes: string): string {
  return Buffer.from(bytes, "latin1").toString("hex");
}

// Text travels as UTF-8 bytes; the firmware sees the raw bytes (boards have no unicode).
export function fromVector(v: VectorValue): CborValue {
  if (v === null || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(fromVector);
  if ("bytes" in v) return hexToBytes(v.bytes);
  if ("text" in v) return text(Buffer.from(v.text, "utf8").toString("latin1"));
  const m: CborMap = {};
  for (const [k, x] of v.map) m[k] = fromVector(x);
  return m;
}

export function toVector(v: CborValue): VectorValue {
  if (v === null || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "string") return { bytes: bytesToHex(v) };
  if (Array.isArray(v)) return v.map(toVector);
  if (isText(v)) return { text: Buffer.from(v.tstr, "latin1").toString("utf8") };
  return { map: Object.keys(v).map((k) => [Number(k), toVector(v[Number(k)]!)] as [number, VectorValue]) };
}
