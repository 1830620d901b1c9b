// Runs on a REAL Espruino interpreter (scripts/real-espruino/build.sh) when KC_REAL_ESPRUINO names
// one; otherwise every test here is skipped with the reason printed. CI never has the interpreter.
// Checks that the binary is what the committed measurements say (pool, memory-mapped Storage, the
// rig hooks) and that a fresh run reproduces the committed probe table and boot figure exactly.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../bench/context.ts";
import { instanceDir, interpreterIdentity, RealEspruino, removeDir, uploadFiles, bootAndCollect } from "../../bench/calibrate/real.ts";
import { parseProbeOutput, type ProbeResult } from "../../bench/calibrate/parse.ts";

const BIN = process.env.KC_REAL_ESPRUINO;
const why = !BIN ? "KC_REAL_ESPRUINO is not set (path to an interpreter built by scripts/real-espruino/build.sh)"
  : !existsSync(BIN) ? `KC_REAL_ESPRUINO=${BIN} does not exist` : undefined;
if (why) console.log(`calibrate-real.test.ts: skipped — ${why}`);

const POOLS: Record<string, { board: string; vars: number }> = { LINUX_KC_PUCKJS: { board: "puckjs", vars: 2630 }, LINUX_KC_PICO: { board: "pico", vars: 5100 } };

describe.skipIf(why !== undefined)("real Espruino interpreter (KC_REAL_ESPRUINO)", () => {
  const id = why ? { version: "", board: "" } : interpreterIdentity(BIN!);
  const pool = POOLS[id.board];
  const committed = pool ? JSON.parse(readFileSync(join(ROOT, "board", "calibration", `real-2v29-${pool.board}.json`), "utf8")) as {
    probes: { real: ProbeResult[] }; firmware: { steps: { name: string; vars?: number }[] };
  } : undefined;

  it("is a calibration build with a board pool: fixed total, 13-byte vars, rig hooks answering", async () => {
    expect(pool, `process.env.BOARD is ${id.board}; expected LINUX_KC_PUCKJS or LINUX_KC_PICO`).toBeDefined();
    expect(id.version).toMatch(/^2v29/);
    const dir = instanceDir();
    const p = new RealEspruino(BIN!, dir);
    try {
      await p.waitReady(10_000);
      const m = await p.rig("mem");
      expect(m).toMatchObject({ kind: "mem", total: pool!.vars });
    } finally {
      await p.stop();
      removeDir(dir);
    }
  });

  it("reproduces the committed probe table exactly (run from .bootcde)", async () => {
    const dir = instanceDir();
    try {
      await uploadFiles(BIN!, dir, [{ name: ".bootcde", data: readFileSync(join(ROOT, "board", "calibration", "probes.js"), "latin1") }]);
      const r = parseProbeOutput(await bootAndCollect(BIN!, dir, { until: /KCPROBE-END/, maxMs: 20_000 }));
      expect(r.finished).toBe(true);
      expect(r.probes).toEqual(committed!.probes.real);
    } finally {
      removeDir(dir);
    }
  });

  it("boots the bundle the committed figures were measured on (its fixture) to the committed vars in use (±1%)", async () => {
    const { loadMeasurement, measuredBundle } = await import("../../bench/calibrate/fixture.ts");
    const bundle = measuredBundle(loadMeasurement(pool!.board));
    const dir = instanceDir();
    const p0 = await uploadFiles(BIN!, dir, [{ name: ".bootcde", data: bundle }]).then(() => new RealEspruino(BIN!, dir));
    try {
      await p0.waitReady(20_000);
      const m = await p0.rig("mem");
      const want = committed!.firmware.steps.find((s) => s.name === "boot (blank)")!.vars!;
      expect(m.kind === "mem" ? m.usage : -1).toBeGreaterThanOrEqual(Math.floor(want * 0.99));
      expect(m.kind === "mem" ? m.usage : Infinity).toBeLessThanOrEqual(Math.ceil(want * 1.01));
    } finally {
      await p0.stop();
      removeDir(dir);
    }
  });
});
