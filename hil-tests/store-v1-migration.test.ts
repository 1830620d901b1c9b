// Migration from store v1 (STORAGE.md §9): a carrier personalised by the store v1 firmware holds its
// records in A/B files of Espruino Storage (kc.log.*, kc.ctr.*, kc.pay.*) and no kc.st. After a
// firmware update to the page store, it answers INFO with state LOCKED and nothing but INFO, PING and
// WIPE; the boot log says "store v1: WIPE + PERSONALISE needed". WIPE with the button hold erases
// the v1 files (and compacts Storage: their bytes are gone), the board restarts BLANK, and the
// platform personalises it again onto the page store. The v1 files are the ones the v1 firmware
// wrote (fixtures/store-v1-carrier.json), laid out after today's release bundle in .bootcde.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CarrierRig, CMD, releaseBundle, ST, TEST_PIN_OPTIONS, transportIdentity } from "../firmware/test/applets/carrier-harness.ts";

const V1 = JSON.parse(readFileSync(new URL("../firmware/test/store/fixtures/store-v1-carrier.json", import.meta.url), "utf8")) as { channelKeyHex: string; files: { name: string; hex: string }[] };
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const rigs: CarrierRig[] = [];
const platforms: Platform[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.board.dispose();
  for (const p of platforms.splice(0)) p.close();
});

describe("a carrier personalised by the store v1 firmware, updated to the page store", () => {
  it("answers LOCKED until a WIPE with the button; then BLANK with no v1 byte left, and personalises onto the page store", async () => {
    const board = new VirtualBoard({ board: "nrf52840", seed: 9 });
    board.storage.write(".bootcde", await releaseBundle(false));
    for (const f of V1.files) board.storage.write(f.name, Buffer.from(f.hex, "hex").toString("latin1"));
    const image = board.flash.snapshot();
    board.dispose();
    const v1Secret = Buffer.from(V1.channelKeyHex, "hex"); // K_ch of the v1 personalisation, in the clear in kc.pay.a
    expect(Buffer.from(image).includes(v1Secret)).toBe(true);

    const rig = await CarrierRig.boot({ board: "nrf52840", flashImage: image, bootcde: true });
    rigs.push(rig);
    expect(rig.board.transcript()).toContain("store v1: WIPE + PERSONALISE needed");
    expect((await rig.info()).get(5)).toBe(2); // LOCKED
    // nothing else answers: no channel (so no PERSONALISE, no PAY), no LOG_READ, no PROVISION
    expect((await rig.outer(CMD.LOG_READ)).status).toBe(0x03); // UNKNOWN_COMMAND
    await expect(rig.openChannel(transportIdentity(rig.serial))).rejects.toThrow();
    expect((await rig.outer(CMD.WIPE)).status).toBe(0x21); // PRESENCE_REQUIRED
    expect(rig.board.storage.list().filter((n) => /^kc\.(log|ctr|pay)\./.test(n)).sort()).toEqual(["kc.ctr.a", "kc.log.a", "kc.pay.a"]);

    rig.board.clickButton(1, 3_200);
    rig.board.runUntilIdle(1_000);
    const w = await rig.outer(CMD.WIPE);
    expect(w.status).toBe(ST.OK);
    expect(w.body.get(1)).toBe(0);
    await rig.reboot();
    expect(rig.board.storage.list().sort()).toEqual([".boot0", ".bootcde", "kc.tk"]);
    expect(rig.board.storage.getStats().trashBytes).toBe(0);
    expect(Buffer.from(rig.board.flash.snapshot()).includes(v1Secret), "v1 K_ch left in flash").toBe(false);
    expect((await rig.info()).get(5)).toBe(0); // BLANK

    const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
    platforms.push(platform);
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const r = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([[1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 100_000]]));
    expect(r.status).toBe(ST.OK);
    expect(rig.board.storage.list().sort()).toEqual([".boot0", ".bootcde", "kc.pad", "kc.st", "kc.tk"]);
    await rig.reboot();
    expect((await rig.info()).get(5)).toBe(1);
  }, 60_000);
});
