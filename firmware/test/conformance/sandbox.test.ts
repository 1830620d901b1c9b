// The conformance sandbox must catch what it exists to catch: wrong output, built-ins Espruino lacks,
// non-string console.log, runaway timers; and it must order timers and microtasks like Node.
import { transform } from "@swc/core";
import { describe, expect, it } from "vitest";
import { compareOutput, runCompiledInNode, SandboxRunError } from "../../conformance/corpus.ts";

describe("conformance sandbox", () => {
  it("captures console.log lines and runs microtasks before timers, timers by due time then creation order", async () => {
    const js = `
      setTimeout(function () { console.log("t10"); }, 10);
      setTimeout(function () { console.log("t0a"); Promise.resolve().then(function () { console.log("micro in t0a"); }); }, 0);
      setTimeout(function () { console.log("t0b"); }, 0);
      Promise.resolve().then(function () { console.log("micro"); });
      console.log("sync");`;
    expect(await runCompiledInNode(js)).toBe("sync\nmicro\nt0a\nmicro in t0a\nt0b\nt10\n");
  });

  it("runs intervals until cleared and drains long waits without real waiting", async () => {
    const js = `var n = 0; var id = setInterval(function () { n++; console.log("i" + n); if (n === 3) clearInterval(id); }, 1000);
      setTimeout(function () { console.log("late"); }, 30000);`;
    const started = Date.now();
    expect(await runCompiledInNode(js)).toBe("i1\ni2\ni3\nlate\n");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("removes built-ins Espruino 2v29 lacks unless asked for a full Node realm", async () => {
    const probe = `console.log([typeof Map, typeof Symbol, typeof Array.from, typeof Math.imul, typeof Object.freeze,
      typeof Number.isInteger, typeof Promise.prototype.finally, typeof "".trimStart, typeof Uint8Array.from].join(","));`;
    expect(await runCompiledInNode(probe)).toBe("undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined\n");
    expect(await runCompiledInNode(probe, { espruinoGlobals: false })).toBe("function,function,function,function,function,function,function,function,function\n");
    // What Espruino does have stays (facts §1 "Present").
    const present = `console.log([typeof [].find, typeof [].includes, typeof "".padStart, typeof Object.assign, typeof Promise.all].join(","));`;
    expect(await runCompiledInNode(present)).toBe("function,function,function,function,function\n");
  });

  it("rejects Object.create with a properties argument, as Espruino does", async () => {
    await expect(runCompiledInNode(`Object.create({}, { x: { value: 1 } });`)).rejects.toThrow(/propertiesObject is not supported/);
  });

  it("fails a program that logs something other than one string, keeping the output so far", async () => {
    const err = await runCompiledInNode(`console.log("fine"); console.log(1.5);`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxRunError);
    expect((err as SandboxRunError).message).toMatch(/exactly one string/);
    expect((err as SandboxRunError).output).toBe("fine\n1.5\n");
  });

  it("reports a throw at top level and in a timer callback with the output printed before it", async () => {
    const top = await runCompiledInNode(`console.log("a"); null.x;`).catch((e: unknown) => e);
    expect((top as SandboxRunError).message).toMatch(/top-level code threw/);
    expect((top as SandboxRunError).output).toBe("a\n");
    await expect(runCompiledInNode(`setTimeout(function () { throw new Error("boom"); }, 5);`)).rejects.toThrow(/timer callback threw at 5 virtual ms: Error: boom/);
  });

  it("stops intervals that are never cleared and treats clearTimeout(undefined) as the error it is on Espruino", async () => {
    await expect(runCompiledInNode(`setInterval(function () {}, 10);`)).rejects.toThrow(/still pending after 60000 virtual ms/);
    await expect(runCompiledInNode(`clearTimeout(undefined);`)).rejects.toThrow(/clearTimeout\(undefined\)/);
    expect(await runCompiledInNode(`setTimeout(function () { console.log("x"); }, 1); clearTimeout(); console.log("cleared all");`)).toBe("cleared all\n");
  });

  it("catches swc's stock helpers that break on Espruino (espruino-facts §2: _inherits, _object_without_properties)", async () => {
    const source = `class A { hi() { return "a"; } }
      class B extends A { hi() { return super.hi() + "b"; } }
      const { x, ...rest } = { x: 1, y: 2 };
      console.log(new B().hi() + Object.keys(rest).join(""));`;
    // Inline stock helpers: what the pipeline would ship without its own replacements.
    const stock = await transform(source, { jsc: { target: "es5", externalHelpers: false, parser: { syntax: "ecmascript" } }, isModule: false, swcrc: false });
    expect(await runCompiledInNode(stock.code, { espruinoGlobals: false })).toBe("aby\n");
    await expect(runCompiledInNode(stock.code)).rejects.toThrow(/propertiesObject is not supported|propertyIsEnumerable/);
  });

  it("names the first differing line when outputs differ", () => {
    expect(compareOutput("a\nb\nc\n", "a\nb\nc\n")).toEqual({ ok: true, line: 0, expected: "", actual: "" });
    expect(compareOutput("a\nb\nc\n", "a\nB\nc\n")).toEqual({ ok: false, line: 2, expected: "b", actual: "B" });
    expect(compareOutput("a\nb\n", "a\n")).toMatchObject({ ok: false, line: 2, expected: "b", actual: "" });
  });
});
