// The platform killed mid-match (SIGKILL) during peer payments (docs/PEER.md §5): a real
// `keycarrier platform serve` process on a ledger file, two virtual carriers on the full release
// bundle, the payer's host sending its instruction in several concurrent copies while the platform
// is killed and restarted under it. Every acknowledged settlement stays; every request settles
// exactly once; the hosts' retries (the same sealed bytes) only ever get that one settlement back.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../host/src/platform/ledger.ts";
import { Platform } from "../host/src/platform/service.ts";
import { encodeCbor, decodeCbor, type CborMap } from "../host/src/codec.ts";
import { httpPeerPlatform, PeerCommand, requestPayment } from "../host/src/peer/flow.ts";
import { encryptPinBlock, PinPurpose } from "../host/src/platform/online-pin.ts";
import { TEST_PIN_OPTIONS } from "../firmware/test/applets/carrier-harness.ts";
import { answerNextAsk, PEER_PIN, peerCarrier, type PeerCarrier } from "./peer-rig.ts";
import { killHard, startPlatformProcess, type PlatformProcess } from "./platform-process.ts";

// CI runs a bounded version; KC_PEER_CRASH_REQUESTS / _KILLS / _COPIES make it longer.
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const REQUESTS = env("KC_PEER_CRASH_REQUESTS", 2);
const KILLS_PER_REQUEST = env("KC_PEER_CRASH_KILLS", 2);
const COPIES = env("KC_PEER_CRASH_COPIES", 3);

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Answer { status: number; body: { settlementId?: string; error?: { reason: string } } }

async function post(url: string, path: string, body: object): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

/** The payer host's retry loop for one instruction: resend the same sealed bytes until answered; the PIN when asked for it. */
async function submitUntilAnswered(url: () => string, carrierId: string, digest: string, sealed: string, deadline: number): Promise<Answer> {
  for (;;) {
    try {
      let a = await post(url(), "/v1/peer/instructions", { sealed });
      if (a.body.error?.reason === "pin-required") {
        const c = await post(url(), "/v1/peer/pin-challenges", { carrierId, requestDigest: digest });
        const ch = c.body as unknown as { challenge: string; publicKey: string };
        const block = encryptPinBlock(PEER_PIN, Buffer.from(ch.publicKey, "hex"), { purpose: PinPurpose.PAY, carrierId: Buffer.from(carrierId, "hex"), orderId: Buffer.from(digest.slice(0, 24), "hex"), challenge: Buffer.from(ch.challenge, "hex") });
        a = await post(url(), "/v1/peer/instructions", { sealed, challenge: ch.challenge, pinBlock: hex(block) });
        if (a.body.error?.reason === "challenge-used") continue; // another copy's turn: ask again
      }
      return a;
    } catch {
      if (Date.now() > deadline) throw new Error("no answer before the deadline");
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20)); // the platform is down or restarting
    }
  }
}

describe("peer payment: the platform killed mid-match", () => {
  it(`${REQUESTS} requests, ${COPIES} concurrent copies of each instruction, ${KILLS_PER_REQUEST} SIGKILLs each: one settlement per request, none lost`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-peer-crash-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "ledger.sqlite");
    // issue and personalise both carriers on the ledger, then hand it to the served platform
    const setup = await Platform.open({ dbFile: file, pin: TEST_PIN_OPTIONS });
    const payee: PeerCarrier = await peerCarrier(setup);
    const payer: PeerCarrier = await peerCarrier(setup);
    cleanups.push(() => { payee.rig.board.dispose(); payer.rig.board.dispose(); });
    setup.close();

    let platform: PlatformProcess = await startPlatformProcess(file);
    cleanups.push(async () => {
      if (platform.child.exitCode === null && platform.child.signalCode === null) await killHard(platform);
    });
    const url = () => platform.url;
    const acked = new Map<string, string>();
    let kills = 0;
    for (let n = 0; n < REQUESTS; n++) {
      answerNextAsk(payee.rig);
      const req = await requestPayment(payee.rig.kc, httpPeerPlatform(url()), { amount: 100 + n, currency: "EUR" });
      answerNextAsk(payer.rig);
      const r = await payer.rig.kc.link.request(PeerCommand.PEER_PAY, encodeCbor(new Map([[1, Buffer.from(req.request, "hex")]])), { deadlineMs: 40_000 });
      expect(r.status).toBe(0);
      const sealed = hex((decodeCbor(r.body) as CborMap).get(2) as Uint8Array);
      const deadline = Date.now() + 60_000;
      const copies = Promise.all(Array.from({ length: COPIES }, () => submitUntilAnswered(url, payer.carrierId, req.requestDigest, sealed, deadline)));
      for (let k = 0; k < KILLS_PER_REQUEST; k++) {
        await new Promise((res) => setTimeout(res, 2 + Math.random() * 40));
        await killHard(platform);
        kills++;
        platform = await startPlatformProcess(file);
      }
      for (const a of await copies) {
        expect([200, 201], JSON.stringify(a.body)).toContain(a.status);
        const before = acked.get(req.requestDigest);
        if (before !== undefined) expect(a.body.settlementId, "one request acknowledged with two settlements").toBe(before);
        acked.set(req.requestDigest, a.body.settlementId!);
      }
      // the payee's host polls: settled, with the one settlement
      const status = await httpPeerPlatform(url()).requestStatus(req.requestDigest);
      expect(status.settlement?.settlementId).toBe(acked.get(req.requestDigest));
    }
    platform.child.kill("SIGTERM");
    expect((await platform.exited).code).toBe(0);

    const ledger = await Ledger.open(file);
    try {
      const rows = ledger.all("SELECT request_digest, settlement_id FROM peer_settlements");
      expect(rows.length).toBe(REQUESTS);
      for (const row of rows) expect(acked.get(String(row.request_digest))).toBe(String(row.settlement_id));
      expect(ledger.get("SELECT count(*) AS n FROM peer_requests WHERE state <> 'settled'")!.n).toBe(0);
      expect(ledger.all("SELECT entity_id FROM audit WHERE entity = 'peer' AND action = 'settled' GROUP BY entity_id HAVING count(*) > 1")).toEqual([]);
    } finally {
      ledger.close();
    }
    console.log(`peer crash test: ${kills} SIGKILLs while instruction copies were in flight, ${REQUESTS} requests settled once each`);
  }, 120_000);
});
