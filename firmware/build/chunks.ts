// Code chunks (issue #12): split the compiled firmware into the core `.bootcde` runs and the chunk
// files it loads when a command needs them (firmware/src/platform.ts loadChunk).
//
// The firmware is compiled as ONE program, so every name, constant and renamed property is the same
// in the core and its chunks. A chunk is named in the source by a top-level marker,
// `if (KC_CHUNKS) KC_CHUNK_ROOT("<Storage name>", root);`: `root` is a module-level function that
// returns the chunk's handlers. Here, on the compressed program (beautified: one top-level statement
// per line range), every top-level function (and var of constant value) that only `root` reaches,
// and not the core's own statements, moves into the chunk file, whose text is the body of a
// function: those declarations, then `return (root)();`. What a chunk uses from the core it reads as
// a global (the core runs at global scope): one copy of each helper, no duplicated state; the core
// gives those names the same short names (a shared terser name cache). The marker leaves the core.
// Lines are blanked, never removed, so the program's source map stays valid for every part.
import { parse } from "acorn";

export interface ChunkRequest { name: string; storageName: string; crcPlaceholder: number }
export interface ChunkSplit {
  core: string;
  /** Top-level names of the core the chunks use: kept (not dropped or inlined away) when the core is minified. */
  retain: string[];
  chunks: { name: string; storageName: string; crcPlaceholder: number; text: string; moved: string[] }[];
}

/** A chunk file's CRC placeholder (KC_CHUNK_CRC_<NAME>): 10 digits, replaced by `0x` + 8 hex digits, so no column moves. */
export const CRC_PLACEHOLDER_BASE = 4000000001;

interface Decl { names: string[]; refs: Set<string>; start: number; end: number; movable: boolean; node: AnyNode }
type AnyNode = { type: string; start: number; end: number; [k: string]: any };

export function splitChunks(script: string, wanted: readonly ChunkRequest[]): ChunkSplit {
  const program = parse(script, { ecmaVersion: 5, sourceType: "script", locations: true }) as unknown as AnyNode;
  const body = program["body"] as AnyNode[];
  const topNames = new Set<string>();
  for (const s of body) for (const n of declaredNames(s)) topNames.add(n);

  // the markers, `KC_CHUNK_ROOT("<Storage name>", root);` at the top level: root is a function, or its name
  const markers = new Map<string, { root: AnyNode; statement: AnyNode }>();
  // a string the build pooled (pool-strings.ts) is read through its top-level var
  const constants = new Map<string, unknown>();
  for (const st of body) if (st.type === "VariableDeclaration") for (const d of st["declarations"]) if (d["init"]?.type === "Literal") constants.set(d["id"]["name"], d["init"]["value"]);
  const isMarker = (e: AnyNode) => e.type === "CallExpression" && e["callee"].type === "Identifier" && e["callee"]["name"] === "KC_CHUNK_ROOT";
  for (const st of body) {
    const e = st.type === "ExpressionStatement" ? st["expression"] : null;
    if (!e) continue;
    // terser may join the markers into one statement: a, b;
    const calls = e.type === "SequenceExpression" && (e["expressions"] as AnyNode[]).every(isMarker) ? e["expressions"] as AnyNode[] : isMarker(e) ? [e] : [];
    for (const call of calls) {
      const [nameArg, root] = call["arguments"] as AnyNode[];
      const name = nameArg?.type === "Literal" ? nameArg["value"] : nameArg?.type === "Identifier" ? constants.get(nameArg["name"]) : undefined;
      if (typeof name !== "string" || !root || !(root.type === "FunctionExpression" || (root.type === "Identifier" && topNames.has(root["name"])))) {
        throw new Error(`chunks: KC_CHUNK_ROOT needs a Storage name and a module-level function (line ${st["loc"].start.line})`);
      }
      markers.set(name, { root, statement: st });
    }
  }
  const markerStatements = new Set([...markers.values()].map((m) => m.statement));
  // every top-level statement: what it declares and which top-level names it refers to
  const decls: Decl[] = body.map((s) => {
    const refs = new Set<string>();
    walk(s, (n, parent) => {
      if (n.type !== "Identifier") return;
      if (parent && parent.type === "MemberExpression" && parent["property"] === n && !parent["computed"]) return;
      if (parent && parent.type === "Property" && parent["key"] === n) return;
      if (topNames.has(n["name"])) refs.add(n["name"]);
    });
    const names = declaredNames(s);
    for (const n of names) refs.delete(n);
    return { names, refs, start: s.start, end: s.end, movable: s.type === "FunctionDeclaration" || (s.type === "VariableDeclaration" && s["declarations"].every((d: AnyNode) => d["init"] === null || constantValue(d["init"]))), node: s };
  });
  const byName = new Map<string, Decl>();
  for (const d of decls) for (const n of d.names) byName.set(n, d);
  const reach = (roots: Iterable<Decl>): Set<Decl> => {
    const seen = new Set<Decl>();
    const todo = [...roots];
    while (todo.length) {
      const d = todo.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      for (const r of d.refs) { const t = byName.get(r); if (t) todo.push(t); }
    }
    return seen;
  };
  // the core: every statement that runs at boot (not a movable declaration) and what it reaches
  const core = reach(decls.filter((d) => !d.movable && !markerStatements.has(d.node)));

  const lines = script.split("\n");
  const lineStarts: number[] = [];
  let at = 0;
  for (const l of lines) { lineStarts.push(at); at += l.length + 1; }
  const lineOf = (pos: number) => { let lo = 0, hi = lineStarts.length - 1; while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStarts[mid]! <= pos) lo = mid; else hi = mid - 1; } return lo; };
  const span = (d: Decl): [number, number] => {
    const a = lineOf(d.start), b = lineOf(d.end - 1);
    // a statement must own its lines (esbuild prints one top-level statement per line range)
    if (script.slice(lineStarts[a]!, d.start).trim() !== "" || script.slice(d.end, lineStarts[b]! + lines[b]!.length).trim() !== "") {
      throw new Error(`chunks: the top-level statement at line ${a + 1} shares a line with another; cannot move it`);
    }
    return [a, b];
  };

  const retain = new Set<string>();
  const blankMarker = new Set<number>();
  const moved = new Set<Decl>();
  const chunks: ChunkSplit["chunks"] = [];
  for (const w of wanted) {
    const m = markers.get(w.storageName);
    if (!m) throw new Error(`chunks: no KC_CHUNK_ROOT("${w.storageName}", …) in the firmware: the bundle lists chunk ${w.name}, nothing names its code`);
    const rootRefs = new Set<string>();
    walk(m.root, (n, parent) => {
      if (n.type !== "Identifier" || !topNames.has(n["name"])) return;
      if (parent && parent.type === "MemberExpression" && parent["property"] === n && !parent["computed"]) return;
      if (parent && parent.type === "Property" && parent["key"] === n) return;
      rootRefs.add(n["name"]);
    });
    const mine = [...reach([...rootRefs].map((r) => byName.get(r)!).filter((d) => d !== undefined))].filter((d) => !core.has(d));
    for (const r of rootRefs) { const t = byName.get(r); if (t && core.has(t)) retain.add(r); }
    const keep = new Array<boolean>(lines.length).fill(false);
    for (const d of mine) {
      if (!d.movable) throw new Error(`chunks: ${d.names.join(", ")} runs at boot; chunk ${w.name} cannot take it`);
      const [a, b] = span(d);
      for (let i = a; i <= b; i++) keep[i] = true;
      moved.add(d);
      for (const r of d.refs) { const t = byName.get(r); if (t && core.has(t)) retain.add(r); }
    }
    const root = script.slice(m.root.start, m.root.end);
    const text = lines.map((l, i) => (keep[i] ? l : "")).join("\n") + `\nreturn (${root})();\n`;
    chunks.push({ ...w, text, moved: mine.flatMap((d) => d.names) });
  }
  // no marker stays in the core
  for (const st of markerStatements) { const [a, b] = span(decls.find((d) => d.node === st)!); for (let i = a; i <= b; i++) blankMarker.add(i); }
  const blank = new Array<boolean>(lines.length).fill(false);
  for (const d of moved) { const [a, b] = span(d); for (let i = a; i <= b; i++) blank[i] = true; }
  for (const i of blankMarker) blank[i] = true;
  const coreText = lines.map((l, i) => (blank[i] ? "" : l)).join("\n");
  return { core: coreText, retain: [...retain].sort(), chunks };
}

/** Replaces each chunk's CRC placeholder in the minified core by its CRC-32 (`0x` + 8 hex digits, the placeholder's 10 columns). */
export function fillCrcs(core: string, crcs: ReadonlyArray<{ crcPlaceholder: number; crc: number }>): string {
  let out = core;
  for (const c of crcs) {
    const text = String(c.crcPlaceholder);
    const n = out.split(text).length - 1;
    if (n !== 1) throw new Error(`chunks: the core holds the CRC placeholder ${text} ${n} times (expected once)`);
    out = out.replace(text, "0x" + (c.crc >>> 0).toString(16).padStart(8, "0"));
  }
  return out;
}

function declaredNames(s: AnyNode): string[] {
  if (s.type === "FunctionDeclaration") return [s["id"]["name"]];
  if (s.type === "VariableDeclaration") return s["declarations"].map((d: AnyNode) => d["id"]["name"]);
  return [];
}

/** An initializer that runs nothing: a literal (regex too), or arithmetic/arrays/objects of those. */
function constantValue(n: AnyNode): boolean {
  switch (n.type) {
    case "Literal": return true;
    case "UnaryExpression": return n["operator"] !== "delete" && constantValue(n["argument"]);
    case "BinaryExpression": return constantValue(n["left"]) && constantValue(n["right"]);
    case "ArrayExpression": return n["elements"].every((e: AnyNode | null) => e === null || constantValue(e));
    case "ObjectExpression": return n["properties"].every((p: AnyNode) => p["kind"] === "init" && constantValue(p["value"]));
    default: return false;
  }
}

function walk(node: AnyNode, visit: (n: AnyNode, parent: AnyNode | null) => void, parent: AnyNode | null = null): void {
  visit(node, parent);
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "start" || key === "end" || key === "type") continue;
    const v = node[key];
    if (Array.isArray(v)) { for (const c of v) if (c && typeof c.type === "string") walk(c, visit, node); }
    else if (v && typeof v === "object" && typeof v.type === "string") walk(v, visit, node);
  }
}
