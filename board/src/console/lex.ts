/**
 * Input-side text helpers for the console:
 * - `countOpenBrackets` mirrors jsiCountBracketsInInput (src/jsinteractive.c): it decides whether
 *   Enter executes the line or continues it with the `:` prompt;
 * - `parseLooseJson` reads the loose JSON that packets carry (`{fn:"a",s:3}`, single quotes,
 *   trailing commas), the way Espruino's JSON.parse accepts it (facts §1 JSON).
 */

/** Brackets still open in `src`. Unfinished string → 0 (execute so it errors); unfinished
 * comment or template literal → 1000 (keep reading). Stops early when a closer comes first. */
export function countOpenBrackets(src: string): number {
  let brackets = 0;
  let i = 0;
  const n = src.length;
  while (i < n) {
    const ch = src[i]!;
    if (ch === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (ch === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) return 1000;
      i = end + 2;
      continue;
    }
    if (ch === "\"" || ch === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = src[i]!;
        if (c === "\\") { i += 2; continue; }
        if (c === ch) { closed = true; i++; break; }
        if (c === "\n") break;
        i++;
      }
      if (!closed) return 0;
      continue;
    }
    if (ch === "`") {
      const end = findTemplateEnd(src, i + 1);
      if (end < 0) return 1000;
      i = end + 1;
      continue;
    }
    if (ch === "{" || ch === "[" || ch === "(") brackets++;
    if (ch === "}" || ch === "]" || ch === ")") brackets--;
    if (brackets < 0) break;
    i++;
  }
  return brackets;
}

/** Index of the closing backtick of a template starting at `from`, or -1 if unfinished. */
function findTemplateEnd(src: string, from: number): number {
  let i = from;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") { i += 2; continue; }
    if (c === "`") return i;
    if (c === "$" && src[i + 1] === "{") {
      let depth = 1;
      i += 2;
      while (i < src.length && depth > 0) {
        const d = src[i]!;
        if (d === "{") depth++;
        else if (d === "}") depth--;
        else if (d === "`") { const e = findTemplateEnd(src, i + 1); if (e < 0) return -1; i = e; }
        i++;
      }
      if (depth > 0) return -1;
      continue;
    }
    i++;
  }
  return -1;
}

export class LooseJsonError extends Error {}

/** Parse loose JSON: unquoted identifier keys, '…' or "…" strings, trailing commas, numbers,
 * true/false/null/undefined. Throws LooseJsonError with the failing offset. */
export function parseLooseJson(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new LooseJsonError(`packet JSON: ${what} at offset ${i} in ${JSON.stringify(text.slice(0, 80))}`);
  };
  const ws = (): void => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const str = (): string => {
    const q = text[i++];
    let out = "";
    while (i < text.length && text[i] !== q) {
      let c = text[i++]!;
      if (c === "\\") {
        const e = text[i++];
        if (e === undefined) fail("unfinished escape");
        const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", a: "\x07", v: "\v", "0": "\0" };
        if (e === "x") { c = String.fromCharCode(parseInt(text.slice(i, i + 2), 16)); i += 2; }
        else if (e === "u") { c = String.fromCharCode(parseInt(text.slice(i, i + 4), 16)); i += 4; }
        else c = simple[e!] ?? e!;
      }
      out += c;
    }
    if (text[i] !== q) fail("unfinished string");
    i++;
    return out;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      while (text[i] !== "}") {
        ws();
        let key: string;
        if (text[i] === "\"" || text[i] === "'") key = str();
        else {
          const m = /^[A-Za-z_$0-9][A-Za-z_$0-9]*/.exec(text.slice(i));
          if (!m) return fail("expected a key");
          key = m[0];
          i += key.length;
        }
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        o[key] = value();
        ws();
        if (text[i] === ",") { i++; ws(); continue; }
        if (text[i] !== "}") fail("expected ',' or '}'");
      }
      i++;
      return o;
    }
    if (c === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      while (text[i] !== "]") {
        a.push(value());
        ws();
        if (text[i] === ",") { i++; ws(); continue; }
        if (text[i] !== "]") fail("expected ',' or ']'");
      }
      i++;
      return a;
    }
    if (c === "\"" || c === "'") return str();
    const m = /^(-?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?)|true|false|null|undefined)/.exec(text.slice(i));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    switch (m[0]) {
      case "true": return true;
      case "false": return false;
      case "null": return null;
      case "undefined": return undefined;
      default: return Number(m[0]);
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return v;
}
