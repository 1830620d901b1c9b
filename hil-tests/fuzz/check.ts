// The oracle: deliver a batch of fuzz segments to the board and compare its responses with the
// reference receiver (frames.ts) and with what each segment's generator knows about its answer.
import { referenceScan } from "./frames.ts";
import { FuzzFailure, type FuzzRig } from "./rig.ts";
import { chunkPlan, type Batch, type Expectation } from "./strategies.ts";

const hex = (s: string, max = 48): string => Buffer.from(s.slice(0, max), "latin1").toString("hex") + (s.length > max ? "…" : "");

export interface BatchOutcome {
  inputs: number;
  responses: number;
  /** intended requests the reference says are not answerable (a neighbour swallowed them), or frames formed by coincidence */
  coincidences: number;
}

/** Feeds one batch; throws FuzzFailure describing the first broken promise. */
export function checkBatch(rig: FuzzRig, batch: Batch): BatchOutcome {
  const stream = batch.segments.map((s) => s.bytes).join("");
  const intended = new Map<number, Expectation & { strategy: string }>();
  let offset = 0;
  for (const s of batch.segments) {
    for (const e of s.expect) intended.set(offset + e.at, { ...e, strategy: s.strategy });
    offset += s.bytes.length;
  }
  const owed = referenceScan(stream);
  const { responses } = rig.feed(stream, chunkPlan(batch.cuts, stream.length));
  const describe = (): string => `segments: ${batch.segments.map((s) => `${s.strategy}:${hex(s.bytes)}`).join(" | ")}; cuts [${batch.cuts.join(",")}]`;
  if (responses.length !== owed.length || responses.some((r, i) => r.seq !== owed[i]!.seq)) {
    throw new FuzzFailure(`not exactly one response per well-framed request: owed seqs [${owed.map((f) => f.seq).join(",")}], ` +
      `got [${responses.map((r) => r.seq).join(",")}]; ${describe()}`);
  }
  let matched = 0;
  responses.forEach((r, i) => {
    const f = owed[i]!;
    if (f.version !== 1 && r.status !== 9) throw new FuzzFailure(`a version ${f.version} request got status ${r.status}, not UNSUPPORTED_VERSION; ${describe()}`);
    const e = intended.get(f.offset);
    if (!e) return;
    matched++;
    if (e.status !== undefined && r.status !== e.status) throw new FuzzFailure(`${e.strategy} request seq ${e.seq}: status ${r.status}, expected ${e.status} (detail ${hex(r.body)}); ${describe()}`);
    if (e.body !== undefined && r.body !== e.body) throw new FuzzFailure(`${e.strategy} request seq ${e.seq}: PING did not echo its body; ${describe()}`);
  });
  return { inputs: batch.segments.length, responses: responses.length, coincidences: intended.size - matched + (owed.length - matched) };
}
