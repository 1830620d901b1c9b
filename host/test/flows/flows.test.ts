// The host flows against the release firmware on `keycarrier emulate` (over TCP, as a person would
// reach a board): personalise, pay with the virtual button, every refusal a user can meet, the
// verified log, and the same through the CLI. The bundle goes to RAM with `flash --ram` because the
// release bundle leaves the virtual boards' Storage no room for the carrier's store (build report).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../../firmware/build/pipeline.ts";
import { startEmulator, type RunningEmulator } from "../../src/cli/emulate.ts";
import { KeyCarrier } from "../../src/client.ts";
import { main } from "../../src/cli/main.ts";
import { Platform } from "../../src/platform/service.ts";
import { flashFirmware } from "../../src/flash/flash.ts";
import { personalise, provision } from "../../src/flows/personalise.ts";
import { inProcessPlatform, pay } from "../../src/flows/pay.ts";
import { readLog, foldLog, decodeLogEntry } from "../../src/flows/log.ts";
import { pressVirtualButton } from "../../src/flows/cli.ts";
import { PaymentError, PinError } from "../../src/errors.ts";
import { TcpTransport } from "../../src/transport/tcp.ts";
import type { Transport } from "../../src/transport/types.ts";
import { FrameParser, encodeFrame } from "../../src/link.ts";

const work = mkdtempSync(join(tmpdir(), "kc-flows-"));
const firmware = join(work, "keycarrier.js");
const PIN = "482913";

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  process.env.KEYCARRIER_HOME = work;
  writeFileSync(firmware, (await compile({ entry: "firmware/src/main.ts", minify: true })).code);
}, 60_000);

async function carrier(board = "nrf52840"): Promise<RunningEmulator> {
  const emu = await startEmulator({
    board, tcpPort: 0, pty: false, ptyPath: undefined, controlPort: 0, flashFile: undefined,
    seed: 11, virtualClock: false, banner: true,
  });
  await flashFirmware({ port: emu.tcp.url, firmwareFile: firmware, target: "ram" });
  return emu;
}

/** A long press: held past the trusted UI's 1,000 ms, which declines (PROTOCOL.md §7.7). */
async function longPress(controlPort: number, signal: AbortSignal): Promise<void> {
  await pressVirtualButton(controlPort, 1300, signal);
}

describe("personalise, pay and log through the library (release firmware, tcp)", () => {
  let emu: RunningEmulator;
  let kc: KeyCarrier;
  let clock = Date.now();
  let platform: Platform;
  let merchantId: number;
  let carrierId: string;

  beforeAll(async () => {
    emu = await carrier();
    kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 2000 });
    platform = await Platform.open({ now: () => clock, pin: { kdf: { N: 1024, r: 8, p: 1 } } });
    // the factory step: kc.tk from the platform's own (secret) batch key
    await provision(kc, platform);
    merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
  }, 60_000);
  afterAll(async () => {
    await kc?.close();
    platform?.close();
    await emu?.stop();
  });

  const code = (amount: number, ttlSeconds = 600): string => platform.issuePaymentCode({ merchantId, amount, currency: "EUR", ttlSeconds }).code;
  const press = async (signal: AbortSignal): Promise<void> => { await pressVirtualButton(emu.control.port, 100, signal); };

  it("personalises a BLANK carrier; INFO then says PERSONALISED", async () => {
    const steps: string[] = [];
    const r = await personalise(kc, platform, { pin: PIN, limit: 50_000, onStep: (s) => steps.push(s) });
    carrierId = r.carrierId;
    expect(r.triesLeft).toBe(3); // the issuer's PIN try limit, at the platform
    expect(r.info.stateName).toBe("PERSONALISED");
    expect((await kc.info()).triesLeft).toBe(10); // the carrier's own backstop on bad verdicts
    expect(platform.getCarrier(carrierId).carrierId).toBe(carrierId);
    expect(steps.join("\n")).toMatch(/personalisation verified/);
  }, 30_000);

  it("refuses to personalise it twice, naming the carrier", async () => {
    await expect(personalise(kc, platform, { pin: PIN })).rejects.toThrow(new RegExp(`already PERSONALISED \\(carrier id ${carrierId}\\)`));
  });

  it("pays: the platform settles exactly the amount, and the log verifies with the head the carrier returned", async () => {
    const r = await pay(kc, inProcessPlatform(platform), code(1250), { pin: PIN, confirm: press });
    expect(r.settlement).toMatchObject({ amount: 1250, currency: "EUR", carrierId, atc: 1, orderId: r.order.orderId });
    expect(platform.getOrder(r.order.orderId).state).toBe("settled");
    expect(r.authorization.wire.roundTrips).toBe(1);
    expect(r.authorization.wire.bytesOut + r.authorization.wire.bytesIn).toBeGreaterThan(0);
    expect(r.authorization.wire.bytesOut + r.authorization.wire.bytesIn).toBeLessThanOrEqual(400);
    const log = await readLog(kc);
    expect(log.head).toBe(r.authorization.logHead);
    expect(log.entries.at(-1)).toMatchObject({ atc: 1, result: "authorized", amount: 1250, currency: "EUR", orderId: r.order.orderId });
  }, 30_000);

  it("a wrong PIN is refused by the platform with the issuer's tries left, the carrier counts it, and nothing settles", async () => {
    const c = code(300);
    const err = await pay(kc, inProcessPlatform(platform), c, { pin: "000000", confirm: press }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PinError);
    expect((err as PinError & { triesLeft: number }).triesLeft).toBe(2);
    expect((err as Error).message).toMatch(/PIN_WRONG.*2 tries left/);
    expect((await kc.info()).triesLeft).toBe(9);
    const order = platform.createOrder({ code: c }); // the same open order
    expect(order.state).toBe("open");
  }, 30_000);

  it("a long press declines on the device; the decline is logged with its own ATC", async () => {
    const err = await pay(kc, inProcessPlatform(platform), code(400), { pin: PIN, confirm: (signal) => longPress(emu.control.port, signal) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentError);
    expect((err as Error).message).toMatch(/PAY_DECLINED/);
    const log = await readLog(kc);
    expect(log.entries.at(-1)).toMatchObject({ result: "declined", amount: 400 });
  }, 30_000);

  it("an amount over the personalised limit is refused at once: the carrier never shows it, nothing is pressed", async () => {
    let pressed: boolean | undefined;
    const err = await pay(kc, inProcessPlatform(platform), code(60_000), {
      pin: PIN, confirm: async (signal) => { pressed = await pressVirtualButton(emu.control.port, 100, signal); },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/PAY_OVER_LIMIT/);
    expect(pressed).toBe(false);
  }, 30_000);

  it("an expired code is refused by the platform with its reason; the carrier is never asked", async () => {
    const c = code(500, 60);
    clock += 3600_000;
    let asked = false;
    const err = await pay(kc, inProcessPlatform(platform), c, { pin: PIN, confirm: async () => { asked = true; } }).catch((e: unknown) => e);
    clock -= 3600_000;
    expect((err as { reason?: string }).reason).toMatch(/expired/);
    expect(asked).toBe(false);
  }, 30_000);

  it("a log altered on the way (EUR rewritten to USD by a relay) does not verify", async () => {
    await kc.close();
    kc = await KeyCarrier.open(currencyRewritingTransport(emu.tcp.port), { timeoutMs: 2000 });
    await expect(readLog(kc)).rejects.toThrow(/log does not verify: .* the log was altered/);
    await kc.close();
    kc = await KeyCarrier.open(emu.tcp.url, { timeoutMs: 2000 });
  }, 30_000);

  it("the whole log is a chain: re-folding the decoded entries from the base reproduces every hash", async () => {
    const log = await readLog(kc);
    expect(log.entries.length).toBeGreaterThanOrEqual(2);
    // ATCs strictly increase (a declined entry uses one too: §7.6)
    for (let i = 1; i < log.entries.length; i++) expect(log.entries[i]!.atc).toBeGreaterThan(log.entries[i - 1]!.atc);
    expect(log.entries.at(-1)!.hash).toBe(log.head);
  }, 30_000);
});

/**
 * A relay that rewrites what the carrier says: every response frame's "EUR" becomes "USD" (same
 * length, so the CBOR stays canonical) and the frame CRC is recomputed, as an attacker on the host
 * side of the wire could. Everything else passes unchanged.
 */
function currencyRewritingTransport(port: number): Transport {
  const inner = new TcpTransport("127.0.0.1", port);
  const parser = new FrameParser();
  const listeners: ((c: Uint8Array) => void)[] = [];
  inner.onData((chunk) => {
    for (const frame of parser.push(chunk)) {
      const body = Buffer.from(frame.body);
      let at: number;
      while ((at = body.indexOf("EUR", 0, "latin1")) >= 0) body.write("USD", at, "latin1");
      const bytes = encodeFrame({ ...frame, body: new Uint8Array(body) });
      for (const l of listeners) l(bytes);
    }
  });
  return {
    get description() { return `currency-rewriting relay to ${inner.description}`; },
    get isOpen() { return inner.isOpen; },
    open: () => inner.open(),
    close: () => inner.close(),
    write: (b) => inner.write(b),
    onData: (l) => { listeners.push(l); },
    onClose: (l) => inner.onClose(l),
    onError: (l) => inner.onError(l),
  };
}

describe("log entry layout (PROTOCOL.md §7.6)", () => {
  it("decodes u32 ATC ‖ result ‖ len‖orderId ‖ len‖merchantId ‖ u64 amount ‖ currency and folds with SHA-256(\"KCLG\" ‖ h ‖ e)", async () => {
    const entry = Uint8Array.from(Buffer.from("00000007" + "01" + "02" + "abcd" + "04" + "0000002a" + "00000000000004d2" + "455552", "hex"));
    expect(decodeLogEntry(entry)).toEqual({ atc: 7, result: "authorized", orderId: "abcd", merchantId: "0000002a", amount: 1234, currency: "EUR" });
    const { createHash } = await import("node:crypto");
    const zero = new Uint8Array(32);
    const expected = createHash("sha256").update("KCLG").update(zero).update(entry).digest("hex");
    expect(Buffer.from(foldLog(zero, [entry])[0]!).toString("hex")).toBe(expected);
    expect(() => decodeLogEntry(entry.subarray(0, 20))).toThrow(/malformed/);
  });
});

describe("the CLI: personalise → pay --code (virtual button via --control) → log", () => {
  let emu: RunningEmulator;
  const db = join(work, "cli-ledger.sqlite");
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { KEYCARRIER_HOME: work } });
    return { code, out: out.join(""), err: err.join("") };
  };

  beforeAll(async () => { emu = await carrier("pico"); }, 60_000);
  afterAll(async () => { await emu?.stop(); });

  it("runs the user's commands end to end", async () => {
    // the USB bundle has no offline applet: asking for an offline key is refused before anything is issued
    const noOffline = await run(["personalise", "--port", emu.tcp.url, "--db", db, "--pin", "1234", "--offline-limit", "100", "--offline-total", "200"]);
    expect(noOffline.code).not.toBe(0);
    expect(noOffline.err).toMatch(/firmware has no offline applet \(only keycarrier\.full\.js has it\).*nothing was sent/);
    const prov = await run(["provision", "--port", emu.tcp.url, "--db", db, "--json"]);
    expect(prov.code, prov.err + prov.out).toBe(0);
    expect(JSON.parse(prov.out)).toMatchObject({ ok: true, devTransportKey: false });
    const p = await run(["personalise", "--port", emu.tcp.url, "--db", db, "--pin", "1234", "--json"]);
    expect(p.code, p.err + p.out).toBe(0);
    const personalised = JSON.parse(p.out) as { carrierId: string; state: string };
    expect(personalised.state).toBe("PERSONALISED");

    // the merchant side, on the same ledger (the CLI has closed it)
    const platform = await Platform.open({ dbFile: db });
    const merchant = platform.registerMerchant({ name: "Kiosk" });
    const c = platform.issuePaymentCode({ merchantId: merchant.merchantId, amount: 990, currency: "EUR" });
    platform.close();

    const paid = await run(["pay", "--code", c.code, "--port", emu.tcp.url, "--db", db, "--pin", "1234", "--control", String(emu.control.port)]);
    expect(paid.code, paid.err + paid.out).toBe(0);
    expect(paid.out).toMatch(new RegExp(`settled 9\\.90 EUR as [0-9a-f]+ \\(carrier ${personalised.carrierId}, ATC 1\\)`));

    const log = await run(["log", "--port", emu.tcp.url, "--json"]);
    expect(log.code, log.err).toBe(0);
    const parsed = JSON.parse(log.out) as { verified: boolean; entries: { amount: number; result: string }[] };
    expect(parsed.verified).toBe(true);
    expect(parsed.entries).toEqual([expect.objectContaining({ amount: 990, result: "authorized" })]);

    // The platform's issuer controls reach the user with their reason: the carrier knows no currency
    // and signs a USD order, the platform refuses it for this EUR carrier, nothing settles.
    const platform2 = await Platform.open({ dbFile: db });
    const usd = platform2.issuePaymentCode({ merchantId: merchant.merchantId, amount: 500, currency: "USD" });
    platform2.close();
    const refused = await run(["pay", "--code", usd.code, "--port", emu.tcp.url, "--db", db, "--pin", "1234", "--control", String(emu.control.port)]);
    expect(refused.code, refused.out).toBe(1);
    expect(refused.err).toMatch(/this carrier pays in EUR only; the order is in USD \[currency-not-allowed\]/);

    // PIN change at the platform: the old PIN must be right; then the new one pays, the old one not
    const badChange = await run(["change-pin", "--port", emu.tcp.url, "--db", db, "--old", "0000", "--new", "4321"]);
    expect(badChange.code).toBe(1);
    expect(badChange.err).toMatch(/old PIN is wrong: 2 tries left/);
    const changed = await run(["change-pin", "--port", emu.tcp.url, "--db", db, "--old", "1234", "--new", "4321", "--json"]);
    expect(changed.code, changed.err).toBe(0);
    expect(JSON.parse(changed.out)).toMatchObject({ ok: true, carrierId: personalised.carrierId, triesLeft: 3 });

    const noDb = await run(["pay", "--code", c.code, "--port", emu.tcp.url, "--platform", "http://127.0.0.1:1"]);
    expect(noDb.code).toBe(2);
    expect(noDb.err).toMatch(/pass --db FILE/);
  }, 60_000);

  it("a personalised carrier refuses flashing: console locked", async () => {
    const r = await run(["flash", "--port", emu.tcp.url, "--firmware", firmware]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("console locked: this carrier is personalised; only a BLANK carrier or BTN1-at-boot recovery accepts new firmware");
  }, 30_000);
});
