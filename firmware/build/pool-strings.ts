// Release firmware only: a string literal the bundle spells several times ("string" in 19 typeof
// tests, repeated detail texts) is spelled once, in a var at the top of the IIFE, and read through
// its (mangled, 1-2 char) name everywhere else. terser has no such pass. Runs between terser's
// compress pass and its hoist+mangle pass; the source map is carried over by shifting columns.
//
// Left alone, so the compatibility gate keeps seeing them as literals (firmware/build/README.md):
// object keys, arguments of require() and of Storage-style calls (read/write/erase/list/open/
// readJSON/writeJSON/readArrayBuffer), and "undefined" / "function" / "object", which the gate's
// typeof feature tests look for.
import { parse, type Node } from "acorn";
import { ancestor } from "acorn-walk";
import { TraceMap, decodedMappings } from "@jridgewell/trace-mapping";

const GATE_TYPEOF_WORDS = ["undefined", "function", "object"];
const NAME_TAKING_METHODS = ["read", "write", "erase", "list", "open", "readJSON", "writeJSON", "readArrayBuffer"];
// Mangled names of the pool are 1-2 chars; assume 2 when deciding whether pooling pays.
const POOLED_NAME_CHARS = 2;
export const POOL_PREFIX = "__kc_pool_";

interface Edit { start: number; end: number; text: string }
type Literal = Node & { value: unknown; raw: string };
type AnyNode = Node & { [k: string]: unknown };

export interface PoolResult { code: string; map: string; pooled: string[] }

/** Bytes saved by pooling a literal of `rawLength` chars used `count` times (≤ 0: not worth it). */
export function poolSaving(rawLength: number, count: number): number {
  return count * rawLength - (count * POOLED_NAME_CHARS + POOLED_NAME_CHARS + 2 + rawLength);
}

export function poolStrings(code: string, map: string, minSaving = 4): PoolResult {
  const ast = parse(code, { ecmaVersion: 5 });
  const body = iifeBody(ast as unknown as AnyNode);
  if (body === null) return { code, map, pooled: [] };

  const uses = new Map<string, Literal[]>();
  ancestor(ast, {
    Literal(node: Node, _state: unknown, ancestors: Node[]) {
      const lit = node as Literal;
      if (typeof lit.value !== "string" || GATE_TYPEOF_WORDS.includes(lit.value)) return;
      const parent = ancestors[ancestors.length - 2] as AnyNode | undefined;
      if (parent === undefined || isKey(parent, lit) || isDirective(parent) || isNameArgument(parent, lit)) return;
      const list = uses.get(lit.raw) ?? [];
      list.push(lit);
      uses.set(lit.raw, list);
    },
  });

  const pooled = [...uses.entries()]
    .filter(([raw, list]) => poolSaving(raw.length, list.length) >= minSaving)
    .sort((a, b) => poolSaving(b[0].length, b[1].length) - poolSaving(a[0].length, a[1].length));
  if (pooled.length === 0) return { code, map, pooled: [] };

  const edits: Edit[] = [];
  const declarations: string[] = [];
  pooled.forEach(([raw, list], i) => {
    const name = POOL_PREFIX + i;
    declarations.push(name + "=" + raw);
    // `return"x"` / `"x"in o`: a name needs a space where the quote separated two words
    for (const lit of list) edits.push({ start: lit.start, end: lit.end, text: (isWordChar(code, lit.start - 1) ? " " : "") + name + (isWordChar(code, lit.end) ? " " : "") });
  });
  edits.push({ start: body.insertAt, end: body.insertAt, text: "var " + declarations.join(",") + ";" });
  edits.sort((a, b) => a.start - b.start);

  let out = "";
  let at = 0;
  for (const e of edits) {
    out += code.slice(at, e.start) + e.text;
    at = e.end;
  }
  out += code.slice(at);
  return { code: out, map: shiftMap(code, map, edits), pooled: pooled.map(([raw]) => raw) };
}

// `!function(){…}()` or `(function(){…})()`: where the pool goes (after a directive prologue); the
// firmware, which runs at global scope (pipeline.ts unwrapIife), gets it at the top of the script.
function iifeBody(program: AnyNode): { insertAt: number } | null {
  const stmts = program["body"] as AnyNode[];
  if (stmts.length !== 1 || stmts[0]!.type !== "ExpressionStatement") {
    let top = 0;
    for (const s of stmts) {
      if (!isDirective(s)) break;
      top = s.end;
    }
    return { insertAt: top };
  }
  let e = stmts[0]!["expression"] as AnyNode;
  if (e.type === "UnaryExpression") e = e["argument"] as AnyNode;
  if (e.type !== "CallExpression") return null;
  const fn = e["callee"] as AnyNode;
  if (fn.type !== "FunctionExpression") return null;
  const block = fn["body"] as AnyNode;
  const inner = block["body"] as AnyNode[];
  let insertAt = block.start + 1;
  for (const s of inner) {
    if (!isDirective(s)) break;
    insertAt = s.end;
  }
  return { insertAt };
}

function isWordChar(code: string, at: number): boolean {
  return at >= 0 && at < code.length && /[A-Za-z0-9_$]/.test(code[at]!);
}

function isKey(parent: AnyNode, lit: Literal): boolean {
  return parent.type === "Property" && parent["key"] === lit;
}

function isDirective(node: AnyNode): boolean {
  return node.type === "ExpressionStatement" && typeof node["directive"] === "string";
}

function isNameArgument(parent: AnyNode, lit: Literal): boolean {
  if (parent.type !== "CallExpression" || !(parent["arguments"] as Node[]).includes(lit)) return false;
  const callee = parent["callee"] as AnyNode;
  if (callee.type === "Identifier") return callee["name"] === "require";
  if (callee.type !== "MemberExpression" || callee["computed"]) return false;
  return NAME_TAKING_METHODS.includes((callee["property"] as AnyNode)["name"] as string);
}

// The edits replace or insert text; every mapping keeps its source position, its generated
// column moves by the length change of the edits before it on its line (inside a replaced
// literal: to the replacement's start).
function shiftMap(code: string, map: string, edits: Edit[]): string {
  const json = JSON.parse(map) as { mappings: string; [k: string]: unknown };
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const byLine = new Map<number, { col: number; end: number; delta: number }[]>();
  for (const e of edits) {
    const line = lineOf(e.start);
    const list = byLine.get(line) ?? [];
    list.push({ col: e.start - lineStarts[line]!, end: e.end - lineStarts[line]!, delta: e.text.length - (e.end - e.start) });
    byLine.set(line, list);
  }
  const decoded = decodedMappings(new TraceMap(json as never));
  const shifted = decoded.map((segments, line) => {
    const lineEdits = byLine.get(line);
    if (lineEdits === undefined) return segments.map((s) => [...s]);
    return segments.map((s) => {
      const col = s[0];
      let moved = col;
      for (const e of lineEdits) {
        if (e.end <= col) moved += e.delta; // before it on the line (an insertion at col too)
        else if (e.col < col) moved -= col - e.col; // inside a replaced literal: its start
      }
      return [moved, ...s.slice(1)];
    });
  });
  return JSON.stringify({ ...json, mappings: encodeMappings(shifted) });
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = "";
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    out += BASE64[digit];
  } while (v > 0);
  return out;
}

function encodeMappings(lines: number[][][]): string {
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  let name = 0;
  return lines.map((segments) => {
    let col = 0;
    return [...segments].sort((a, b) => a[0]! - b[0]!).map((s) => {
      let out = vlq(s[0]! - col);
      col = s[0]!;
      if (s.length >= 4) {
        out += vlq(s[1]! - src) + vlq(s[2]! - srcLine) + vlq(s[3]! - srcCol);
        src = s[1]!;
        srcLine = s[2]!;
        srcCol = s[3]!;
        if (s.length >= 5) {
          out += vlq(s[4]! - name);
          name = s[4]!;
        }
      }
      return out;
    }).join(",");
  }).join(";");
}
