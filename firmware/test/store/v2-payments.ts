// The carrier's flash traffic per payment, driven straight at store v2 (no interpreter: 100,000
// payments in seconds) and, for comparison, the naive design: Storage.writeJSON of the whole
// state, twice per payment (the try spent before the verdict is judged, then the result with the
// new log entry and the try given back), in Espruino Storage next to a firmware bundle of the
// release size. Used by pages-payments.test.ts and bench/storage.ts.
import { NorFlash } from "../../../board/src/flash.ts";
import { EspruinoStorage } from "../../../board/src/storage.ts";
import { openPageStore, storePut, storeGet, type PageStore } from "../../src/store/pages.ts";
import { tallyBegin, tallyFailures, tallyReset, tallySuccess } from "../../src/store/tally.ts";
import { profileBank, type FlashBank } from "./v2-harness.ts";
import { profileGeometry } from "./harness.ts";

// Record keys as the carrier uses them (security/carrier.ts, perso/app-store.ts).
export const K_PERSO = 0x01;
export const K_APP_KEYS = 0x03;
export const K_ENTRY = 0x10;
export const RING = 8;

// A log entry as PAY writes it (PROTOCOL.md §7.6; STORAGE.md §A8): u32 ATC ‖ result ‖ len ‖ 16 B order id ‖ len ‖
// 11 B merchant id ‖ u64 amount ‖ currency = 46 B, stored after its predecessor's 32 B hash.
export function entryPayload(atc: number): string {
  const u32be = (n: number) => String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const entry = u32be(atc) + "\x01\x10" + ("order-" + String(atc).padStart(10, "0")) + "\x0bM-SHOP-0001" + "\0\0\0\0" + u32be(1999) + "EUR";
  return "H".repeat(31) + String.fromCharCode(atc & 255) + entry;
}

export function personalise(st: PageStore): void {
  tallyReset(st, 0, "S".repeat(32));
  storePut(st, K_APP_KEYS, "\x02" + "k".repeat(137)); // keys record v2: version byte + 137 B (STORAGE.md §A2)
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

export function paymentsOnStore(profile: "puckjs" | "pico" | "nrf52840", payments: number): { wear: PaymentWear; bank: FlashBank; st: PageStore } {
  const bank = profileBank(profile);
  let st = openPageStore(bank.port, bank.pages, bank.sizes);
  personalise(st);
  const e0 = bank.pageErases();
  for (let atc = 1; atc <= payments; atc++) pay(st, atc);
  st = openPageStore(bank.port, bank.pages, bank.sizes); // as after a power cycle: everything is in flash
  if (tallyFailures(st) !== 0 || storeGet(st, K_ENTRY + (payments % RING)) !== entryPayload(payments)) throw new Error("store lost a payment");
  const per = bank.pageErases().map((c, i) => c - e0[i]!);
  const erases = per.reduce((a, b) => a + b, 0);
  const busiest = Math.max(...per);
  return {
    bank,
    st,
    wear: {
      profile,
      payments,
      erases,
      erasesPer1000: (erases * 1000) / payments,
      busiestPageErases: busiest,
      projectedPayments: busiest === 0 ? Infinity : Math.floor((10_000 * payments) / busiest),
      pages: per.length,
      pageErases: per,
    },
  };
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
