// Offline payment, device side (issue 16; PROTOCOL.md §11, docs/OFFLINE.md): the full release bundle
// (keycarrier.full.js, the only one with the offline applet) on a metered virtual nRF52840 over USB,
// personalised, with the chosen key (HSS L=1, LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4) and a test
// license installed through OFFLINE_INSTALL; then one offline payment as a terminal runs it:
// OFFLINE_LICENSE chunks, OFFLINE_PAY (request, then the press: leaf slot write + signature),
// OFFLINE_SIG_READ chunks. Each board converts the same counts with its calibration. A second part
// times the signer alone for every LM-OTS parameter set (the trade-off table of docs/OFFLINE.md).
import { randomBytes } from "node:crypto";
import { CarrierRig, transportIdentity } from "../../firmware/test/applets/carrier-harness.ts";
import { encodeKeySection, offlineKeyFileBytes } from "../../firmware/src/offline/key-store.ts";
import { authPathOffsets, lmsSignatureBytes, lmsParams, otsParams, LMS_SHA256_M32_H10, LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W4 } from "../../firmware/src/offline/lms.ts";
import { refKeygen, latin1, hssVerify, bin } from "../../firmware/test/offline/lms-reference.ts";
import { makeLicense } from "../../firmware/test/offline/offline-fixture.ts";
import { compile } from "../../firmware/build/pipeline.ts";
import { VirtualBoard } from "../../board/src/virtual-board.ts";
import { CostMeter } from "../../board/src/cost/meter.ts";
import { boardProfiles } from "../context.ts";
import type { Row, Section } from "./types.ts";

const CHUNK = 480;
const PIECE = 448;
const LIMITS = { perTxLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, currency: "EUR" };
type Counts = ReturnType<CostMeter["counts"]>;

async function paymentRows(): Promise<Row[]> {
  const I = Buffer.from("4b432d62656e63682d636172726965", "hex").subarray(0, 15);
  const id16 = Buffer.concat([I, Buffer.from([0x21])]);
  const seed = randomBytes(32);
  const tree = refKeygen(LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4, id16, seed);
  const pub = Buffer.concat([Buffer.from([0, 0, 0, 1]), tree.pub]);
  const cid = Buffer.from("c0ffee00000000b1", "hex");
  const pid = new TextEncoder().encode("KC-PLATFORM-BNCH");
  const { license } = makeLicense({ carrierId: cid, carrierPublicKey: pub, serial: 1, ...LIMITS });
  const rig = await CarrierRig.boot({ board: "nrf52840", nfcBundle: "keycarrier.full.js", meter: true });
  try {
    const meter = rig.meter!;
    const channelKey = randomBytes(32);
    let ch = await rig.openChannel(transportIdentity(rig.serial));
    const p = await rig.inner(ch, 0x60, new Map<number, Uint8Array | number>([[1, cid], [2, pid], [3, channelKey], [4, randomBytes(32)], [5, 1_000_000]]));
    if (p.status !== 0) throw new Error(`bench offline: PERSONALISE ${p.status}`);
    ch = await rig.openChannel({ carrierId: cid, platformId: pid, channelKey });
    const section = bin(encodeKeySection({ lmsType: LMS_SHA256_M32_H10, otsType: LMOTS_SHA256_N32_W4, id: latin1(id16), seed: latin1(seed), nodes: latin1(tree.nodes), ...LIMITS }));
    let installMessages = 0;
    meter.reset();
    for (const [part, bytes] of [[1, section], [2, license]] as const) {
      for (let off = 0; off < bytes.length; off += PIECE) {
        const r = await rig.inner(ch, 0x53, new Map<number, number | Uint8Array>([[1, part], [2, off], [3, bytes.length], [4, bytes.subarray(off, off + PIECE)]]));
        if (r.status !== 0) throw new Error(`bench offline: OFFLINE_INSTALL ${r.status} ${String(r.body.get(1))}`);
        installMessages++;
      }
    }
    const installCounts = sum(meter, "USB.data");

    interface Step { name: string; counts: Counts; wire: number; trips: number }
    const steps: Step[] = [];
    async function step<T>(name: string, trips: number, label: string, run: () => Promise<T>): Promise<T> {
      meter.reset();
      const before = rig.wire.bytes;
      const out = await run();
      steps.push({ name, counts: sum(meter, label), wire: rig.wire.bytes - before, trips });
      return out;
    }
    const licenseTrips = Math.ceil(license.length / CHUNK);
    await step(`OFFLINE_LICENSE × ${licenseTrips} (license ${license.length} B in ${CHUNK} B chunks)`, licenseTrips, "USB.data", async () => {
      for (let off = 0; off < license.length; off += CHUNK) {
        const r = await rig.outer(0x50, off === 0 ? new Map() : new Map([[1, off]]));
        if (r.status !== 0) throw new Error(`bench offline: OFFLINE_LICENSE ${r.status}`);
      }
    });
    const req = new Map<number, number | string | Uint8Array>([[1, 1234], [2, "EUR"], [3, Buffer.from("TERM0001")], [4, randomBytes(16)], [5, 20261207]]);
    let pay: Awaited<ReturnType<CarrierRig["outer"]>> | undefined;
    let requestCounts: Counts | undefined;
    await step("OFFLINE_PAY press → leaf slot written, HSS signature (H10/W4), first chunk", 1, "watch", async () => {
      pay = await rig.outer(0x51, req, () => { requestCounts = sum(meter, "USB.data"); rig.press(); });
    });
    if (!pay || pay.status !== 0) throw new Error(`bench offline: OFFLINE_PAY ${pay?.status}`);
    steps.splice(steps.length - 1, 0, { name: "OFFLINE_PAY request (checks, trusted UI shown, reply deferred)", counts: requestCounts!, wire: 0, trips: 0 });
    const total = pay.body.get(2) as number;
    const sigTrips = Math.ceil((total - CHUNK) / CHUNK);
    let sig = Buffer.from(pay.body.get(3) as Uint8Array);
    await step(`OFFLINE_SIG_READ × ${sigTrips} (signature ${total} B)`, sigTrips, "USB.data", async () => {
      while (sig.length < total) sig = Buffer.concat([sig, Buffer.from((await rig.outer(0x52, new Map([[1, sig.length]]))).body.get(1) as Uint8Array)]);
    });
    const atc = pay.body.get(1) as number;
    const { encodeCbor } = await import("../../host/src/codec.ts");
    const msg = Buffer.concat([Buffer.from("KC-OFFLINE-v1"), encodeCbor(new Map<number, number | string | Uint8Array>([[1, cid], [2, 1234], [3, "EUR"], [4, req.get(3) as Uint8Array], [5, req.get(4) as Uint8Array], [6, 20261207], [7, atc]]))]);
    if (!hssVerify(pub, msg, sig)) throw new Error("bench offline: the measured signature does not verify");

    const rows: Row[] = [];
    const round = (x: number) => Math.round(x * 10) / 10;
    for (const profile of boardProfiles()) {
      let ms = 0, wire = 0, trips = 0;
      for (const s of steps) {
        const e = meter.estimate(profile, s.counts);
        ms += e.ms;
        wire += s.wire;
        trips += s.trips;
        rows.push({ board: profile.id, step: s.name, deviceMs: round(e.ms), nativeMs: round(e.breakdown.native), flashWordWrites: s.counts.flashWordWrites, wireBytes: s.wire, roundTrips: s.trips, whereTimeGoes: topParts(e.breakdown as unknown as Record<string, unknown>) });
      }
      rows.push({ board: profile.id, step: "= offline payment at a terminal (license + pay + signature)", deviceMs: round(ms), nativeMs: null, flashWordWrites: null, wireBytes: wire, roundTrips: trips });
      const inst = meter.estimate(profile, installCounts);
      rows.push({ board: profile.id, step: `OFFLINE_INSTALL × ${installMessages} (key file ${offlineKeyFileBytes(LMS_SHA256_M32_H10)} B, license), personalisation`, deviceMs: round(inst.ms), nativeMs: round(inst.breakdown.native), flashWordWrites: installCounts.flashWordWrites, wireBytes: null, roundTrips: installMessages });
    }
    rows.push({ board: "all", step: `signatures per carrier before re-issue: ${1 << 10} (H10); signature ${total} B, license ${license.length} B`, deviceMs: null, nativeMs: null, flashWordWrites: null, wireBytes: null, roundTrips: null });
    rows.push(...await nfcRows(rig.board.flash.snapshot(), license.length));
    return rows;
  } finally {
    rig.board.dispose();
  }
}

// The same terminal flow over the NFC mailbox (PROTOCOL.md §10): the carrier above, power-cycled into
// NFC mode, a virtual reader; reader frames (T2T WRITE/READ and polls) and an estimate of radio time
// at 106 kbit/s (as bench/sections/nfc.ts: 9 bits per byte, CRC_A, ~0.1 ms per exchange).
async function nfcRows(image: Uint8Array, licenseBytes: number): Promise<Row[]> {
  const rig = await CarrierRig.boot({ board: "nrf52840", nfc: true, nfcBundle: "keycarrier.full.js", flashImage: image, provision: false, meter: true });
  try {
    const reader = rig.reader!;
    let air = 0;
    const transceive = rig.board.nfc.transceive;
    rig.board.nfc.transceive = async (f, o) => {
      const r = await transceive(f, o);
      air += (f.length + 2) * 9 / 106 + (r.ack4 !== undefined ? 4 / 106 : (r.length + 2) * 9 / 106) + 0.1;
      return r;
    };
    const f0 = reader.frames;
    for (let off = 0; off < licenseBytes; off += CHUNK) {
      const r = await rig.outer(0x50, off === 0 ? new Map() : new Map([[1, off]]));
      if (r.status !== 0) throw new Error(`bench offline nfc: OFFLINE_LICENSE ${r.status}`);
    }
    const f1 = reader.frames;
    const req = new Map<number, number | string | Uint8Array>([[1, 99], [2, "EUR"], [3, Buffer.from("TERM0002")], [4, randomBytes(16)], [5, 20261207]]);
    const pay = await rig.outer(0x51, req, () => rig.press());
    if (pay.status !== 0) throw new Error(`bench offline nfc: OFFLINE_PAY ${pay.status}`);
    const f2 = reader.frames;
    let have = (pay.body.get(3) as Uint8Array).length;
    while (have < (pay.body.get(2) as number)) have += ((await rig.outer(0x52, new Map([[1, have]]))).body.get(1) as Uint8Array).length;
    const f3 = reader.frames;
    const row = (step: string, frames: number): Row => ({ board: "nrf52840 (NFC)", step, deviceMs: null, nativeMs: null, flashWordWrites: null, wireBytes: null, roundTrips: null, nfcReaderFrames: frames });
    return [
      row("NFC: OFFLINE_LICENSE chunks", f1 - f0),
      row("NFC: OFFLINE_PAY (request, polls while the user decides, reply)", f2 - f1),
      row("NFC: OFFLINE_SIG_READ chunks", f3 - f2),
      { ...row("= NFC reader frames per offline payment", f3 - f0), airMs: Math.round(air) },
    ];
  } finally {
    rig.board.dispose();
  }
}

/** The four largest parts of an estimate ("native 310 ms, statements 200 ms, …"). */
function topParts(b: Record<string, unknown>): string {
  return Object.entries(b).filter((kv): kv is [string, number] => typeof kv[1] === "number" && kv[1] > 0)
    .sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ");
}

function sum(meter: CostMeter, label: string): Counts {
  let acc: Counts | undefined;
  for (const s of meter.scopes) {
    if (s.label !== label) continue;
    if (!acc) { acc = structuredClone(s.counts); continue; }
    const add = (x: Record<string, unknown>, y: Record<string, unknown>): void => {
      for (const [k, v] of Object.entries(y)) {
        if (typeof v === "number") x[k] = ((x[k] as number | undefined) ?? 0) + v;
        else if (v && typeof v === "object") add((x[k] ??= {}) as Record<string, unknown>, v as Record<string, unknown>);
      }
    };
    add(acc as unknown as Record<string, unknown>, s.counts as unknown as Record<string, unknown>);
  }
  if (!acc) throw new Error(`bench offline: no ${label} scope was metered`);
  return acc;
}

/** The signer alone (firmware/test/offline/fixtures/sign-entry.ts) for W1/W2/W4/W8 on an H5 tree, 4 leaves each. */
async function signerRows(): Promise<Row[]> {
  const bundle = (await compile({ entry: "firmware/test/offline/fixtures/sign-entry.ts", minify: true, sourcemap: false })).code;
  const I = Buffer.alloc(16, 3), seed = Buffer.alloc(32, 9);
  const meter = new CostMeter();
  const vb = new VirtualBoard({ board: "nrf52840", cost: meter });
  vb.powerOn();
  const run = (src: string) => { const r = vb.evaluate(meter.prepare(src, "offline-bench")); if (!r.ok) throw r.error; return r.value; };
  run(bundle);
  run("var n = kcLms.natives(); 0");
  const rows: Row[] = [];
  try {
    for (const ots of [1, 2, 3, 4]) {
      const tree = refKeygen(LMS_SHA256_M32_H5, ots, I, seed);
      const nodes = latin1(tree.nodes);
      const counts: Counts[] = [];
      let hashes = 0;
      for (let q = 0; q < 4; q++) {
        const path = authPathOffsets(5, q).map((o) => nodes.substr(o, 32)).join("");
        const msg = "KC-OFFLINE-v1 bench " + q;
        const { result, record } = meter.measure("sign", () => run(`kcLms.sign(n, ${ots}, 5, ${JSON.stringify(latin1(I))}, ${q}, ${JSON.stringify(latin1(seed))}, ${JSON.stringify("C".repeat(32))}, ${JSON.stringify(msg)}, ${JSON.stringify(path)})`));
        if (!hssVerify(Buffer.concat([Buffer.from([0, 0, 0, 1]), tree.pub]), bin(msg), bin(result as string))) throw new Error("bench offline: signer output does not verify");
        counts.push(record.counts);
        hashes += record.counts.native["SHA256"]?.calls ?? 0;
      }
      const o = otsParams(ots);
      for (const profile of boardProfiles()) {
        const ms = counts.map((c) => meter.estimate(profile, c).ms);
        rows.push({
          board: profile.id, lmots: `W${o.w} (p ${o.p})`, meanMs: Math.round(ms.reduce((a, b) => a + b, 0) / ms.length), maxMs: Math.round(Math.max(...ms)),
          sha256PerSig: Math.round(hashes / counts.length), sigBytesH10: 4 + lmsSignatureBytes(o, lmsParams(LMS_SHA256_M32_H10)),
          leafKeygenHashes: o.p * (1 << o.w) + 2, // per leaf: p × (x_i + 2^w − 1 steps), K, the leaf node
        });
      }
    }
  } finally {
    vb.dispose();
  }
  return rows;
}

export const offlineSection: Section = {
  name: "offline",
  note: "cost model; keycarrier.full.js on a metered virtual nRF52840 over USB, each board's calibration applied to the same counts (only nrf52840 carries the offline applet; puckjs/pico rows say what the same work would cost there). roundTrips = protocol frames each way (≤ 480 B of license or signature per reply), the same over NFC. Second table: the signer alone per LM-OTS set (H5 tree, 4 leaves): docs/OFFLINE.md",
  run: async () => [...(await paymentRows()), ...(await signerRows())],
};
