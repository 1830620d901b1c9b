// The shipped firmware runs at Espruino's global scope (firmware/build/pipeline.ts unwrapIife): no
// IIFE, so module-level functions carry no scope link and factory methods no copied scope array
// (board/docs/cost-model.md "JsVars"). Its globals must never shadow an Espruino global.
import { describe, expect, it } from "vitest";
import { parse } from "acorn";
import { ESPRUINO_GLOBAL_NAMES, unwrapIife } from "../../build/pipeline.ts";
import { releaseBundle } from "../../../bench/context.ts";

describe("firmware at global scope", () => {
  it("unwrapIife keeps every line (the source map's lines hold) and refuses any other shape", () => {
    const code = "(function() {\n  var a = 1;\n  print(a);\n})();\n";
    const out = unwrapIife(code);
    expect(out.split("\n").length).toBe(code.split("\n").length);
    expect(out.split("\n")[1]).toBe("  var a = 1;");
    expect(() => unwrapIife("!function(){var a}();")).toThrow(/not the .* IIFE/);
  });

  for (const nfc of [false, true]) {
    it(`${nfc ? "keycarrier.nfc.js" : "keycarrier.js"}: top-level statements, none of its globals an Espruino name`, () => {
      const code = releaseBundle(nfc);
      expect(code.startsWith("!function(){")).toBe(false);
      const body = (parse(code, { ecmaVersion: 5 }) as unknown as { body: { type: string; id?: { name: string }; declarations?: { id: { name: string } }[] }[] }).body;
      const names = body.flatMap((s) => s.type === "FunctionDeclaration" ? [s.id!.name] : s.type === "VariableDeclaration" ? s.declarations!.map((d) => d.id.name) : []);
      expect(names.length).toBeGreaterThan(50);
      expect(names.filter((n) => ESPRUINO_GLOBAL_NAMES.includes(n))).toEqual([]);
    });
  }
});
