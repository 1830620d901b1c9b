// The calibration tool's parsing and reporting (bench/calibrate/parse.ts), without the interpreter.
import { describe, expect, it } from "vitest";
import {
  decodeErrorFlags, formatTable, parseCallgrindTotal, parseCliArgs, parseProbeOutput, parseRigLine, relDiff,
} from "../../bench/calibrate/parse.ts";
import { storageWriteLines } from "../../bench/calibrate/real.ts";

describe("rig lines (scripts/real-espruino/kc-rig.patch)", () => {
  it("reads ready, memory with error flags, press and release; ignores other stderr", () => {
    expect(parseRigLine("KCRIG ready")).toEqual({ kind: "ready" });
    expect(parseRigLine("KCRIG mem 2516 2630 28\r")).toEqual({ kind: "mem", usage: 2516, total: 2630, errorFlags: ["CALLBACK", "LOW_MEMORY", "MEMORY"] });
    expect(parseRigLine("KCRIG mem 2502 2630 0 2626 0")).toEqual({ kind: "mem", usage: 2502, total: 2630, errorFlags: [], peak: 2626, check: 0 });
    expect(parseRigLine("KCRIG mem 2502 2630 0 2626 -3")).toMatchObject({ peak: 2626, check: -3 });
    expect(parseRigLine("KCRIG press 1")).toEqual({ kind: "press", watched: true });
    expect(parseRigLine("KCRIG release 0")).toEqual({ kind: "release", watched: false });
    expect(parseRigLine("espruino: Interactive mode.")).toBeUndefined();
    expect(parseRigLine("KCRIG mem 12 x 0")).toBeUndefined();
  });
  it("names every JsErrorFlags bit as E.getErrorFlags() does", () => {
    expect(decodeErrorFlags(0)).toEqual([]);
    expect(decodeErrorFlags(127)).toEqual(["FIFO_FULL", "BUFFER_FULL", "CALLBACK", "LOW_MEMORY", "MEMORY", "MEMORY_BUSY", "UART_OVERFLOW"]);
  });
});

describe("probe output (board/calibration/probes.js)", () => {
  it("takes KCPROBE lines through prompts, async-output escapes and CRLF; notes errors and the end marker", () => {
    const text = "\r\x1b[JKCPROBE object/0 1 1\r\n>KCPROBE string-flash/64 1 1\r\nOUT OF MEMORY\r\n  at f (:1:2)\r\nKCPROBE-END 900\r\n";
    const r = parseProbeOutput(text);
    expect(r.probes).toEqual([{ name: "object/0", vars: 1, sizeOf: 1 }, { name: "string-flash/64", vars: 1, sizeOf: 1 }]);
    expect(r.finished).toBe(true);
    expect(r.errors).toEqual(["OUT OF MEMORY"]);
    expect(parseProbeOutput("KCPROBE a 1 1\n").finished).toBe(false);
  });
});

describe("callgrind dumps", () => {
  it("reads the summary (or totals) line", () => {
    expect(parseCallgrindTotal("version: 1\ncmd: x\nsummary: 39248215\n")).toBe(39248215);
    expect(parseCallgrindTotal("fn=a\n1 2\ntotals: 42\n")).toBe(42);
    expect(() => parseCallgrindTotal("fn=a\n")).toThrow(/summary/);
  });
});

describe("Storage upload lines", () => {
  it("cuts data into ≤512-byte base64 pieces at their offsets, with the total size, and round-trips bytes", () => {
    const data = Array.from({ length: 1100 }, (_, i) => String.fromCharCode(i & 255)).join("");
    const lines = storageWriteLines(".bootcde", data);
    expect(lines).toHaveLength(3);
    const back = lines.map((l) => {
      const m = /^require\("Storage"\)\.write\("\.bootcde",atob\("([^"]*)"\),(\d+),1100\)\n$/.exec(l)!;
      expect(m).not.toBeNull();
      return { off: Number(m[2]), bytes: Buffer.from(m[1]!, "base64").toString("latin1") };
    });
    expect(back.map((b) => b.off)).toEqual([0, 512, 1024]);
    expect(back.map((b) => b.bytes).join("")).toBe(data);
    expect(() => storageWriteLines("x", "")).toThrow(/zero-length/);
  });
});

describe("report formatting", () => {
  it("aligns columns, right-aligns numbers, leaves missing cells empty", () => {
    const t = formatTable(["step", "real", "model"], [["boot", 2502, 949], ["INFO", 2514, null]]);
    expect(t.split("\n")).toEqual([
      "step   real  model",
      "----  -----  -----",
      "boot  2,502    949",
      "INFO  2,514",
    ]);
  });
  it("states model vs real as a signed percentage", () => {
    expect(relDiff(949, 2502)).toBe("−62%");
    expect(relDiff(110, 100)).toBe("+10%");
    expect(relDiff(5, 5)).toBe("±0%");
    expect(relDiff(undefined, 5)).toBe("");
    expect(relDiff(5, 0)).toBe("");
  });
});

describe("command line", () => {
  it("needs --espruino, defaults to puckjs, all parts and callgrind", () => {
    expect(() => parseCliArgs([])).toThrow(/--espruino BIN is required/);
    const o = parseCliArgs(["--espruino", "/x/espruino-pico", "--board", "pico", "--only", "probes,firmware", "--no-callgrind", "--write", "out.json"]);
    expect(o).toMatchObject({ espruino: "/x/espruino-pico", board: "pico", callgrind: false, write: "out.json" });
    expect([...o.only]).toEqual(["probes", "firmware"]);
    expect(parseCliArgs(["--espruino", "b"])).toMatchObject({ board: "puckjs", callgrind: true, bundle: undefined });
    expect(parseCliArgs(["--espruino", "b", "--bundle", "board/calibration/bundle-x.js"]).bundle).toBe("board/calibration/bundle-x.js");
  });
  it("refuses unknown boards, parts, flags and a missing value", () => {
    expect(() => parseCliArgs(["--espruino", "b", "--board", "pixljs"])).toThrow(/puckjs or pico/);
    expect(() => parseCliArgs(["--espruino", "b", "--only", "bench"])).toThrow(/unknown part/);
    expect(() => parseCliArgs(["--espruino", "b", "--fast"])).toThrow(/unknown argument/);
    expect(() => parseCliArgs(["--espruino", "--board", "pico"])).toThrow(/needs a value/);
  });
});
