// Code chunks (firmware/build/chunks.ts, issue #12): what moves out of the core, what stays, and the
// shipped NFC bundle's kc.chp as the build makes it.
import { describe, expect, it } from "vitest";
import { CRC_PLACEHOLDER_BASE, fillCrcs, splitChunks } from "../../build/chunks.ts";
import { compileBundleFiles } from "../../build/cli.ts";
import { PERSO_CHUNKED_NFC } from "../../build/bundles.ts";
import { checkBundle } from "../../build/gate.ts";
import { crc32 } from "node:zlib";

const PROGRAM = [
  "var ONLY_CHUNK = 7;",
  "var SHARED = \"s\";",
  "function shared(x) {",
  "    return x + SHARED;",
  "}",
  "function onlyChunk(x) {",
  "    return shared(x) + ONLY_CHUNK;",
  "}",
  "function root() {",
  "    return { run: onlyChunk };",
  "}",
  "function load() {",
  "    return loadChunk(\"kc.ch.x\", " + CRC_PLACEHOLDER_BASE + ");",
  "}",
  "KC_CHUNK_ROOT(\"kc.ch.x\", root);",
  "print(shared(1), load);",
].join("\n");

describe("splitChunks", () => {
  const split = splitChunks(PROGRAM, [{ name: "x", storageName: "kc.ch.x", crcPlaceholder: CRC_PLACEHOLDER_BASE }]);
  const chunk = split.chunks[0]!;

  it("moves what only the chunk's root reaches, keeps what the core uses, and drops the marker", () => {
    expect(chunk.moved.sort()).toEqual(["ONLY_CHUNK", "onlyChunk", "root"]);
    expect(split.core).toContain("function shared(x)");
    expect(split.core).not.toContain("function onlyChunk");
    expect(split.core).not.toContain("KC_CHUNK_ROOT");
    expect(split.retain).toEqual(["shared"]);
  });

  it("keeps every line where it was (one source map serves core and chunks) and ends the chunk with its root's return", () => {
    expect(split.core.split("\n").length).toBe(PROGRAM.split("\n").length);
    const lines = chunk.text.split("\n");
    expect(lines[5]).toBe("function onlyChunk(x) {");
    expect(lines[2]).toBe("");
    expect(chunk.text.trimEnd().endsWith("return (root)();")).toBe(true);
  });

  it("a chunk's text runs as a function body against the core's globals", () => {
    const core = new Function("print", "loadChunk", split.core.replace(/^KC_CHUNK_ROOT.*$/m, "") + "\nreturn shared;");
    const sharedFn = core(() => {}, () => undefined) as (x: number) => string;
    const handlers = new Function("shared", chunk.text)(sharedFn) as { run: (x: number) => string };
    expect(handlers.run(1)).toBe("1s7");
  });

  it("refuses a bundle that lists a chunk nothing names, and a marker without a function", () => {
    expect(() => splitChunks(PROGRAM, [{ name: "y", storageName: "kc.ch.y", crcPlaceholder: CRC_PLACEHOLDER_BASE }])).toThrow(/no KC_CHUNK_ROOT\("kc.ch.y"/);
    expect(() => splitChunks("KC_CHUNK_ROOT(\"kc.ch.x\", 3);", [])).toThrow(/module-level function/);
  });

  it("fillCrcs writes each CRC as 0x + 8 hex digits in the placeholder's 10 columns, exactly once", () => {
    expect(fillCrcs(`a(${CRC_PLACEHOLDER_BASE})`, [{ crcPlaceholder: CRC_PLACEHOLDER_BASE, crc: 0xabc }])).toBe("a(0x00000abc)");
    expect(() => fillCrcs("a()", [{ crcPlaceholder: CRC_PLACEHOLDER_BASE, crc: 1 }])).toThrow(/0 times/);
  });
});

describe("the perso chunk as the build makes it (PERSO_CHUNKED_NFC; no shipped bundle has chunks)", () => {
  it("keycarrier.nfc.js built with it: PERSONALISE and PROVISION live in kc.chp, whose CRC-32 the core checks; it passes the gate", async () => {
    const nfc = await compileBundleFiles(PERSO_CHUNKED_NFC);
    expect(nfc.chunks.map((c) => c.storageName)).toEqual(["kc.chp"]);
    const perso = nfc.chunks[0]!.code;
    for (const detail of ["bad transport key", "already provisioned", "bad limit"]) {
      expect(perso).toContain(detail);
      expect(nfc.code).not.toContain(detail);
    }
    expect(nfc.code).toContain("0x" + crc32(Buffer.from(perso, "latin1")).toString(16).padStart(8, "0"));
    expect(nfc.code).not.toContain(String(CRC_PLACEHOLDER_BASE));
    expect(checkBundle(perso, { functionBody: true })).toEqual([]);
    // the chunk reads the core's helpers as globals instead of repeating them: it stays small
    expect(perso.length).toBeLessThan(2_000);
  }, 60_000);

  it("the shipped bundles have no chunks: their commands are built at boot", async () => {
    for (const file of ["keycarrier.js", "keycarrier.nfc.js"] as const) {
      const shipped = await compileBundleFiles(file);
      expect(shipped.chunks, file).toEqual([]);
      expect(shipped.code, file).toContain("bad transport key");
      expect(shipped.code, file).not.toContain("kc.chp");
    }
  }, 60_000);
});
