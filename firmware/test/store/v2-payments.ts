// The carrier's flash traffic per payment, through the carrier's own modules in Node (no
// interpreter: 100,000 payments in seconds; paymentsOnCarrier), or straight at the page store
// (paymentsOnStore, the store's own tests) and, for comparison, the naive design: Storage.writeJSON of the whole
// state, twice per payment (the try spent before the verdict is judged, then the result with the
// new log entry and the try given back), in Espruino Storage next to a firmware bundle of the
// release size. Used by pages-payments.test.ts and bench/storage.ts.
import { NorFlash } from "../../../board/src/flash.ts";
import { EspruinoStorage } from "../../../board/src/storage.ts";
import { openPageStore, storePut, storeGet, type PageStore } from "../../src/store/pages.ts";
import { tallyBegin, tallyFailures, tallyReset, tallySuccess } from "../../src/store/tally.ts";
import { profileBank, type FlashBank } from "./v2-harness.ts";
import { makeRig, profileGeometry, type Rig } from "./harness.ts";
import { createHash } from "node:crypto";
import { openAppStore, type AppStore } from "../../src/perso/app-store.ts";
import { chainNext, encodeEntry, RESULT_AUTHORIZED, ZERO_HASH, type Order } from "../../src/applets/tx-log.ts";
import { VERDICT_OK } from "../../src/security/verdict.ts";

// Record keys as the carrier uses them (security/carrier.ts, perso/app-store.ts).
export const K_PERSO = 0x01;
export const K_APP_KEYS = 0x03;
export const K_ENTRY = 0x10;
export const RING = 8;

// A log entry as PAY writes it (PROTOCOL.md §7.6; STORAGE.md §8): u32 ATC ‖ result ‖ len ‖ 16 B order id ‖ len ‖
// 11 B merchant id ‖ u64 amount ‖ currency = 46 B, stored after its predecessor's 32 B hash.
export function entryPayload(atc: number): string {
  const u32be = (n: number) => String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const entry = u32be(atc) + "\x01\x10" + ("order-" + String(atc).padStart(10, "0")) + "\x0bM-SHOP-0001" + "\0\0\0\0" + u32be(1999) + "EUR";
  return "H".repeat(31) + String.fromCharCode(atc & 255) + entry;
}

export function personalise(st: PageStore): void {
  tallyReset(st, 0, "S".repeat(32));
  storePut(st, K_APP_KEYS, "\x02" + "k".repeat(137)); // keys record v2: version byte + 137 B (STORAGE.md §2)
  storePut(st, K_PERSO, "\x02" + "p".repeat(64));
}

// One decided payment with an OK verdict: try spent, entry appended, try given back.
export function pay(st: PageStore, atc: number): void {
  if (tallyFailures(st) >= 10) throw new Error("carrier blocked"); // checked before every verdict
  const slot = tallyBegin(st);
  storePut(st, K_ENTRY + (atc % RING), entryPayload(atc));
  tallySuccess(st, slot);
}

export interface PaymentWear {
  profile: string;
  payments: number;
  erases: number;
  erasesPer1000: number;
  busiestPageErases: number;
  projectedPayments: number;
  pages: number;
  pageErases: number[];
}

function wearOf(profile: string, payments: number, per: number[]): PaymentWear {
  const erases = per.reduce((a, b) => a + b, 0);
  const busiest = Math.max(...per);
  return {
    profile,
    payments,
    erases,
    erasesPer1000: (erases * 1000) / payments,
    busiestPageErases: busiest,
    projectedPayments: busiest === 0 ? Infinity : Math.floor((10_000 * payments) / busiest),
    pages: per.length,
    pageErases: per,
  };
}

export function paymentsOnStore(profile: "puckjs" | "pico" | "nrf52840", payments: number): { wear: PaymentWear; bank: FlashBank; st: PageStore } {
  const bank = profileBank(profile);
  let st = openPageStore(bank.port, bank.pages, bank.sizes);
  personalise(st);
  const e0 = bank.pageErases();
  for (let atc = 1; atc <= payments; atc++) pay(st, atc);
  st = openPageStore(bank.port, bank.pages, bank.sizes); // as after a power cycle: everything is in flash
  if (tallyFailures(st) !== 0 || storeGet(st, K_ENTRY + (payments % RING)) !== entryPayload(payments)) throw new Error("store lost a payment");
  return { bank, st, wear: wearOf(profile, payments, bank.pageErases().map((c, i) => c - e0[i]!)) };
}

// An order as PAY takes it (16 B order id, 11 B merchant id: a 46 B entry, PROTOCOL.md §7.6).
export function order(atc: number): Order {
  return { orderId: "order-" + String(atc).padStart(10, "0"), merchantId: "M-SHOP-0001", amount: 1999 + (atc % 100), currency: "EUR" };
}

const sha256 = (s: string): string => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");

/**
 * Payments through the carrier's own logic, in Node: what PAY's settle() does to flash per decided,
 * authorized payment (firmware/src/applets/qr-payment.ts) — Carrier.countVerdict (the tally's attempt
 * mark before the judge, its success mark after an OK), then AppStore.appendEntry of the entry
 * tx-log.ts encodes at the next ATC after the chain head — on security/carrier.ts, perso/app-store.ts
 * and store/pages.ts over the profile's page bank (v2-harness.ts), personalised through PERSONALISE's
 * own calls (installKeys, enrol). No interpreter and no channel crypto (the cryptogram and the
 * verdict MAC write nothing): 100,000 payments take seconds. hil-tests/small-boards.test.ts runs the
 * same on the release bundle on the virtual board, fewer of them.
 */
export function paymentsOnCarrier(profile: "puckjs" | "pico" | "nrf52840", payments: number): { wear: PaymentWear; rig: Rig; store: AppStore; head: string } {
  const rig = makeRig({ profile });
  let store = openAppStore(rig.pages);
  const mk = rig.carrier.drawMasterKey();
  store.installKeys({ carrierId: "C".repeat(16), platformId: "KC-PLATFORM-TEST", channelKey: "k".repeat(32), wrappedCryptogramKey: rig.carrier.wrapKey(mk, "K".repeat(32)), maxAmount: 1_000_000 });
  if (rig.carrier.enrol(mk).status !== 0) throw new Error("enrol failed");
  const e0 = rig.bank.pageErases();
  let head = ZERO_HASH;
  for (let i = 1; i <= payments; i++) {
    const v = rig.carrier.countVerdict(() => VERDICT_OK);
    if (v.status !== 0) throw new Error(`payment ${i}: verdict status 0x${v.status.toString(16)} ${v.detail}`); // 0x20: STORAGE_FULL
    const atc = store.lastAtc() + 1;
    const entry = encodeEntry(atc, RESULT_AUTHORIZED, order(atc));
    store.appendEntry(atc, head, entry); // a StoreFull here would throw too
    head = chainNext(sha256, head, entry);
    rig.clock.ms += 1_000;
  }
  const wear = wearOf(profile, payments, rig.bank.pageErases().map((c, i) => c - e0[i]!));
  rig.reboot(); // as after a power cycle: everything is in flash
  store = openAppStore(rig.pages);
  return { wear, rig, store, head };
}

// Release bundle sizes the boards take (STORAGE.md §7.1) plus kc.tk (64 B) and .boot0 (112 B).
const BUNDLE: Record<string, number> = { puckjs: 30_591, pico: 29_379, nrf52840: 30_591 };

export function naiveState(atc: number, tries: number): Record<string, unknown> {
  const hex = (n: number, tag: number) => ((tag * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(n / 4).slice(0, n * 2);
  const log: string[] = [];
  for (let i = Math.max(1, atc - RING + 1); i <= atc; i++) log.push(Buffer.from(entryPayload(i), "latin1").toString("hex"));
  return { v: 2, state: 1, tries, atc, ds: hex(32, 2), wmk: hex(32, 4), keys: hex(138, 5), log };
}

export function paymentsNaive(profile: "puckjs" | "pico" | "nrf52840", payments: number): { erases: number; erasesPer1000: number; busiestPageErases: number; projectedPayments: number } {
  const flash = new NorFlash({ ...profileGeometry(profile), endurance: 10_000_000 });
  const storage = new EspruinoStorage(flash);
  storage.write(".bootcde", "x".repeat(BUNDLE[profile]!));
  storage.write("kc.tk", "t".repeat(32));
  storage.write(".boot0", "b".repeat(80));
  storage.writeJSON("state", naiveState(0, 10));
  const e0 = flash.eraseCounts();
  for (let atc = 1; atc <= payments; atc++) {
    storage.writeJSON("state", naiveState(atc - 1, 9)); // the try, durable before the verdict is judged
    storage.writeJSON("state", naiveState(atc, 10)); // the result: entry appended, try given back
  }
  const per = flash.eraseCounts().map((c, i) => c - e0[i]!);
  const erases = per.reduce((a, b) => a + b, 0);
  const busiest = Math.max(...per);
  return { erases, erasesPer1000: (erases * 1000) / payments, busiestPageErases: busiest, projectedPayments: busiest === 0 ? Infinity : Math.floor((10_000 * payments) / busiest) };
}
