// The PIN-verdict counter on the page store (STORAGE.md §A4): one unary record, key TALLY_KEY,
//   payload = carried u8 | share (32 B)         tail = 64 words, one per verdict
// A verdict takes the first erased tail word and clears its low half (attempt: 00 00 FF FF) BEFORE
// the verdict is judged; an authentic OK then clears the whole word (success: 00 00 00 00), which
// closes the failure run. failures = used words after the last all-zero word, or carried + used
// when the record holds no success yet. Any word that is not exactly 00 00 00 00 counts as a
// failure, so a cut while marking makes the counter more pessimistic, never more generous.
// A full tail: a new record with carried = failures and the same share (its CRC is the commit).
// Costs: an OK verdict = 2 word writes, a bad one = 1, no page space beyond its word; a new record
// (44 B + 256 B tail) every 64 verdicts.
import { storeGet, storePut, tailUsed, tailLastZero, tailMark, UNARY_WORDS, ZERO4, type PageStore } from "./pages.ts";
import { chr } from "./bytes.ts";
import { raise } from "../raise.ts";

export const TALLY_KEY = 0x81;
export const SHARE_BYTES = 32;
const ATTEMPT = "\0\0\xff\xff";

export function tallyExists(st: PageStore): boolean {
  return storeGet(st, TALLY_KEY) !== undefined;
}

export function tallyShare(st: PageStore): string {
  const p = storeGet(st, TALLY_KEY);
  return p === undefined ? "" : p.substr(1, SHARE_BYTES);
}

export function tallyFailures(st: PageStore): number {
  const p = storeGet(st, TALLY_KEY);
  if (p === undefined) return 0;
  const used = tailUsed(st, TALLY_KEY);
  const z = tailLastZero(st, TALLY_KEY);
  return z >= 0 ? used - z - 1 : p.charCodeAt(0) + used;
}

// A fresh counter: `carried` failures, `share` kept with it.
export function tallyReset(st: PageStore, carried: number, share: string): void {
  if (share.length !== SHARE_BYTES || carried < 0 || carried > 255) raise("tally: bad reset");
  storePut(st, TALLY_KEY, chr(carried) + share);
}

// Durably spends one try; returns its word index for tallySuccess.
export function tallyBegin(st: PageStore): number {
  if (!tallyExists(st)) raise("tally: no counter");
  let used = tailUsed(st, TALLY_KEY);
  if (used >= UNARY_WORDS) {
    const f = tallyFailures(st);
    tallyReset(st, f > 255 ? 255 : f, tallyShare(st));
    used = 0;
  }
  tailMark(st, TALLY_KEY, used, ATTEMPT);
  return used;
}

// Gives the try of `slot` back: failures drop to 0.
export function tallySuccess(st: PageStore, slot: number): void {
  tailMark(st, TALLY_KEY, slot, ZERO4);
}
