// The release firmware's string pool (firmware/build/pool-strings.ts): the pooled program behaves
// the same, literals the gate reads stay literals, and the source map still points each token at
// its original position.
import { describe, expect, it } from "vitest";
import vm from "node:vm";
import { minify } from "terser";
import { TraceMap, originalPositionFor, generatedPositionFor } from "@jridgewell/trace-mapping";
import { POOL_PREFIX, poolSaving, poolStrings } from "../../build/pool-strings.ts";
import { compile, FIRMWARE_ENTRY } from "../../build/pipeline.ts";

const SOURCE = [
  "!function(){",
  "function kind(x){return typeof x===\"string\"?\"a long detail text\":typeof x===\"number\"?\"a long detail text\":typeof x===\"string\"?\"s\":\"other\"}",
  "function text(){return\"a long detail text\"}function has(o){return\"string\"in o}",
  "var s=require(\"Storage\"),o={\"a long detail text\":1};",
  "out.push(text(),has({string:1}),kind(\"x\"),kind(1),kind(null),typeof undefinedThing===\"undefined\",typeof kind===\"string\",o[\"a long detail text\"]);",
  "s.read(\"a long detail text\");s.write(\"a long detail text\",\"string\");",
  "}();",
].join("\n");

function run(code: string): unknown[] {
  const out: unknown[] = [];
  const reads: string[] = [];
  vm.runInNewContext(code, { out, require: () => ({ read: (n: string) => reads.push(n), write: (n: string) => reads.push(n) }) });
  return [...out, ...reads];
}

describe("poolStrings", () => {
  it("spells a repeated literal once and the program prints the same", async () => {
    const min = await minify({ "in.js": SOURCE }, { compress: false, mangle: false, sourceMap: { includeSources: true } });
    const pooled = poolStrings(min.code!, min.map as string);
    expect(pooled.pooled).toEqual(["\"a long detail text\"", "\"string\""]);
    expect(run(pooled.code)).toEqual(run(SOURCE));
    // once mangled (as the release's second terser pass does), the pool's names are 1-2 chars
    const mangled = async (code: string) => (await minify(code, { compress: false, mangle: true })).code!.length;
    expect(await mangled(pooled.code)).toBeLessThan(await mangled(min.code!));
    // kept as literals: object keys, require() and Storage-name arguments, "undefined"
    expect(pooled.code).toContain("require(\"Storage\")");
    expect(pooled.code).toContain("{\"a long detail text\":1}");
    expect(pooled.code).toContain("s.read(\"a long detail text\")");
    expect(pooled.code).toContain("===\"undefined\"");
    expect(pooled.code.startsWith("!function(){var " + POOL_PREFIX + "0=\"a long detail text\"," + POOL_PREFIX + "1=\"string\";")).toBe(true);
  });

  it("keeps the source map: a token after pooled literals maps where it did", async () => {
    const min = await minify({ "in.js": SOURCE }, { compress: false, mangle: false, sourceMap: { includeSources: true } });
    const pooled = poolStrings(min.code!, min.map as string);
    const before = new TraceMap(min.map as string);
    const after = new TraceMap(pooled.map);
    // `out.push` is on SOURCE line 5 in both; find it in each output and map back
    for (const [code, map] of [[min.code!, before], [pooled.code, after]] as const) {
      const at = code.indexOf("out.push");
      const line = code.slice(0, at).split("\n").length;
      const column = at - (code.lastIndexOf("\n", at - 1) + 1);
      expect(originalPositionFor(map, { line, column })).toMatchObject({ source: "in.js", line: 5, column: 0 });
    }
    expect(generatedPositionFor(after, { source: "in.js", line: 5, column: 0 }).line).not.toBeNull();
  });

  it("pools only when it pays", () => {
    expect(poolSaving(8, 1)).toBeLessThan(0);
    expect(poolSaving(8, 19)).toBe(19 * 8 - (19 * 2 + 2 + 2 + 8));
    expect(poolSaving(3, 2)).toBeLessThan(4);
  });

  it("the release firmware bundle spells \"string\" once", async () => {
    const r = await compile({ entry: FIRMWARE_ENTRY, minify: true });
    expect(r.code.split("\"string\"").length - 1).toBe(1);
  }, 60_000);
});
