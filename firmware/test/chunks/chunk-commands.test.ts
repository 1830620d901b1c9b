// PERSONALISE and PROVISION from the "perso" chunk file of keycarrier.nfc.js built with it
// (PERSO_CHUNKED_NFC, firmware/build/bundles.ts: built and tested, not shipped; firmware/src/main.ts
// chunkPerso, platform.ts loadChunk; issue #12): the stand-ins the dispatchers hold answer as the real
// commands do, a missing or changed chunk file is a clear INTERNAL refusal with nothing lost, and
// nothing of the chunk stays in memory after its command replied.
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { CarrierRig, CMD, ST, transportIdentity } from "../applets/carrier-harness.ts";
import { PERSO_CHUNKED_NFC } from "../../build/bundles.ts";
import { createPersonaliseCommand } from "../../src/perso/personalise.ts";
import { createProvisionCommand } from "../../src/perso/provision.ts";

const rigs: CarrierRig[] = [];
afterEach(() => { for (const r of rigs.splice(0)) r.board.dispose(); });

async function blankNfcCarrier(): Promise<CarrierRig> {
  const rig = await CarrierRig.boot({ board: "nrf52840", nfcBundle: PERSO_CHUNKED_NFC, bootcde: true, meter: true, provision: false });
  rigs.push(rig);
  return rig;
}
const provision = (rig: CarrierRig) => rig.outer(CMD.PROVISION, new Map([[1, transportIdentity(rig.serial).channelKey]]));

describe("the perso chunk (kc.chp)", () => {
  it("the stand-ins main.ts gives the dispatchers carry the real commands' ids, states and fields", () => {
    const real = [createPersonaliseCommand({} as never), createProvisionCommand({} as never)];
    const main = readFileSync(new URL("../../src/main.ts", import.meta.url), "utf8");
    const standIn = (cmd: string) => new RegExp(`id: ${cmd}, allowedStates: ([^,]+(?:\\)[^,]*)?), fields: (\\d+),`).exec(main);
    const stateIndex: Record<string, number> = { STATE_BLANK: 0, STATE_PERSONALISED: 1, STATE_LOCKED: 2, STATE_DESTROYED: 3 };
    const states = (text: string): number => text.split("|").reduce((m, part) => m | (1 << stateIndex[/STATE_\w+/.exec(part)![0]]!), 0);
    for (const [cmd, r] of [["CMD_PERSONALISE", real[0]!], ["CMD_PROVISION", real[1]!]] as const) {
      const m = standIn(cmd);
      expect(m, cmd).not.toBeNull();
      expect(states(m![1]!), cmd).toBe(r.allowedStates);
      expect(Number(m![2]), cmd).toBe(r.fields);
    }
    expect(real.map((c) => c.id)).toEqual([CMD.PERSONALISE, CMD.PROVISION]);
  });

  it("is in Storage next to the bundle, and PROVISION runs from it", async () => {
    const rig = await blankNfcCarrier();
    expect(rig.board.storage.read("kc.chp")).toMatch(/^function |^var /);
    expect((await provision(rig)).status).toBe(ST.OK);
    expect(rig.board.storage.read("kc.tk")).toHaveLength(32);
    // the chunk's own refusal: it ran, and the stand-in gave it the request
    const again = await provision(rig);
    expect(again.status).toBe(ST.NOT_ALLOWED);
    expect(again.body.get(1)).toBe("already provisioned");
  }, 60_000);

  it("a missing chunk file: PROVISION is refused INTERNAL with a reason, the carrier answers on and works once the file is back", async () => {
    const rig = await blankNfcCarrier();
    const file = rig.board.storage.read("kc.chp")!;
    rig.board.storage.erase("kc.chp");
    const r = await provision(rig);
    expect(r.status).toBe(0x08 /* INTERNAL */);
    expect(r.body.get(1)).toBe("no chunk kc.chp");
    expect(rig.board.transcript()).toContain("KeyCarrier: chunk kc.chp missing");
    expect(rig.board.storage.read("kc.tk")).toBeUndefined();
    expect((await rig.info()).get(5)).toBe(0); // INFO field 5, state: still BLANK, still answering
    rig.board.storage.write("kc.chp", file);
    expect((await provision(rig)).status).toBe(ST.OK);
  }, 60_000);

  it("a changed chunk file (one byte): refused INTERNAL before any of it runs", async () => {
    const rig = await blankNfcCarrier();
    const file = rig.board.storage.read("kc.chp")!;
    // a change that still parses and would run: the CRC-32 the core holds catches it
    rig.board.storage.erase("kc.chp");
    rig.board.storage.write("kc.chp", file.replace("already provisioned", "already provisionec"));
    const r = await provision(rig);
    expect(r.status).toBe(0x08 /* INTERNAL */);
    expect(rig.board.transcript()).toContain("KeyCarrier: chunk kc.chp corrupt");
    expect(rig.board.storage.read("kc.tk")).toBeUndefined();
    expect(rig.board.costEvents().filter((e) => e.kind === "out-of-memory")).toEqual([]);
  }, 60_000);

  it("keeps nothing once its command replied: loaded for the PROVISION, gone after it", async () => {
    const rig = await blankNfcCarrier();
    expect((await provision(rig)).status).toBe(ST.OK);
    const before = rig.board.memoryEstimate().total;
    rig.board.resetMemoryPeak(10);
    expect((await provision(rig)).status).toBe(ST.NOT_ALLOWED);
    // loaded: its function, the two commands' factories and the command it built…
    expect(rig.board.memoryPeak() - before).toBeGreaterThan(30);
    // …and gone: what stays is the link's copy of the last reply, a refusal with its detail (2
    // vars longer than the OK before it; link.ts keeps it for a repeated request)
    expect(rig.board.memoryEstimate().total - before).toBeLessThanOrEqual(2);
  }, 60_000);
});
