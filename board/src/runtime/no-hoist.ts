// Espruino hoists nothing (facts §1: "calling a function before its declaration → ReferenceError").
// V8 hoists function declarations, so unchanged code would run on the virtual board and die on the
// first real board. Before the board evaluates any source, every function declaration statement
//   function f(a) { … }
// is rewritten in place into
//   var f = function (a) { … };
// so `f` only holds the function once that statement has run. A call before it then throws
// `TypeError: f is not a function` (V8 still hoists the `var` as undefined) where Espruino throws a
// ReferenceError: the failure is as loud, only its type differs.
//
// Why an anonymous function expression: a declaration binds its name in the enclosing scope, so
// recursion and reassignment inside the body go through that outer binding; a named function
// expression would add an inner read-only binding instead. V8 still infers the name `f` for stack
// traces. No newline is added, so line numbers in stack traces hold (columns shift).
// The output of ES5 input is ES5 (`var` + function expression), so the cost instrumenter, which only
// accepts ES5, can run after this pass; see board/docs/cost-model.md "Wiring".
import { parse, type Node } from "acorn";

type AnyNode = Node & { [key: string]: any };

const SKIPPED_KEYS = new Set(["type", "start", "end", "loc", "range", "raw", "value", "regex", "name", "operator", "prefix", "computed", "kind", "directive"]);

interface Edit { start: number; end: number; text: string }

/**
 * Returns `source` with every function declaration turned into a `var` assignment at the same
 * position. Source acorn cannot parse is returned unchanged, so V8 reports its own SyntaxError.
 */
export function unhoistFunctions(source: string): string {
  if (typeof source !== "string") throw new TypeError("unhoistFunctions(source): source must be a string of JavaScript");
  if (!source.includes("function")) return source;
  const cached = cache.get(source);
  if (cached !== undefined) return cached;
  let program: AnyNode;
  try {
    program = parse(source, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true }) as AnyNode;
  } catch {
    return source;
  }
  const edits: Edit[] = [];
  const visit = (node: AnyNode): void => {
    if (node.type === "FunctionDeclaration" && node.id) {
      // "async function f" / "function* f": keep everything except the name
      edits.push({ start: node.start, end: node.start, text: `var ${node.id.name as string} = ` });
      edits.push({ start: node.id.start, end: node.id.end, text: "" });
      edits.push({ start: node.end, end: node.end, text: ";" });
    }
    for (const key of Object.keys(node)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = node[key];
      if (Array.isArray(child)) { for (const c of child) if (c && typeof c.type === "string") visit(c); }
      else if (child && typeof child === "object" && typeof child.type === "string") visit(child);
    }
  };
  visit(program);
  if (edits.length === 0) return remember(source, source);
  edits.sort((a, b) => a.start - b.start);
  let out = "";
  let last = 0;
  for (const e of edits) {
    out += source.slice(last, e.start) + e.text;
    last = e.end;
  }
  out += source.slice(last);
  return remember(source, out);
}

// Boots re-run the same boot files many times (power-cut tests): keep the last few results.
const CACHE_ENTRIES = 32;
const cache = new Map<string, string>();

function remember(source: string, result: string): string {
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(source, result);
  return result;
}
