/**
 * The carrier's hash-chained transaction log (PROTOCOL.md §7.6): read it with LOG_READ page by
 * page and verify every page's chain, and that pages join up.
 *   h_i = SHA-256("KCLG" ‖ h_(i−1) ‖ entry_i); a page says base, entries, end; end = fold(base, entries)
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { KeyCarrier } from "../client.ts";
import { ProtocolError } from "../errors.ts";
import { concatBytes } from "../channel/keys.ts";
import { FlowCommand, ascii, toHex } from "./protocol.ts";

export interface LogEntry {
  atc: number;
  result: "authorized" | "declined";
  orderId: string;
  merchantId: string;
  amount: number;
  currency: string;
  /** Chain hash after this entry. */
  hash: string;
}

export interface CarrierLog {
  /** Oldest first. */
  entries: LogEntry[];
  /** Hash before the first kept entry (h_0 = 32 zero bytes when nothing was dropped). */
  base: string;
  head: string;
  kept: number;
  verified: true;
}

const LOG_TAG = ascii("KCLG");

export function chainStep(previous: Uint8Array, entry: Uint8Array): Uint8Array {
  return sha256(concatBytes(LOG_TAG, previous, entry));
}

/** Folds entries onto `base`; returns the hash after each. */
export function foldLog(base: Uint8Array, entries: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let h = base;
  for (const e of entries) {
    h = chainStep(h, e);
    out.push(h);
  }
  return out;
}

/** entry = u32 ATC ‖ u8 result ‖ u8 len ‖ orderId ‖ u8 len ‖ merchantId ‖ u64 amount ‖ currency(3) */
export function decodeLogEntry(e: Uint8Array): Omit<LogEntry, "hash"> {
  const bad = (why: string): ProtocolError => new ProtocolError(`log entry ${toHex(e)} is malformed (${why}) — PROTOCOL.md §7.6`);
  if (e.length < 4 + 1 + 1 + 1 + 8 + 3) throw bad("too short");
  const view = new DataView(e.buffer, e.byteOffset, e.byteLength);
  const atc = view.getUint32(0);
  const result = e[4];
  if (result !== 0 && result !== 1) throw bad(`result byte ${result}`);
  let at = 5;
  const orderLen = e[at++]!;
  const orderId = e.subarray(at, at + orderLen);
  at += orderLen;
  const merchantLen = e[at++]!;
  const merchantId = e.subarray(at, at + merchantLen);
  at += merchantLen;
  if (at + 11 !== e.length) throw bad("length fields do not add up");
  const amount = view.getUint32(at) * 0x100000000 + view.getUint32(at + 4);
  const currency = String.fromCharCode(...e.subarray(at + 8, at + 11));
  return { atc, result: result === 1 ? "authorized" : "declined", orderId: toHex(orderId), merchantId: toHex(merchantId), amount, currency };
}

function bytesField(map: Map<number, unknown>, key: number, what: string): Uint8Array {
  const v = map.get(key);
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new ProtocolError(`LOG_READ field ${key} (${what}) must be 32 bytes — PROTOCOL.md §7.6`);
  return v;
}

/** Reads the whole kept log and verifies it; throws when any page's chain or the joins break. */
export async function readLog(kc: KeyCarrier): Promise<CarrierLog> {
  const pages: { entries: Uint8Array[]; base: Uint8Array; end: Uint8Array }[] = [];
  let skip = 0;
  let kept = 0;
  let head: Uint8Array | undefined;
  for (let guard = 0; guard < 64; guard++) {
    const reply = await kc.request(FlowCommand.LOG_READ, skip ? new Map([[1, skip]]) : new Map());
    const list = reply.get(1);
    if (!Array.isArray(list) || !list.every((x) => x instanceof Uint8Array)) throw new ProtocolError("LOG_READ field 1 must be a list of byte strings — PROTOCOL.md §7.6");
    const entries = list as Uint8Array[];
    const base = bytesField(reply, 2, "base");
    const end = bytesField(reply, 3, "end");
    const keptField = reply.get(4);
    if (typeof keptField !== "number") throw new ProtocolError("LOG_READ field 4 (entries kept) must be a number");
    kept = keptField;
    if (head === undefined) head = end;
    const folded = foldLog(base, entries);
    const computedEnd = folded.length ? folded[folded.length - 1]! : base;
    if (toHex(computedEnd) !== toHex(end)) {
      throw new ProtocolError(`the carrier's log does not verify: entries ${skip + 1}–${skip + entries.length} from the newest fold to ${toHex(computedEnd)}, but the carrier says ${toHex(end)} — the log was altered`);
    }
    const previous = pages[pages.length - 1];
    if (previous && toHex(previous.base) !== toHex(end)) {
      throw new ProtocolError("the carrier's log pages do not join (a page's end differs from the next newer page's base) — the log was altered or changed while reading");
    }
    pages.push({ entries, base, end });
    skip += entries.length;
    if (entries.length === 0 || skip >= kept) break;
  }
  const ordered = pages.reverse();
  const base = ordered.length ? ordered[0]!.base : new Uint8Array(32);
  const allEntries = ordered.flatMap((p) => p.entries);
  const hashes = foldLog(base, allEntries);
  return {
    entries: allEntries.map((e, i) => ({ ...decodeLogEntry(e), hash: toHex(hashes[i]!) })),
    base: toHex(base),
    head: toHex(head ?? base),
    kept,
    verified: true,
  };
}
