// Protocol v1 over PC/SC (PROTOCOL.md §10): the host's `pcsc` transport (pcsc-lite through
// @pokusew/pcsclite, storage-card pseudo-APDUs FF B0 / FF D6) → a real pcscd (private, started
// here) → vsmartcard's vpcd reader → the emulator's virtual card (host/src/transport/vicc.ts), which
// turns the pseudo-APDUs into Type 2 Tag frames for the virtual board running the release bundle.
// Skips, saying why, where pcscd, vpcd or the binding are missing.
import { describe, expect, it } from "vitest";
import { Platform } from "../host/src/platform/service.ts";
import { CarrierRig, CMD, enrolPin, hex, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, transportIdentity, type Identity } from "../firmware/test/applets/carrier-harness.ts";
import { usePrivatePcscd } from "./pcsc-env.ts";
import { listPcscReaders } from "../host/src/transport/pcsc.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");

const pcscd = usePrivatePcscd("hil-tests/pcsc.test.ts");

describe("protocol v1 over pcsc: → pcscd → vpcd → the virtual board (nrf52840, release bundle)", () => {
  it("lists the vpcd reader of the private pcscd, with no card before the emulator taps", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const before = await listPcscReaders(1_500);
    expect(before.map((r) => r.name)).toContain(env.readerName);
    expect(before.find((r) => r.name === env!.readerName)!.card).toBe(false);
  });

  it("INFO, PING (3 sizes; every size runs on the virtual reader in nfc.test.ts), provisioning, personalisation, channel open and PAY with the platform's PIN verdict; the card removed mid-PAY is recovered on the next tap", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const rig = await CarrierRig.boot({ board: "nrf52840", pcsc: { vpcdPort: env.port, readerName: env.readerName } });
    try {
      const info = await rig.info();
      expect((info.get(6) as number) & 0x02).toBe(0x02);
      for (const n of [0, 17, 100]) {
        const data = Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff);
        expect(hex(await rig.kc.ping(data)), `PING ${n}`).toBe(hex(data));
      }
      const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
      try {
        const carrierId = platform.issueCarrier().carrierId;
        const keys = platform.carrierKeys(carrierId);
        const merchantId = platform.registerMerchant({ name: "Reader kiosk" }).merchantId;
        const tch = await rig.openChannel(transportIdentity(rig.serial));
        const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
          [1, Buffer.from(carrierId, "hex")], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 500_000],
        ]));
        expect(perso.status, String(perso.body.get(1))).toBe(ST.OK);
        // online PIN: the PIN is enrolled at the platform; PAY carries the platform's verdict on it
        expect(enrolPin(platform, carrierId, PIN)).toBe(3);
        const identity: Identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey };
        const ch = await rig.openChannel(identity);
        const order = () => platform.createOrder({ code: platform.issuePaymentCode({ merchantId, amount: 990, currency: "EUR" }).code });
        const o1 = order();
        const b1 = payOrderBody(o1.cryptogramFields);
        const r1 = await rig.pay(ch, b1, platformVerdict(platform, rig, ch, carrierId, b1, PIN));
        expect(r1.status, String(r1.body.get(1))).toBe(ST.OK);
        expect(platform.authorize({ orderId: o1.orderId, carrierId, atc: r1.body.get(1) as number, cryptogram: hex(r1.body.get(2) as Uint8Array) }).orderId).toBe(o1.orderId);
        // the card leaves the reader while the reply is read back (the 3rd reader frame after the request)
        const o2 = order();
        let removed = false;
        const b2 = payOrderBody(o2.cryptogramFields);
        const r2 = await rig.pay(ch, b2, platformVerdict(platform, rig, ch, carrierId, b2, PIN), () => {
          rig.press();
          // the card leaves right after the 2nd frame of the read-back, and is tapped again 0.5 s later
          rig.vicc!.dropFieldAfter(1, 500);
          removed = true;
        });
        expect(removed).toBe(true);
        expect(rig.nfcTransport!.stats.fieldLosses).toBeGreaterThanOrEqual(1);
        expect(r2.status, String(r2.body.get(1))).toBe(ST.OK);
        expect(r2.body.get(1)).toBe((r1.body.get(1) as number) + 1);
        expect(platform.authorize({ orderId: o2.orderId, carrierId, atc: r2.body.get(1) as number, cryptogram: hex(r2.body.get(2) as Uint8Array) }).orderId).toBe(o2.orderId);
      } finally {
        platform.close();
      }
    } finally {
      await rig.kc.close().catch(() => undefined);
      rig.vicc?.remove();
      rig.board.dispose();
    }
  }, 90_000);
});

describe("keycarrier emulate --nfc: the emulator's board as a card in vpcd's reader", () => {
  // vpcd's second slot (reader "… 00 01" on port + 1): not the one the previous test's card left
  // (libpcsclite keeps the first socket path it saw, so a second pcscd is not an option in-process)
  /** Waits until pcscd reports a card on the reader (present = true) or none (false). */
  async function cardOnReader(name: string, present: boolean): Promise<void> {
    for (let i = 0; i < 40; i++) {
      const r = (await listPcscReaders(300)).find((x) => x.name === name);
      if (r && r.card === present) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`pcscd never reported ${present ? "a card on" : "no card on"} ${name}`);
  }

  it("`--port pcsc:\"READER\"` reaches it (INFO), the control port's nfc-remove takes the card away (clear error), nfc-tap brings it back", async (ctx) => {
    const env = pcscd.env;
    if (!env) return ctx.skip(pcscd.skip);
    const slot = { port: env.port + 1, readerName: env.readerName.replace(/ 00 00$/, " 00 01") };
    const { startEmulator } = await import("../host/src/cli/emulate.ts");
    const { KeyCarrier } = await import("../host/src/client.ts");
    const emu = await startEmulator({
      board: "nrf52840", tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined, stdio: false, seed: 3,
      virtualClock: false, banner: false, firmwareFile: "firmware/dist/keycarrier.nfc.js", nfc: { host: "127.0.0.1", port: slot.port },
    });
    const control = async (cmd: Record<string, unknown>) => {
      const net = await import("node:net");
      return new Promise<Record<string, unknown>>((resolve, reject) => {
        const s = net.connect(emu.control.port, "127.0.0.1", () => s.write(JSON.stringify({ id: 1, ...cmd }) + "\n"));
        s.once("data", (d) => { s.destroy(); resolve(JSON.parse(String(d))); });
        s.once("error", reject);
      });
    };
    try {
      await cardOnReader(slot.readerName, true);
      const kc = await KeyCarrier.open(`pcsc:"${slot.readerName}"`);
      expect(kc.handshakeInfo!.capabilities.nfc).toBe(true);
      await kc.close();
      expect((await control({ cmd: "nfc-remove" })).ok).toBe(true);
      await cardOnReader(slot.readerName, false); // pcscd polls the reader
      await expect(KeyCarrier.open(`pcsc:"${slot.readerName}"`)).rejects.toThrow(/no card on the reader/);
      expect((await control({ cmd: "nfc-tap" })).ok).toBe(true);
      await cardOnReader(slot.readerName, true);
      const again = await KeyCarrier.open(`pcsc:"${slot.readerName}"`);
      expect(again.handshakeInfo!.state).toBeGreaterThanOrEqual(0);
      await again.close();
    } finally {
      await emu.stop();
    }
  }, 60_000);
});
