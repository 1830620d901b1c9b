// Every conformance program must print its reviewed expected output: as plain TypeScript in Node,
// within Espruino's built-ins, and compiled through the firmware pipeline (release and debug),
// and the compiled bundles must pass the compatibility gate with zero findings.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkBundle, formatFinding } from "../../build/gate.ts";
import type { CompileResult } from "../../build/pipeline.ts";
import {
  compareOutput, compileProgramResult, defaultTargets, listPrograms, nodeFullTarget, PROGRAMS_DIR, programPath, readExpected, runPlainInNode,
} from "../../conformance/corpus.ts";

// Programs that fail because of a known pipeline bug: name → the bug. Such a program stays in the
// corpus and its compiled checks are expected to fail (it.fails), so a fix shows up as a failure here.
const KNOWN_FAILURES: Record<string, string> = {};

const programs = listPrograms();
const builds = new Map<string, CompileResult>();
const buildKey = (name: string, minify: boolean) => name + (minify ? ":release" : ":debug");

function sameOutput(expected: string, actual: string, what: string): void {
  const c = compareOutput(expected, actual);
  // The message names the first differing line; toBe then shows the full diff.
  expect(actual, c.ok ? what : `${what}: first difference at line ${c.line}: expected "${c.expected}", got "${c.actual}"`).toBe(expected);
}

beforeAll(async () => {
  // Compile everything up front and concurrently: the per-program tests then only run code.
  const jobs: Array<Promise<void>> = [];
  for (const name of programs) {
    for (const minify of [true, false]) {
      jobs.push(compileProgramResult(name, { minify }).then((r) => void builds.set(buildKey(name, minify), r), () => undefined));
    }
  }
  await Promise.all(jobs);
});

function build(name: string, minify: boolean): Promise<CompileResult> {
  // Cached by the corpus; a compile error surfaces here with the pipeline's own message.
  return compileProgramResult(name, { minify });
}

describe("conformance corpus layout", () => {
  it("has about 30 programs, numbered without gaps, each with a one-line header comment and expected output", () => {
    expect(programs.length).toBeGreaterThanOrEqual(30);
    programs.forEach((name, i) => expect(name.slice(0, 2), "programs are numbered 01, 02, ... without gaps").toBe(String(i + 1).padStart(2, "0")));
    for (const name of programs) {
      const firstLine = readFileSync(programPath(name), "utf8").split("\n")[0];
      expect(firstLine, `${name} must start with a one-line comment saying what it checks`).toMatch(/^\/\/ Checks .{10,}/);
      expect(readExpected(name).length, `${name}.expected.txt is empty`).toBeGreaterThan(0);
    }
  });

  it("shares lib/ between several programs (multi-file import/export)", () => {
    const importers = programs.filter((name) => /from "\.\/lib\//.test(readFileSync(programPath(name), "utf8")));
    expect(importers.length).toBeGreaterThanOrEqual(3);
  });

  it("type-checks against Espruino's library set, where console.log takes one string only", () => {
    const tsc = path.join(PROGRAMS_DIR, "../../../node_modules/typescript/bin/tsc");
    // Throws with tsc's diagnostics on stdout when a program does not type-check.
    execFileSync(process.execPath, [tsc, "-p", path.join(PROGRAMS_DIR, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  });
});

describe.each(programs)("%s", (name) => {
  const expected = readExpected(name);
  const nodeExpected = readExpected(name, "node");
  const known = KNOWN_FAILURES[name];
  const compiledIt = known ? it.fails : it;

  it("prints the expected output as plain TypeScript in Node", async () => {
    sameOutput(nodeExpected, await runPlainInNode(name), "plain run");
  });

  it("uses only built-ins Espruino 2v29 has (plain run without the missing ones)", async () => {
    sameOutput(nodeExpected, await runPlainInNode(name, { espruinoGlobals: true }), "plain run with Espruino's built-ins");
  });

  for (const minify of [true, false]) {
    const mode = minify ? "release (minified)" : "debug";
    const suffix = known ? ` [known failure: ${known}]` : "";

    for (const target of [...defaultTargets, nodeFullTarget]) {
      compiledIt(`prints the expected output compiled for ${mode} on ${target.name}${suffix}`, async () => {
        const { code } = await build(name, minify);
        sameOutput(target.order === "node" ? nodeExpected : expected, await target.run(code), `${mode} on ${target.name}`);
      });
    }

    compiledIt(`passes the gate with zero findings in ${mode}${suffix}`, async () => {
      const result = builds.get(buildKey(name, minify)) ?? (await build(name, minify));
      const findings = checkBundle(result.code, { map: result.map, polyfills: result.polyfills });
      expect(findings.map(formatFinding)).toEqual([]);
    });
  }
});
