/**
 * Value printing the way Espruino 2v29 prints values, in two flavours:
 * - `formatReplValue` — what the REPL shows after `=` (jsinteractive.c calls jsfPrintJSON with
 *   LIMIT | SOME_NEWLINES | PRETTY | SHOW_DEVICES | SHOW_OBJECT_NAMES | DROP_QUOTES);
 * - `formatToJS` — `E.toJS(v)`: compact, unquoted identifier keys, the text an EVAL packet returns.
 * Both follow jsfGetJSONWithCallback in src/jswrap_json.c (limits 15/5 items, 40/17 chars,
 * 4 object items per line, " ... " as the elision marker). Values come from the host's JS world
 * (a Node realm), so typed arrays, functions and class instances are recognised structurally.
 */

const LIMIT_AMOUNT = 15; // arrays longer than this are elided
const LIMITED_AMOUNT = 5; // items kept at each end when elided
const LIMIT_STRING_AMOUNT = 40; // strings longer than this are elided
const LIMITED_STRING_AMOUNT = 17; // chars kept at each end when elided
const ITEMS_ON_LINE_OBJECT = 4; // object items per line before a forced newline
const LIMIT_TEXT = " ... ";

interface Flags {
  pretty: boolean;
  someNewlines: boolean;
  limit: boolean;
  dropQuotes: boolean;
  noUndefined: boolean;
  ignoreFunctions: boolean;
  arrayBufferAsArray: boolean;
  showObjectNames: boolean;
}

const REPL_FLAGS: Flags = {
  pretty: true, someNewlines: true, limit: true, dropQuotes: true,
  noUndefined: false, ignoreFunctions: false, arrayBufferAsArray: false, showObjectNames: true,
};

const TOJS_FLAGS: Flags = {
  pretty: false, someNewlines: false, limit: false, dropQuotes: true,
  noUndefined: true, ignoreFunctions: true, arrayBufferAsArray: true, showObjectNames: false,
};

/** Espruino's escapeCharacter (src/jsutils.c): C escapes, else \xHH (upper case) outside 32..126. */
export function escapeEspruinoChar(code: number): string {
  switch (code) {
    case 8: return "\\b";
    case 12: return "\\f";
    case 10: return "\\n";
    case 7: return "\\a";
    case 13: return "\\r";
    case 9: return "\\t";
    case 92: return "\\\\";
    case 34: return "\\\"";
  }
  if (code < 32 || code >= 127) {
    return "\\x" + (code & 0xff).toString(16).toUpperCase().padStart(2, "0");
  }
  return String.fromCharCode(code);
}

/** `%q`: a double-quoted, escaped string. Chars above 255 are taken modulo 256, as on a board. */
export function quoteEspruinoString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) out += escapeEspruinoChar(s.charCodeAt(i) & 0xff);
  return out + "\"";
}

/** isIDString in src/jsutils.c: [A-Za-z_][A-Za-z0-9_]* — note `$` is NOT an identifier char there. */
function isIdString(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

/** Number to text with Espruino's 12 significant digits for non-integers (facts §1 Numbers). */
export function formatEspruinoNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  if (Number.isSafeInteger(n)) return String(n);
  return String(Number(n.toPrecision(12)));
}

function needsNewLine(v: unknown): boolean {
  return !(v === undefined || v === null || typeof v === "number" || typeof v === "boolean");
}

type TypedArray = Exclude<ArrayBufferView, DataView>;

// Tags instead of instanceof: values come from the board's own realm (a vm context).
function tagOf(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && tagOf(v) !== "DataView";
}

function typedArrayName(v: TypedArray): string {
  return tagOf(v);
}

/** The last prototype of a chain (that realm's Object.prototype for ordinary objects). */
function rootPrototype(o: object): object | null {
  let p = Object.getPrototypeOf(o) as object | null;
  while (p && Object.getPrototypeOf(p)) p = Object.getPrototypeOf(p) as object | null;
  return p;
}

class Printer {
  out = "";
  private readonly active = new Set<unknown>();
  constructor(private readonly flags: Flags) {}

  private newLine(indent: number): void {
    this.out += "\n" + "  ".repeat(indent);
  }

  value(v: unknown, indent: number): void {
    const f = this.flags;
    if (v === undefined) { this.out += f.noUndefined ? "null" : "undefined"; return; }
    if (v === null) { this.out += "null"; return; }
    if (typeof v === "number") { this.out += formatEspruinoNumber(v); return; }
    if (typeof v === "boolean") { this.out += v ? "true" : "false"; return; }
    if (typeof v === "string") { this.string(v); return; }
    if (typeof v === "bigint" || typeof v === "symbol") { this.out += String(v); return; }
    if (this.active.has(v)) { this.out += LIMIT_TEXT; return; }
    this.active.add(v);
    try {
      if (typeof v === "function") this.func(v as (...a: unknown[]) => unknown);
      else if (Array.isArray(v)) this.array(v, indent);
      else if (tagOf(v) === "ArrayBuffer") this.arrayBuffer(new Uint8Array(v as ArrayBuffer), "ArrayBuffer", indent);
      else if (isTypedArray(v)) this.arrayBuffer(v, typedArrayName(v), indent);
      else this.object(v as Record<string, unknown>, indent);
    } finally {
      this.active.delete(v);
    }
  }

  private string(s: string): void {
    if (this.flags.limit && s.length > LIMIT_STRING_AMOUNT) {
      this.out += quoteEspruinoString(s.slice(0, LIMITED_STRING_AMOUNT)) + LIMIT_TEXT +
        quoteEspruinoString(s.slice(s.length - LIMITED_STRING_AMOUNT));
    } else {
      this.out += quoteEspruinoString(s);
    }
  }

  private func(fn: (...a: unknown[]) => unknown): void {
    if (this.flags.ignoreFunctions) { this.out += "undefined"; return; }
    const src = Function.prototype.toString.call(fn);
    const params = /^[^(]*\(([^)]*)\)/.exec(src)?.[1]?.replace(/\s+/g, "") ?? "";
    const native = /\{\s*\[native code\]\s*\}\s*$/.test(src);
    this.out += "function (" + params + ") ";
    if (native) this.out += "{ [native code] }";
    else if (this.flags.limit) this.out += "{" + LIMIT_TEXT + "}";
    else this.out += src.slice(src.indexOf("{"));
  }

  private array(a: unknown[], indent: number): void {
    const f = this.flags;
    const length = a.length;
    const limited = f.limit && length > LIMIT_AMOUNT;
    let needNewLine = false;
    this.out += f.pretty ? "[ " : "[";
    let first = true;
    for (let i = 0; i < length; i++) {
      if (limited && i >= LIMITED_AMOUNT && i < length - LIMITED_AMOUNT) continue;
      if (!first) this.out += f.pretty ? ", " : ",";
      first = false;
      if (limited && i === length - LIMITED_AMOUNT) this.out += LIMIT_TEXT;
      const item = a[i];
      const newNeedsNewLine = f.someNewlines && needsNewLine(item);
      if (needNewLine || newNeedsNewLine) { this.newLine(indent + 1); needNewLine = false; }
      this.value(item, indent + 1);
      needNewLine = newNeedsNewLine;
    }
    if (needNewLine) this.newLine(indent);
    this.out += f.pretty ? " ]" : "]";
  }

  private arrayBuffer(view: TypedArray, name: string, indent: number): void {
    const f = this.flags;
    const values = Array.from(view as unknown as ArrayLike<number>);
    const allZero = values.every((x) => x === 0);
    if (allZero && !f.arrayBufferAsArray) {
      this.out += "new " + name + "(" + values.length + ")";
      return;
    }
    const isBasic = name === "ArrayBuffer";
    this.out += f.arrayBufferAsArray ? "[" : "new " + (isBasic ? "Uint8Array" : name) + "([";
    const limited = f.limit && values.length > LIMIT_AMOUNT;
    for (let i = 0; i < values.length; i++) {
      if (limited && i >= LIMITED_AMOUNT && i < values.length - LIMITED_AMOUNT) continue;
      if (i > 0) this.out += f.pretty ? ", " : ",";
      if (limited && i === values.length - LIMITED_AMOUNT) this.out += LIMIT_TEXT;
      this.value(values[i], indent + 1);
    }
    this.out += f.arrayBufferAsArray ? "]" : "])";
    if (isBasic && !f.arrayBufferAsArray) this.out += ".buffer";
  }

  private object(o: Record<string, unknown>, indent: number): void {
    const f = this.flags;
    if (f.showObjectNames) {
      const proto = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
      const ctorName = proto ? proto.constructor?.name : undefined;
      if (ctorName && ctorName !== "Object") {
        this.out += ctorName + ": ";
        const own = (o as { toString?: unknown }).toString;
        const root = rootPrototype(o) as { toString?: unknown } | null;
        if (typeof own === "function" && own !== root?.toString) {
          this.out += String((own as () => unknown).call(o));
          return;
        }
      }
    }
    this.out += f.pretty ? "{ " : "{";
    let first = true;
    let needNewLine = false;
    let sinceNewLine = 0;
    for (const key of Object.keys(o)) {
      const item = o[key];
      const hidden = (f.ignoreFunctions && typeof item === "function") || (f.noUndefined && item === undefined);
      if (hidden) continue;
      sinceNewLine++;
      if (!first) this.out += f.pretty ? ", " : ",";
      const newNeedsNewLine = f.someNewlines && needsNewLine(item);
      if (f.someNewlines && sinceNewLine > ITEMS_ON_LINE_OBJECT) needNewLine = true;
      if (needNewLine || newNeedsNewLine) { this.newLine(indent + 1); needNewLine = false; sinceNewLine = 0; }
      const bare = f.dropQuotes && (/^(0|[1-9][0-9]*)$/.test(key) || isIdString(key));
      this.out += (bare ? key : quoteEspruinoString(key)) + (f.pretty ? ": " : ":");
      first = false;
      this.value(item, indent + 1);
      needNewLine = newNeedsNewLine;
    }
    if (needNewLine) this.newLine(indent);
    this.out += f.pretty ? " }" : "}";
  }
}

/** The text the REPL prints after `=` (newlines are `\n`; the console turns them into `\r\n`). */
export function formatReplValue(v: unknown): string {
  const p = new Printer(REPL_FLAGS);
  p.value(v, 0);
  return p.out;
}

/** `E.toJS(v)`: compact JS literal text, as carried by an EVAL packet's RESPONSE. */
export function formatToJS(v: unknown): string {
  const p = new Printer(TOJS_FLAGS);
  p.value(v, 0);
  return p.out;
}

/**
 * "Uncaught …" text for an error, Espruino style: `String(error)`, then — when the error's stack
 * places it in the evaluated REPL text — ` at line L col C`, the source line (long lines cut to
 * 60 chars around the column with "...", as jsiConsolePrintTokenLineMarker does) and a caret.
 * `frameFile` is the file name the board evaluates REPL input under (a Node vm stack frame name).
 */
export function formatUncaught(error: unknown, source: string | undefined, frameFile = "REPL"): string {
  let text = errorToString(error);
  const stack = error !== null && typeof error === "object" ? (error as { stack?: unknown }).stack : undefined;
  if (source === undefined || typeof stack !== "string") return text;
  const escaped = frameFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`\\n\\s+at (?:[^\\n]*\\()?${escaped}:(\\d+):(\\d+)\\)?`).exec(stack);
  if (!m) return text;
  const line = Number(m[1]);
  let col = Number(m[2]);
  let src = source.split("\n")[line - 1];
  if (src === undefined) return text;
  text += `\n at line ${line} col ${col}\n`;
  let prefix = "";
  if (src.length > 60 && col - 1 > 30) {
    const skip = col - 1 - 30;
    prefix = "...";
    src = src.slice(skip + 3);
    col -= skip;
  }
  text += prefix + src.slice(0, 60) + (src.length > 60 ? "..." : "") + "\n" + " ".repeat(Math.max(0, col - 1)) + "^";
  return text;
}

/** `%v` of an error: "Type: message" for error objects (Espruino has no .name), else the value. */
function errorToString(error: unknown): string {
  if (error !== null && typeof error === "object" && "message" in error) {
    const e = error as { type?: unknown; name?: unknown; message?: unknown };
    const type = e.type ?? e.name ?? "Error";
    const msg = String(e.message);
    return msg ? `${String(type)}: ${msg}` : String(type);
  }
  return String(error);
}
