// The PIN-verdict counter on the page store (STORAGE.md §A4): one unary record, key TALLY_KEY,
//   payload = carried u8 | share (32 B)         tail = 64 words, one per verdict
// A verdict takes the first erased tail word and clears its low half (attempt: 00 00 FF FF) BEFORE
// the verdict is judged; an authentic OK then clears the whole word (success: 00 00 00 00), which
// closes the failure run. failures = used words after the last all-zero word, or carried + used
// when the record holds no success yet. Any word that is not exactly 00 00 00 00 counts as a
// failure, so a cut while marking makes the counter more pessimistic, never more generous.
// A full tail: a new record with carried = failures and the same share (its CRC is the commit).
// Costs: an OK verdict = 2 word writes, a bad one = 1, no page space beyond its word; a new record
// (44 B + 256 B tail) every 64 verdicts. Few calls per verdict: each is ~0.7 ms on a board.
import { storeGet, storePut, UNARY_WORDS, ZERO4, type PageStore } from "./pages.ts";
import { chr } from "./bytes.ts";
import { raise } from "../raise.ts";

export const TALLY_KEY = 0x81;
export const SHARE_BYTES = 32;
const ATTEMPT = "\0\0\xff\xff";
const FF4 = "\xff\xff\xff\xff";
const TAIL_BYTES = 4 * UNARY_WORDS;
// The tally's payload is always 33 B (padded to 36): its tail starts 8 + 36 B after word0.
const TAIL_AT = 44;

export function tallyExists(st: PageStore): boolean {
  return st.at[TALLY_KEY] !== undefined;
}

export function tallyShare(st: PageStore): string {
  const p = storeGet(st, TALLY_KEY);
  return p === undefined ? "" : p.substr(1, SHARE_BYTES);
}

// Index of the first erased word of a tail string (UNARY_WORDS when full): a 4-byte 0xFF window can
// start inside a used word only when it runs into an erased one, so the first window rounded up to a
// word boundary is the first erased word (re-checked there).
function usedWords(s: string): number {
  let i = s.indexOf(FF4);
  while (i >= 0 && s.substr((i + 3) & ~3, 4) !== FF4) i = s.indexOf(FF4, i + 1);
  return i < 0 ? UNARY_WORDS : (i + 3) >> 2;
}

export function tallyFailures(st: PageStore): number {
  const a = st.at[TALLY_KEY];
  if (a === undefined) return 0;
  const s = st.port.read(a + TAIL_AT, TAIL_BYTES);
  const used = usedWords(s);
  // the last word that is exactly 00 00 00 00 (a window of zeros re-checked on its word boundary)
  let z = s.lastIndexOf(ZERO4);
  while (z > 0 && s.substr(z & ~3, 4) !== ZERO4) z = s.lastIndexOf(ZERO4, z - 1);
  if (z >= 0 && s.substr(z & ~3, 4) === ZERO4) return used - (z >> 2) - 1;
  return st.port.read(a + 4, 1).charCodeAt(0) + used; // carried + used: no success in this record
}

// A fresh counter: `carried` failures, `share` kept with it.
export function tallyReset(st: PageStore, carried: number, share: string): void {
  if (share.length !== SHARE_BYTES || carried < 0 || carried > 255) raise("tally: bad reset");
  storePut(st, TALLY_KEY, chr(carried) + share);
}

// Address of the first erased tail word, or -1 when the tail is full or there is no counter.
export function tallyNextWord(st: PageStore): number {
  const a = st.at[TALLY_KEY];
  if (a === undefined) return -1;
  const used = usedWords(st.port.read(a + TAIL_AT, TAIL_BYTES));
  return used < UNARY_WORDS ? a + TAIL_AT + 4 * used : -1;
}

// Durably spends one try; returns the address of its word, for tallySuccess.
export function tallyBegin(st: PageStore): number {
  if (!tallyExists(st)) raise("tally: no counter");
  let at = tallyNextWord(st);
  if (at < 0) {
    const f = tallyFailures(st);
    tallyReset(st, f > 255 ? 255 : f, tallyShare(st));
    at = tallyNextWord(st);
  }
  st.port.write(at, ATTEMPT);
  return at;
}

// Gives the try of the word at `at` (from tallyBegin) back: failures drop to 0.
export function tallySuccess(st: PageStore, at: number): void {
  st.port.write(at, ZERO4);
}
