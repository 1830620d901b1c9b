// Test wiring: the carrier (security/carrier.ts) on the page store (store/pages.ts) over a strict
// fake flash bank with a profile's store pages (v2-harness.ts: puckjs 2 × 4 KB by default), next to
// the virtual board's EspruinoStorage on a NorFlash with the profile's Storage geometry (for the
// files the firmware still keeps there: .boot0, kc.tk, the offline applet's), node:crypto for
// SHA-256/AES, and a seeded RNG so every run is repeatable.
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { NorFlash, type FlashGeometry } from "../../../board/src/flash.ts";
import { EspruinoStorage, crc32, stringToBytes } from "../../../board/src/storage.ts";
import type { StoreEnv } from "../../src/store/ports.ts";
import type { CryptoPort } from "../../src/security/crypto-port.ts";
import { openCarrier, DEFAULT_CONFIG, type Carrier, type CarrierConfig } from "../../src/security/carrier.ts";
import { openPageStore, type PageStore } from "../../src/store/pages.ts";
import { profileBank, FlashBank } from "./v2-harness.ts";
import type { Presence } from "../../src/security/presence.ts";

export function profileGeometry(board: string): FlashGeometry {
  const p = JSON.parse(readFileSync(new URL(`../../../board/boards/${board}.json`, import.meta.url), "utf8"));
  return { size: p.storage.bytes, pageSize: p.storage.pageBytes, wordSize: p.storage.wordBytes, endurance: p.storage.eraseEndurance };
}

export const PUCK = profileGeometry("puckjs");

// Stand-in for the firmware bundle Espruino keeps in Storage: makes the store multi-page, as on a
// board, so a cut during compaction really is fatal (storage-model.md).
export const BUNDLE_BYTES = 5000;

export function bytes(s: string): Uint8Array {
  return stringToBytes(s, "test data");
}

export function envOver(storage: EspruinoStorage, pageBytes: number): StoreEnv {
  return {
    storage: {
      read: (n, o, l) => storage.read(n, o, l),
      write: (n, d, o, s) => storage.write(n, d, o, s),
      erase: (n) => storage.erase(n),
      list: (f) => storage.list(f),
      getFree: () => storage.getFree(),
      getStats: () => storage.getStats(),
      compact: () => storage.compact(),
    },
    crc32: (s) => crc32(bytes(s)),
    pageBytes: pageBytes,
  };
}

export function seededCrypto(seed: number): CryptoPort & { reseed(n: number): void } {
  let counter = 0;
  let base = seed;
  const sha = (s: string) => createHash("sha256").update(Buffer.from(s, "latin1")).digest().toString("latin1");
  const aes = (dir: "enc" | "dec", key: string, data: string) => {
    if (key.length !== 32 || data.length % 16 !== 0) throw new Error(`test AES: key ${key.length} B / data ${data.length} B; need 32 / multiple of 16`);
    const c = dir === "enc" ? createCipheriv("aes-256-ecb", Buffer.from(key, "latin1"), null) : createDecipheriv("aes-256-ecb", Buffer.from(key, "latin1"), null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(Buffer.from(data, "latin1")), c.final()]).toString("latin1");
  };
  return {
    sha256: sha,
    aesEncryptEcb: (k, d) => aes("enc", k, d),
    aesDecryptEcb: (k, d) => aes("dec", k, d),
    randomBytes: (n) => {
      let out = "";
      while (out.length < n) out += sha(`rng:${base}:${counter++}`);
      return out.substr(0, n);
    },
    reseed: (n) => {
      base = n;
      counter = 0;
    },
  };
}

export class FakePresence implements Presence {
  armed = false;
  takeConfirmation(): boolean {
    const a = this.armed;
    this.armed = false;
    return a;
  }
}

// The test config: the defaults (no PIN stretching any more: the PIN is checked online).
export const TEST_CONFIG: CarrierConfig = { ...DEFAULT_CONFIG };

export type StoreProfile = "puckjs" | "pico" | "nrf52840";

export interface Rig {
  flash: NorFlash;
  storage: EspruinoStorage;
  env: StoreEnv;
  // the page store's flash and the store opened on it (reopened by reboot)
  bank: FlashBank;
  pages: PageStore;
  crypto: ReturnType<typeof seededCrypto>;
  presence: FakePresence;
  clock: { ms: number };
  config: CarrierConfig;
  carrier: Carrier;
  // power-cycle: new Storage over the same flash, Espruino's boot check, the page store reopened, then openCarrier
  reboot(): "ok" | "wiped";
}

export function openPages(bank: FlashBank): PageStore {
  return openPageStore(bank.port, bank.pages, bank.sizes);
}

export function makeRig(opts: { config?: CarrierConfig; geometry?: FlashGeometry; profile?: StoreProfile; seed?: number; bundle?: boolean; image?: Uint8Array; bankImage?: ReturnType<FlashBank["snapshot"]> } = {}): Rig {
  const geometry = opts.geometry ?? (opts.profile ? profileGeometry(opts.profile) : PUCK);
  const flash = new NorFlash(geometry, { seed: opts.seed ?? 7 });
  if (opts.image) flash.restore(opts.image);
  const first = new EspruinoStorage(flash);
  if (opts.bundle !== false && !opts.image) first.write(".bootcde", "x".repeat(BUNDLE_BYTES));
  const bank = profileBank(opts.profile ?? "puckjs", opts.seed ?? 7);
  if (opts.bankImage) bank.restore(opts.bankImage);
  const clock = { ms: 0 };
  const crypto = seededCrypto(opts.seed ?? 7);
  const presence = new FakePresence();
  const config = opts.config ?? TEST_CONFIG;
  const pages = openPages(bank);
  const rig = {
    flash,
    storage: first,
    env: envOver(first, geometry.pageSize),
    bank,
    pages,
    crypto,
    presence,
    clock,
    config,
    carrier: undefined as unknown as Carrier,
    reboot(): "ok" | "wiped" {
      flash.cancelPowerCuts();
      flash.powerOn();
      bank.powerOn();
      rig.storage = new EspruinoStorage(flash);
      const boot = rig.storage.bootCheck();
      rig.env = envOver(rig.storage, geometry.pageSize);
      rig.pages = openPages(bank);
      rig.carrier = openCarrier({ store: rig.pages, crypto, presence, now: () => clock.ms }, config);
      return boot;
    },
  };
  rig.carrier = openCarrier({ store: pages, crypto, presence, now: () => clock.ms }, config);
  return rig;
}

// Does the raw flash image (Storage's NorFlash, or every region of a page-store bank) contain `needle` anywhere?
export function flashContains(flash: NorFlash | FlashBank, needle: string): boolean {
  const images = flash instanceof FlashBank ? flash.snapshot().images : [flash.snapshot()];
  return images.some((img) => Buffer.from(img).indexOf(Buffer.from(needle, "latin1")) >= 0);
}
