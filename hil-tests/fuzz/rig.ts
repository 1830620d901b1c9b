// A virtual board running the RELEASE bundle from .bootcde, driven over USB, with the checks every
// fuzz input must pass: no uncaught exception and no OUT OF MEMORY on the board's transcript, no
// hang (BoardHang from the board's entry timeout, or timers that never settle), JsVars below the
// profile's pool, and exactly one well-formed response per well-framed request.
import { Status } from "../../host/src/status.ts";
import { compile } from "../../firmware/build/pipeline.ts";
import { BoardHang, VirtualBoard } from "../../board/src/virtual-board.ts";
import { estimateVars } from "../../board/src/cost/index.ts";
import { decodeCbor } from "../../host/src/codec.ts";
import { splitResponses, type Response } from "./frames.ts";

const bundlePromises: { usb?: Promise<string>; nfc?: Promise<string> } = {};
/**
 * The release bundle, compiled once per process (the same pipeline `npm run build` uses):
 * keycarrier.js (USB-only) by default, keycarrier.nfc.js (with the NFC link) with nfc.
 */
export function releaseBundle(nfc = false): Promise<string> {
  const key = nfc ? "nfc" : "usb";
  bundlePromises[key] ??= compile({ entry: "firmware/src/main.ts", minify: true, nfc }).then((r) => r.code);
  return bundlePromises[key]!;
}

// Status codes a v1 device may send (PROTOCOL.md §6).
// Every status PROTOCOL.md §6 defines (host/test/status-doc.test.ts keeps the two in step).
const KNOWN_STATUSES = new Set<number>(Object.values(Status));
const STATUS_INTERNAL = 8;
// Virtual ms a board may take to settle after an input: every false start in the buffer costs one
// 500 ms partial-frame timeout, and an input holds at most a few thousand bytes.
const SETTLE_LIMIT_MS = 3_000_000;
const ENTRY_TIMEOUT_MS = 2_000;

export class FuzzFailure extends Error {}

export interface FeedResult { responses: Response[] }

export class FuzzRig {
  readonly board: VirtualBoard;
  private out = "";
  private transcriptSeen = 0;
  readonly builtins: string[];
  inputs = 0;

  constructor(readonly bundle: string, readonly boardId = "nrf52840", seed = 1) {
    this.board = new VirtualBoard({ board: boardId, seed, entryTimeoutMs: ENTRY_TIMEOUT_MS });
    this.builtins = [];
    this.board.storage.write(".bootcde", bundle);
    this.board.usb.onData((bytes) => { this.out += Buffer.from(bytes).toString("latin1"); });
    this.board.powerOn();
    this.board.runUntilIdle(10_000);
    this.builtins = this.board.runtimeGlobalNames();
    const banner = this.board.transcript();
    if (!banner.includes("KeyCarrier")) throw new Error(`the release bundle did not boot on ${boardId}: ${banner.slice(0, 300)}`);
    this.transcriptSeen = banner.length;
    this.out = "";
  }

  /** Delivers `bytes` in chunks of the given sizes, lets the board settle, returns its responses. */
  feed(bytes: string, chunks?: number[]): FeedResult {
    this.inputs++;
    try {
      this.board.usb.write(bytes, chunks && chunks.length ? { chunks } : {});
      this.board.runUntilIdle(SETTLE_LIMIT_MS);
    } catch (e) {
      if (e instanceof BoardHang) throw new FuzzFailure(`the firmware hung: ${e.message}`);
      throw e;
    }
    if (this.board.clock.firmwareTimerCount() > 0) throw new FuzzFailure(`timers still pending after ${SETTLE_LIMIT_MS} virtual ms: the link never settles`);
    this.checkTranscript();
    const out = this.out;
    this.out = "";
    let responses: Response[];
    try {
      responses = splitResponses(out);
    } catch (e) {
      throw new FuzzFailure((e as Error).message);
    }
    for (const r of responses) checkResponse(r);
    return { responses };
  }

  /** Fails on anything the firmware printed that means a crash. */
  checkTranscript(): void {
    const t = this.board.transcript();
    const fresh = t.slice(this.transcriptSeen);
    this.transcriptSeen = t.length;
    for (const bad of ["Uncaught", "OUT OF MEMORY", "Not enough memory", "watchdog reset", "power cut"]) {
      if (fresh.includes(bad)) throw new FuzzFailure(`the board printed "${bad}": ${fresh.slice(0, 400)}`);
    }
  }

  /** Cost-model JsVars of the firmware (code run from Storage + its globals); fails above the pool. */
  checkVars(): number {
    const p = this.board.profile;
    const vars = estimateVars(this.board.globalObject(), { profile: p, exclude: this.builtins, codeBytes: this.bundle.length, codeMode: "storage" }).total;
    if (vars >= p.vars.count) throw new FuzzFailure(`estimated ${vars} JsVars, over ${p.id}'s ${p.vars.count}`);
    return vars;
  }

  dispose(): void {
    this.board.dispose();
  }
}

/** A response must be a CRC-valid v1 response frame with a known status and a canonical map body. */
export function checkResponse(r: Response): void {
  const where = `response seq ${r.seq} status ${r.status}`;
  if (!r.crcOk) throw new FuzzFailure(`${where}: bad CRC`);
  if (r.version !== 1 || r.type !== 1) throw new FuzzFailure(`${where}: version ${r.version} type ${r.type}, expected a v1 response`);
  if (!KNOWN_STATUSES.has(r.status)) throw new FuzzFailure(`${where}: unknown status`);
  // INTERNAL is the dispatcher catching a handler's exception: no input may cause one in v1.
  if (r.status === STATUS_INTERNAL) throw new FuzzFailure(`${where}: a handler threw (INTERNAL): ${r.body.slice(0, 80)}`);
  let body: unknown;
  try {
    body = decodeCbor(Buffer.from(r.body, "latin1"));
  } catch (e) {
    throw new FuzzFailure(`${where}: body is not canonical CBOR (${(e as Error).message})`);
  }
  if (!(body instanceof Map)) throw new FuzzFailure(`${where}: body is not a map`);
  if (r.status !== 0 && typeof body.get(1) !== "string") throw new FuzzFailure(`${where}: error body lacks the detail text (field 1)`);
}
