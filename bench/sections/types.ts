// The bench harness's contract: a section measures one area and returns flat rows, which run.ts
// prints as one table per section and stores under the section's name in bench/results.json.
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface Section {
  name: string;
  /** One line printed under the table (what the numbers mean, caveats). */
  note?: string;
  run(): Promise<Row[]>;
}

/** A device-time budget the bench enforces (the run exits 1 when a row breaks one). */
// A budget breaks the bench (exit 1) when a row is over max (or under min, for rates), unless
// knownMiss says where the gap is explained: then it prints MISS with that pointer and does not fail
// (a target not met yet is shown, not hidden and not asserted).
export interface Budget { section: string; where: (row: Row) => boolean; column: string; max?: number; min?: number; why: string; knownMiss?: string }
