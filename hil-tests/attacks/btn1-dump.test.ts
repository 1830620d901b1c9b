// Attack (a), issue 11 item 1: a thief holds BTN1 at power-on (Espruino skips .bootcde: the
// firmware never runs, the REPL is live on USB), reads every Storage file through the REPL and
// searches the PIN offline with unlimited guesses; then tries to pay with what the dump holds.
// Before the online PIN this found a 6-digit PIN in 72 s (verifier, salt and both device-secret
// shares were in flash) and a forged cryptogram settled. Now:
//  - the dump is byte for byte the same whatever the cardholder's PIN is (two carriers, same
//    board seed and keys, PINs 111111 and 999999, each personalised and each paying the same
//    order with its PIN): no function of the dump — so no guess, however many — tells one PIN
//    from another;
//  - the dump does yield K_ac (SECURITY.md §7 says so), but a cryptogram forged with it for a new
//    order is refused by the platform: no PIN was verified online for that order.
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../host/src/platform/service.ts";
import { PlatformError } from "../../host/src/platform/service.ts";
import { computeAuthorizationCryptogram } from "../../host/src/channel/keys.ts";
import { seededCrypto } from "../../firmware/test/store/harness.ts";
import { changePinAtPlatform, type CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { btn1Dump, newOrder, pay, personalisedCarrier, productionPlatform } from "./world.ts";
import { crc32 } from "node:zlib";
import { openPageStore, storeGet, type FlashPort, type PageStore } from "../../firmware/src/store/pages.ts";
import { tallyShare } from "../../firmware/src/store/tally.ts";
import { REC_PERSO } from "../../firmware/src/security/carrier.ts";
import { REC_APP_KEYS } from "../../firmware/src/perso/app-store.ts";

const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

/** Every PIN encoding a search could look for, as bytes (ASCII, BCD, binary, CBOR text). */
function encodings(pin: string): Buffer[] {
  const n = Number(pin);
  const u32 = Buffer.alloc(4);
  u32.writeUInt32BE(n);
  const le = Buffer.from(u32).reverse();
  return [Buffer.from(pin), Buffer.from((pin.length % 2 ? "0" : "") + pin, "hex"), u32, le, Buffer.concat([Buffer.from([0x60 + pin.length]), Buffer.from(pin)])];
}

describe("attack: BTN1 dump of every Storage file + offline PIN search", () => {
  it("the dump is identical for two different PINs (nothing to search), and what it yields pays nothing", async () => {
    const platform = await productionPlatform();
    platforms.push(platform);
    const a = await personalisedCarrier(platform, "111111");
    rigs.push(a.rig);
    const order = newOrder(a);
    const paidA = await pay(a, "111111", order);
    expect(paidA.reply.status, String(paidA.reply.body.get(1))).toBe(0);

    // The same carrier identity on a second board of the same seed, the cardholder's PIN now
    // 999999 at the platform, paying the same order with it.
    expect(changePinAtPlatform(platform, a.carrierId, "111111", "999999").verdict).toBe(0);
    const b = await personalisedCarrier(platform, "999999", { carrierId: a.carrierId });
    rigs.push(b.rig);
    const paidB = await pay({ ...b, merchantId: a.merchantId }, "999999", order);
    expect(paidB.reply.status, String(paidB.reply.body.get(1))).toBe(0);

    const dumpA = btn1Dump(a.rig.board.flash.snapshot());
    const dumpB = btn1Dump(b.rig.board.flash.snapshot());
    const names = [...dumpA.keys()].sort();
    expect(names).toEqual(expect.arrayContaining([".bootcde", "kc.tk", ".boot0", "kc.st"])); // every file read through the REPL
    expect([...dumpB.keys()].sort()).toEqual(names);
    for (const name of names) expect(dumpB.get(name)!.equals(dumpA.get(name)!), `${name} differs between PIN 111111 and PIN 999999`).toBe(true);
    // and no encoding of either PIN is anywhere in it
    const all = Buffer.concat(names.filter((n) => n !== ".bootcde").map((n) => dumpA.get(n)!));
    for (const pin of ["111111", "999999"]) for (const e of encodings(pin)) expect(all.includes(e), `${pin} as ${e.toString("hex")}`).toBe(false);

    // What the dump does yield: MK under the device secret (both shares are there), so K_ac.
    const c = seededCrypto(0);
    const st = pageStoreOf(dumpA.get("kc.st")!);
    const perso = Buffer.from(storeGet(st, REC_PERSO)!, "latin1");
    const shareB = tallyShare(st);
    const mk = c.aesDecryptEcb(c.sha256("KCkek2" + c.sha256("KCds" + perso.subarray(1, 33).toString("latin1") + shareB)), perso.subarray(33, 65).toString("latin1"));
    const keysRecord = Buffer.from(storeGet(st, REC_APP_KEYS)!, "latin1");
    const at = keysRecord.indexOf(Buffer.from(a.keys.channelKey)); // K_ch in the clear (SECURITY.md §7)
    expect(at).toBeGreaterThan(0);
    const kac = Buffer.from(c.aesDecryptEcb(mk, keysRecord.subarray(at + 32, at + 64).toString("latin1")), "latin1");
    expect(kac.equals(Buffer.from(a.keys.cryptogramKey))).toBe(true);

    // The forged payment: a new order, ATC 2, a valid cryptogram under the stolen K_ac.
    const o = platform.createOrder({ code: platform.issuePaymentCode({ merchantId: a.merchantId, amount: 90_000, currency: "EUR" }).code });
    const f = o.cryptogramFields;
    const cryptogram = Buffer.from(computeAuthorizationCryptogram(kac, {
      carrierId: Buffer.from(a.carrierId, "hex"), orderId: Buffer.from(f.orderId, "hex"), merchantId: Buffer.from(f.merchantId, "hex"), amount: f.amount, currency: f.currency, atc: 2,
    })).toString("hex");
    let refused: PlatformError | undefined;
    try { platform.authorize({ orderId: o.orderId, carrierId: a.carrierId, atc: 2, cryptogram }); } catch (e) { refused = e as PlatformError; }
    expect(refused?.reason).toBe("pin-not-verified");
    expect(platform.getOrder(o.orderId).state).toBe("open");
  }, 120_000);
});

/** The page store in the data of kc.st as the dump read it (STORAGE.md §1–§2: whole 4 KB pages on nRF52), read-only. */
function pageStoreOf(file: Buffer): PageStore {
  const port: FlashPort = {
    read: (addr, len) => file.subarray(addr, addr + len).toString("latin1"),
    write: () => { throw new Error("read-only"); },
    erase: () => { throw new Error("read-only"); },
    crc32: (d) => crc32(Buffer.from(d, "latin1")),
  };
  const pages: number[] = [];
  for (let a = 0; a < file.length; a += 4096) pages.push(a);
  return openPageStore(port, pages, pages.map(() => 4096));
}
