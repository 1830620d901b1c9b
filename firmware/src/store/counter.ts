// Unary attempt counter of the platform's PIN verdicts (STORAGE.md §4). A/B pair of pre-sized files:
//   file    = header (48 B) + attempt bytes [slots] + success bytes [slots]
//   header  = "KCC1" | gen u32 | carried u8 | 0 0 0 | share (32 B) | crc32(previous 44 B) u32
// `share` is an opaque 32-byte value the owner keeps with the counter (the carrier stores one of
// the two shares of its device secret here, SECURITY.md §5); rotation copies it.
// Attempt i clears attempt byte i (one write-once offset write) BEFORE the verdict is judged; an
// authentic OK verdict then clears success byte i, which closes the epoch (the failure run) — no erase,
// no rewrite. failures = attempts since the last success byte (+ carried, when this file has no
// success yet). Any bit cleared counts as written, so a half-programmed attempt still counts and a
// half-programmed success does not: a power cut can only make the counter more pessimistic.
// A full file rotates: the other file is created with gen + 1 and carried = failures (its single
// creating write is the commit), then the old one is erased.
import { readU32, u32, chr } from "./bytes.ts";
import { createOther, eraseOthers, eraseTornVariants } from "./space.ts";
import type { StoreEnv } from "./ports.ts";
import { raise } from "../raise.ts";

export const COUNTER_MAGIC = "KCC1";
export const COUNTER_SHARE_BYTES = 32;
export const COUNTER_HEADER_BYTES = 48;

export interface CounterState { current: number; gen: number; carried: number; used: number; failures: number; share: string }

export interface UnaryCounter {
  failures(): number;
  // Durably record the start of an attempt; returns its slot. Rotates first if the file is full.
  beginAttempt(): number;
  // Durably record that the attempt in `slot` succeeded: failures drop to 0.
  markSuccess(slot: number): void;
  // Create a fresh file with `carried` failures and `share` (personalisation); erases the old one.
  reset(carried: number, share: string): void;
  share(): string;
  eraseAll(): void;
  exists(): boolean;
}

// fileBytes may exceed header + 2 * slots (the tail stays 0xFF): the carrier gives every store file
// the same size so a torn Espruino size word is completed by the next creation (STORAGE.md §6).
export function scanCounter(env: StoreEnv, names: string[], slots: number, fileBytes?: number): CounterState {
  const size = fileBytes === undefined ? COUNTER_HEADER_BYTES + 2 * slots : fileBytes;
  const st: CounterState = { current: -1, gen: 0, carried: 0, used: 0, failures: 0, share: "" };
  let content = "";
  for (let i = 0; i < names.length; i++) {
    const s = env.storage.read(names[i]!);
    if (s === undefined || s.length !== size || s.substr(0, 4) !== COUNTER_MAGIC) continue;
    if (readU32(s, COUNTER_HEADER_BYTES - 4) !== env.crc32(s.substr(0, COUNTER_HEADER_BYTES - 4))) continue;
    const gen = readU32(s, 4);
    if (st.current < 0 || gen > st.gen) {
      st.current = i;
      st.gen = gen;
      st.carried = s.charCodeAt(8);
      st.share = s.substr(12, COUNTER_SHARE_BYTES);
      content = s;
    }
  }
  if (st.current < 0) return st;
  const attempts = content.substr(COUNTER_HEADER_BYTES, slots);
  const used = attempts.indexOf("\xff");
  st.used = used < 0 ? slots : used;
  // Only a fully programmed success byte (0x00) counts: conservative after a torn write.
  const lastSuccess = content.substr(COUNTER_HEADER_BYTES + slots, st.used).lastIndexOf("\x00");
  st.failures = lastSuccess < 0 ? st.carried + st.used : st.used - 1 - lastSuccess;
  return st;
}

export function openCounter(env: StoreEnv, names: string[], slots: number, fileBytes?: number): UnaryCounter {
  const size = fileBytes === undefined ? COUNTER_HEADER_BYTES + 2 * slots : fileBytes;
  // 2 names, 16-4000 slots, and room for them in the file
  if (names.length !== 2 || !(slots >= 16 && slots <= 4000) || size < COUNTER_HEADER_BYTES + 2 * slots) raise("store: bad counter: " + names.length + " names, " + slots + " slots, " + size + " B");
  eraseTornVariants(env, names);
  let st = scanCounter(env, names, slots, size);
  eraseOthers(env, names, st.current);

  function create(carried: number, share: string): void {
    if (share.length !== COUNTER_SHARE_BYTES) raise("store: counter share of " + share.length + " B");
    const header = COUNTER_MAGIC + u32(st.gen + 1) + chr(carried > 255 ? 255 : carried, 0, 0, 0) + share;
    createOther(env, names, st.current, size, header + u32(env.crc32(header)));
    st = scanCounter(env, names, slots, size);
  }

  return {
    failures: function () {
      return st.current < 0 ? 0 : st.failures;
    },
    beginAttempt: function () {
      if (st.current < 0) raise("store: no counter file");
      if (st.used >= slots) create(st.failures, st.share);
      const slot = st.used;
      env.storage.write(names[st.current]!, "\x00", COUNTER_HEADER_BYTES + slot);
      st.used++;
      st.failures++;
      return slot;
    },
    markSuccess: function (slot: number) {
      if (slot !== st.used - 1) raise("store: slot " + slot + " is not the last attempt");
      env.storage.write(names[st.current]!, "\x00", COUNTER_HEADER_BYTES + slots + slot);
      st.failures = 0;
    },
    reset: create,
    share: function () {
      return st.share;
    },
    eraseAll: function () {
      eraseOthers(env, names, -1);
      st = scanCounter(env, names, slots, size);
    },
    exists: function () {
      return st.current >= 0;
    },
  };
}
