// The conformance corpus: small TypeScript programs whose exact stdout is known, run as plain
// TypeScript (the reference) and compiled through the firmware pipeline on pluggable targets.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { compile, type CompileResult } from "../build/pipeline.ts";
import { runInSandbox } from "./sandbox.ts";
import { VirtualBoard } from "../../board/src/virtual-board.ts";

export { SandboxRunError } from "./sandbox.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROGRAMS_DIR = path.join(HERE, "programs");
const PROGRAM_NAME = /^\d\d-[a-z0-9-]+$/;

/**
 * Whose event order a run follows. Espruino 2v29 has no microtask queue: a promise reaction is an
 * ordinary event, run after every timer already due (facts §1, measured). Node's order differs, so a
 * program that shows the difference has `NN-name.node.expected.txt` for Node-based runs next to its
 * `NN-name.expected.txt`, which is always what a board prints.
 */
export type EventOrder = "espruino" | "node";

/** Somewhere compiled ES5 can run: Node's vm here; the virtual board or a real board later. */
export interface ConformanceTarget {
  name: string;
  /** The event order it runs with (default "espruino", what a board does). */
  order?: EventOrder;
  /** Runs one standalone compiled program and resolves with everything it printed ("\n" per line). */
  run(js: string): Promise<string>;
}

/** Program names (`NN-name`, without `.ts`) in order; helpers under `programs/lib/` are not programs. */
export function listPrograms(): string[] {
  return readdirSync(PROGRAMS_DIR)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .filter((n) => PROGRAM_NAME.test(n))
    .sort();
}

export function programPath(name: string): string {
  if (!PROGRAM_NAME.test(name)) throw new Error(`conformance: "${name}" is not a program name; use NN-name as listed by listPrograms()`);
  const file = path.join(PROGRAMS_DIR, name + ".ts");
  if (!existsSync(file)) throw new Error(`conformance: no program ${name}; add ${path.relative(process.cwd(), file)} or pick one of listPrograms()`);
  return file;
}

/**
 * The reviewed stdout of a program: `NN-name.expected.txt` (a board, Espruino 2v29's event order),
 * or for `order: "node"` its `NN-name.node.expected.txt` when the program has one.
 */
export function readExpected(name: string, order: EventOrder = "espruino"): string {
  const nodeFile = path.join(PROGRAMS_DIR, name + ".node.expected.txt");
  if (order === "node" && existsSync(nodeFile)) return readFileSync(nodeFile, "utf8");
  const file = path.join(PROGRAMS_DIR, name + ".expected.txt");
  if (!existsSync(file)) throw new Error(`conformance: ${name} has no expected output; run it with tsx, review it, save it as ${path.basename(file)}`);
  return readFileSync(file, "utf8");
}

const compiled = new Map<string, Promise<CompileResult>>();

/** Compiles a program through the firmware pipeline (cached per program and mode). */
export function compileProgramResult(name: string, opts: { minify: boolean }): Promise<CompileResult> {
  const key = name + (opts.minify ? ":release" : ":debug");
  let result = compiled.get(key);
  if (!result) {
    result = compile({ entry: programPath(name), minify: opts.minify, sourcemap: true });
    compiled.set(key, result);
    // A failed compile is not cached, so a fixed pipeline is picked up by the next call.
    result.catch(() => compiled.delete(key));
  }
  return result;
}

/** A standalone ES5 script for the program: paste it into a board's REPL or upload it. */
export async function compileProgram(name: string, opts: { minify: boolean }): Promise<string> {
  return (await compileProgramResult(name, opts)).code;
}

/**
 * Runs the program as plain modern TypeScript in Node (esbuild strips types and bundles lib/
 * imports, nothing is lowered), the reference the compiled runs are held against. With
 * `espruinoGlobals` the built-ins Espruino lacks are removed first, which shows whether the program
 * itself stays within what a board offers.
 */
export async function runPlainInNode(name: string, opts: { espruinoGlobals?: boolean } = {}): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [programPath(name)],
    bundle: true,
    format: "iife",
    target: "esnext",
    platform: "neutral",
    write: false,
    logLevel: "silent",
  });
  const js = result.outputFiles[0]?.text;
  if (js === undefined) throw new Error(`conformance: esbuild produced no output for ${name}`);
  return runInSandbox(js, { filename: name + ".plain.js", espruinoGlobals: opts.espruinoGlobals ?? false });
}

/**
 * Runs compiled ES5 in a fresh Node vm context, capturing console.log and draining timers on a
 * virtual clock. By default the context lacks the built-ins Espruino lacks (pass
 * `espruinoGlobals: false` for a full Node realm).
 */
export function runCompiledInNode(js: string, opts: { espruinoGlobals?: boolean; filename?: string } = {}): Promise<string> {
  return runInSandbox(js, { filename: opts.filename ?? "compiled.js", espruinoGlobals: opts.espruinoGlobals ?? true });
}

/** Node vm with Espruino's set of built-ins (the default target). */
export const nodeEspruinoGlobalsTarget: ConformanceTarget = {
  name: "node-espruino-globals",
  order: "node",
  run: (js) => runCompiledInNode(js, { espruinoGlobals: true }),
};

/** Node vm with every Node built-in (isolates pipeline bugs from missing-built-in bugs). */
export const nodeFullTarget: ConformanceTarget = {
  name: "node",
  order: "node",
  run: (js) => runCompiledInNode(js, { espruinoGlobals: false }),
};

/**
 * The virtual board (board/src/virtual-board.ts) with the given profile: the program is evaluated
 * at the REPL of a freshly powered board and timers run on its virtual clock. Output is what the
 * firmware printed, with the board's "\r\n" line ends turned into "\n".
 */
export function virtualBoardTarget(board = "puckjs", opts: { maxVirtualMs?: number } = {}): ConformanceTarget {
  return {
    name: "virtual-board:" + board,
    order: "espruino",
    run: async (js) => {
      const vb = new VirtualBoard({ board });
      try {
        vb.powerOn();
        const before = vb.transcript().length;
        const outcome = vb.evaluate(js, { filename: "conformance.js" });
        if (!outcome.ok) throw new Error(`virtual board ${board}: the program threw: ${String(outcome.error)}`);
        vb.runUntilIdle(opts.maxVirtualMs ?? 60_000);
        return vb.transcript().slice(before).replace(/\r\n/g, "\n");
      } finally {
        vb.dispose();
      }
    },
  };
}

export const defaultTargets: ConformanceTarget[] = [nodeEspruinoGlobalsTarget, virtualBoardTarget("puckjs")];

export interface OutputComparison {
  ok: boolean;
  /** 1-based line of the first difference, or 0 when equal. */
  line: number;
  expected: string;
  actual: string;
}

/** Line-level comparison that names the first differing line (for tables and assertion messages). */
export function compareOutput(expected: string, actual: string): OutputComparison {
  if (expected === actual) return { ok: true, line: 0, expected: "", actual: "" };
  const e = expected.split("\n");
  const a = actual.split("\n");
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  return { ok: false, line: i + 1, expected: e[i] ?? "<end of output>", actual: a[i] ?? "<end of output>" };
}
