// Board replay files: what --out writes runs standalone and prints marker + expected output, a
// console transcript in Espruino's REPL format (espruino-facts §6) is reduced back to that output,
// and the CLI's exit codes follow pass/fail.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { checkBoardLog, writeBoardFiles } from "../../conformance/board-files.ts";
import { listPrograms, readExpected, runCompiledInNode, virtualBoardTarget } from "../../conformance/corpus.ts";
import { programOutputFromTranscript, startMarker } from "../../conformance/transcript.ts";

const dir = mkdtempSync(path.join(tmpdir(), "kc-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a board console shows: sync lines as "line\r\n", async ones as "\r\x1b[J" + line + "\r\n>". */
function asBoardTranscript(output: string, asyncFrom: number): string {
  const lines = output.split("\n").slice(0, -1);
  let t = " ____                 _\r\n|  __|___ ___ ___ _ _|_|___ ___\r\n 2v29 (c) 2025 G.Williams\r\n>=undefined\r\n";
  lines.forEach((line, i) => {
    t += i < asyncFrom ? line + "\r\n" : "\r\x1b[J" + line + "\r\n>";
  });
  return t;
}

describe("board replay files", () => {
  const picked = ["05-enums", "14-timers-promises", "29-async-await"];

  it("writes a standalone file, the expected output and a README per program; each file prints the marker then the expected output", async () => {
    const written = await writeBoardFiles(dir, picked, { debug: false });
    expect(written.map((w) => w.name)).toEqual(picked);
    const readme = readFileSync(path.join(dir, "README.txt"), "utf8");
    expect(readme).toContain("npm run conformance -- --check 05-enums 05-enums.log");
    for (const w of written) {
      const code = readFileSync(w.file, "utf8");
      expect(code.length).toBe(w.bytes);
      expect(readme).toContain(w.name);
      expect(readFileSync(path.join(dir, w.name + ".expected.txt"), "utf8")).toBe(readExpected(w.name));
      // Node runs promise reactions in its own order (NN-name.node.expected.txt); the board file is the board's
      expect(await runCompiledInNode(code)).toBe(startMarker(w.name) + "\n" + readExpected(w.name, "node"));
      expect(await virtualBoardTarget("nrf52840").run(code)).toBe(startMarker(w.name) + "\n" + readExpected(w.name));
    }
  });

  it("reduces a REPL transcript to the program output, ignoring banner, prompts, =value echoes and \\r\\x1b[J", async () => {
    const code = readFileSync(path.join(dir, "14-timers-promises.js"), "utf8");
    const transcript = asBoardTranscript(await virtualBoardTarget("nrf52840").run(code), 2);
    expect(programOutputFromTranscript(transcript, "14-timers-promises")).toBe(readExpected("14-timers-promises"));
    expect(checkBoardLog("14-timers-promises", transcript).ok).toBe(true);
  });

  it("reports the first differing line of a wrong board log and rejects a log without the marker", () => {
    const wrong = asBoardTranscript(startMarker("05-enums") + "\n" + readExpected("05-enums").replace("Sign=5", "Sign=6"), 1);
    const result = checkBoardLog("05-enums", wrong);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/MISMATCH at line 1\n {2}expected: Ping=0 Sign=5/);
    expect(() => programOutputFromTranscript("Ping=0\r\n>", "05-enums")).toThrow(/no "<<<conformance 05-enums>>>" line/);
  });

  it("no expected output line looks like REPL noise the transcript reduction drops", () => {
    for (const name of listPrograms()) {
      for (const line of readExpected(name).split("\n").slice(0, -1)) {
        expect(line === "" || line === ">" || line.startsWith("="), `${name}: "${line}"`).toBe(false);
      }
    }
  });
});

describe("conformance CLI", () => {
  const cli = path.resolve(__dirname, "../../conformance/cli.ts");
  const tsx = path.resolve(__dirname, "../../../node_modules/tsx/dist/cli.mjs");
  const run = (...args: string[]) => spawnSync(process.execPath, [tsx, cli, ...args], { encoding: "utf8", timeout: 30_000 });

  it("prints a pass table and exits 0 when the selected programs match", () => {
    const r = run("--only", "05");
    expect(r.stdout).toMatch(/05-enums(\s+ok){5}\n/);
    expect(r.stdout).toContain("5/5 runs match the expected output");
    expect(r.status).toBe(0);
  });

  it("exits 1 on a mismatching board log and 0 on a matching one", () => {
    const bad = path.join(dir, "bad.log");
    writeFileSync(bad, asBoardTranscript(startMarker("05-enums") + "\nPing=1\n", 1));
    const r = run("--check", "05-enums", bad);
    expect(r.stdout).toContain("05-enums: MISMATCH at line 1");
    expect(r.status).toBe(1);
    const good = path.join(dir, "good.log");
    writeFileSync(good, asBoardTranscript(startMarker("05-enums") + "\n" + readExpected("05-enums"), 1));
    expect(run("--check", "05-enums", good).status).toBe(0);
  });
});
