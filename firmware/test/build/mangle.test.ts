// Release builds shorten the firmware-internal property names listed in INTERNAL_PROPERTIES. These
// tests hold each name to the rules that make renaming it safe, and check the bundle really renames
// them while every Espruino-facing name survives.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { readdirSync, readFileSync, statSync } from "node:fs";
import ts from "typescript";
import { parse } from "acorn";
import { full as walkFull } from "acorn-walk";
import { compile, INTERNAL_PROPERTIES, OWN_PORT_PROPERTIES, REPO_ROOT } from "../../build/pipeline.ts";

const SRC = path.join(REPO_ROOT, "firmware/src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? tsFiles(full) : f.endsWith(".ts") ? [full] : [];
  });
}

function sourceOf(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2020, true);
}

/** Names declared as members (or accessed as properties) anywhere in the file. */
function memberNames(file: string): Set<string> {
  const out = new Set<string>();
  const visit = (n: ts.Node): void => {
    const named = n as ts.Node & { name?: ts.Node };
    if (
      (ts.isPropertySignature(n) || ts.isMethodSignature(n) || ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) ||
        ts.isFunctionDeclaration(n) || ts.isVariableDeclaration(n) || ts.isPropertyAssignment(n) ||
        ts.isShorthandPropertyAssignment(n) || ts.isModuleDeclaration(n)) &&
      named.name !== undefined && ts.isIdentifier(named.name)
    ) out.add(named.name.text);
    if (ts.isPropertyAccessExpression(n)) out.add(n.name.text);
    ts.forEachChild(n, visit);
  };
  visit(sourceOf(file));
  return out;
}

function stringLiterals(file: string): Set<string> {
  const out = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteralLike(n)) out.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(sourceOf(file));
  return out;
}

function builtinPropertyNames(): Set<string> {
  const out = new Set<string>(["message", "type", "stack", "name", "prototype", "constructor", "__proto__", "arguments", "caller", "callee"]);
  const roots: object[] = [Object, Array, String, Number, Boolean, Function, Error, TypeError, Promise, Uint8Array, ArrayBuffer, DataView, Math, JSON, Date, RegExp, globalThis, Object.getPrototypeOf(Uint8Array.prototype) as object];
  for (const o of roots) {
    for (const k of Object.getOwnPropertyNames(o)) out.add(k);
    const proto = (o as { prototype?: object }).prototype;
    if (proto) for (const k of Object.getOwnPropertyNames(proto)) out.add(k);
  }
  return out;
}

describe("INTERNAL_PROPERTIES: only names that never leave the firmware", () => {
  it("has no duplicates and only plain identifiers", () => {
    expect(new Set(INTERNAL_PROPERTIES).size).toBe(INTERNAL_PROPERTIES.length);
    for (const name of INTERNAL_PROPERTIES) expect(name).toMatch(/^[A-Za-z_$][\w$]*$/);
  });

  it("lists no property of a JavaScript built-in", () => {
    const builtins = builtinPropertyNames();
    expect(INTERNAL_PROPERTIES.filter((n) => builtins.has(n))).toEqual([]);
  });

  it("lists no name that Espruino's typings or the Espruino-facing modules use", () => {
    const facing = [
      path.join(REPO_ROOT, "node_modules/@types/espruino/index.d.ts"),
      path.join(SRC, "espruino-globals.d.ts"),
      path.join(SRC, "platform.ts"),
      path.join(SRC, "store/ports.ts"),
      path.join(SRC, "crypto/espruino.ts"),
    ];
    // OWN_PORT_PROPERTIES are reviewed exceptions: members of the firmware's own port objects that
    // these modules build, never read off an Espruino object (see pipeline.ts).
    for (const file of facing) {
      const names = memberNames(file);
      const clash = INTERNAL_PROPERTIES.filter((n) => names.has(n) && OWN_PORT_PROPERTIES.indexOf(n) < 0);
      expect(clash, path.relative(REPO_ROOT, file)).toEqual([]);
    }
  });

  it("keeps the reviewed port exceptions off every name the platform module reads from Espruino", () => {
    // Every Espruino object platform.ts touches, with the members it reads or passes: none may be renamed.
    const espruinoSide = ["getSerial", "env", "BOARD", "CRC32", "getFree", "nfcStart", "SHA256", "AES", "write", "setConsole",
      "force", "on", "decrypt", "encrypt", "mode", "toString", "read", "setServices", "uart", "repeat", "edge", "debounce",
      "state", "hwRand", "erase", "list", "getStats", "compact", "totalBytes", "freeBytes", "trashBytes"];
    expect(INTERNAL_PROPERTIES.filter((n) => espruinoSide.indexOf(n) >= 0)).toEqual([]);
  });

  it("lists no name spelled as a string literal in firmware/src (no dynamic o[name] access)", () => {
    for (const file of tsFiles(SRC)) {
      const strings = stringLiterals(file);
      expect(INTERNAL_PROPERTIES.filter((n) => strings.has(n)), path.relative(REPO_ROOT, file)).toEqual([]);
    }
  });
});

describe("release bundles", () => {
  it("renames every listed property and keeps the Espruino-facing ones", async () => {
    const { code } = await compile({ entry: path.join(SRC, "main.ts"), minify: true, sourcemap: false });
    const props = new Set<string>();
    const strings = new Set<string>();
    walkFull(parse(code, { ecmaVersion: 5 }), (node) => {
      const n = node as unknown as { type: string; computed?: boolean; value?: unknown; property?: { name?: string }; key?: { type: string; name?: string } };
      // Also strings added by the pipeline (swc class helpers name methods by string, for example).
      if (n.type === "Literal" && typeof n.value === "string") strings.add(n.value);
      if (n.type === "MemberExpression" && !n.computed && n.property?.name) props.add(n.property.name);
      if (n.type === "Property" && n.key?.type === "Identifier" && n.key.name) props.add(n.key.name);
    });
    expect(INTERNAL_PROPERTIES.filter((n) => props.has(n))).toEqual([]);
    expect(INTERNAL_PROPERTIES.filter((n) => strings.has(n))).toEqual([]);
    // Storage, crypto, console and setWatch names the board must see as written (platform.ts).
    for (const kept of ["getStats", "compact", "getFree", "CRC32", "SHA256", "setConsole", "force", "debounce", "edge", "state", "hwRand", "setServices", "uart"]) {
      expect(props.has(kept), kept).toBe(true);
    }
  }, 30_000);
});

// Test entries expose firmware objects on globals and call them by name, so only main.ts is renamed.
describe("other entries", () => {
  it("keep their property names in release", async () => {
    const { code } = await compile({ entry: path.join(REPO_ROOT, "firmware/test/security/fixtures/on-board.ts"), minify: true, sourcemap: false });
    expect(code).toMatch(/\.countVerdict\(|countVerdict:/);
  }, 30_000);
});
