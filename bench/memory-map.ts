// `npx tsx bench/memory-map.ts [--image FILE] [--top N]`: where a booted carrier's vars go, by owner.
// Boots the NFC bundle's debug build (unminified, so names read as in the source; it borrows the
// nRF52840 flash geometry to fit and the Puck.js var layout with a 4,000-var pool so it never runs
// out), then charges, with the cost model's own rules (board/src/cost/vars.ts):
//   - every function instance to the function that created it ("fn in createX");
//   - every closure scope (a call's functionRoot kept by its closures) and the values it holds to
//     that call ("scope of createX"), the firmware's globals name by name ("top: name").
// Objects shared by several owners go to the first (scopes innermost-first). The debug build's names
// are longer than the release's (a few more name vars); the totals line shows both.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { VirtualBoard } from "../board/src/virtual-board.ts";
import { CostMeter, type ScopeInfo, type FunctionInfo } from "../board/src/cost/meter.ts";
import { sizeOf, nameVars, functionVars, sizeRulesFor, type SizeContext } from "../board/src/cost/vars.ts";
import { profileFor } from "../firmware/test/store/lifecycle.ts";
import { ensureBuild, ROOT } from "./context.ts";

const top = Number(process.argv[process.argv.indexOf("--top") + 1]) || 40;
const flashImage = process.argv.includes("--image") ? new Uint8Array(readFileSync(process.argv[process.argv.indexOf("--image") + 1])) : undefined;
ensureBuild();

function boot(file: string, geometry: string, image?: Uint8Array, count = 4000) {
  const bundle = readFileSync(join(ROOT, "firmware/dist", file), "latin1");
  const puck = profileFor("puckjs", true);
  const profile = { ...profileFor(geometry, true), vars: { ...puck.vars, count } };
  const meter = new CostMeter();
  const board = new VirtualBoard({ board: profile, seed: 9, cost: meter, ...(image ? { flashImage: image } : {}) });
  if (!image) board.storage.write(".bootcde", bundle);
  board.powerOn();
  board.runUntilIdle(5_000);
  return { bundle, profile, meter, board };
}

const release = boot("keycarrier.nfc.js", "puckjs");
console.log(`release bundle, Puck.js layout: ${release.board.memoryEstimate().total} vars after boot`, release.board.memoryEstimate().byType);
release.board.dispose();

// --image FILE: a flash snapshot holding the debug bundle as .bootcde (nRF52840 geometry, e.g. personalised)
const { bundle, profile, meter, board } = boot("keycarrier.nfc.debug.js", "nrf52840", flashImage, 8000);
const est = board.memoryEstimate();
console.log(`debug bundle: ${est.total} vars after boot`);

// line → name of the function enclosing a function created on that line
const ast = acorn.parse(bundle, { ecmaVersion: 5, locations: true }) as acorn.Node;
const creatorAt = new Map<number, string>();
const nameOf = (n: any, parent: any): string => n.id?.name ?? (parent?.type === "VariableDeclarator" ? parent.id.name : parent?.type === "Property" ? parent.key.name ?? parent.key.value : parent?.type === "AssignmentExpression" ? bundleText(parent.left) : "anon@" + n.loc.start.line);
const bundleText = (n: any) => bundle.slice(n.start, n.end);
walk.fullAncestor(ast, (node: any, _state, ancestors: any[]) => {
  if (node.type !== "FunctionDeclaration" && node.type !== "FunctionExpression") return;
  const fns = ancestors.slice(0, -1).map((a, i) => [a, ancestors[i - 1]]).filter(([a]) => a.type === "FunctionDeclaration" || a.type === "FunctionExpression");
  const enclosing = fns[fns.length - 1];
  creatorAt.set(node.loc.start.line, enclosing ? nameOf(enclosing[0], enclosing[1]) : "top");
});

// 1. every function instance and scope reachable (the same walk the board's estimate does)
const fns = new Map<object, FunctionInfo>();
const recorder = { lookup: (f: object) => { const i = meter.lookup(f); if (i) fns.set(f, i); return i; } };
const runtime = (board as unknown as { runtimeValues: Set<object> }).runtimeValues;
const roots = (board as unknown as { firmwareRoots(): { value: unknown }[] }).firmwareRoots();
const probe: SizeContext = { rules: sizeRulesFor(profile), seen: new Set(), byType: {}, countFunctions: true, isBuiltin: (o) => runtime.has(o), functions: recorder };
for (const r of roots) sizeOf(r.value, probe);
const scopeLabel = new Map<ScopeInfo, string>();
for (const [, info] of fns) {
  if (info.scope && !scopeLabel.has(info.scope)) scopeLabel.set(info.scope, "scope of " + (creatorAt.get(info.site.line) ?? "?"));
}
const depthOf = (s: ScopeInfo) => { let d = 0; for (let p = s.parent(); p; p = p.parent()) d++; return d; };

// 2. charge
const owners = new Map<string, { vars: number; n: number }>();
const charge = (label: string, v: number) => { const o = owners.get(label) ?? { vars: 0, n: 0 }; o.vars += v; o.n++; owners.set(label, o); };
const cx: SizeContext = { rules: sizeRulesFor(profile), seen: new Set(fns.keys()), byType: {}, countFunctions: true, isBuiltin: (o) => runtime.has(o), functions: meter, seenScopes: new Set(scopeLabel.keys()) };
for (const [, info] of fns) charge("fn in " + (creatorAt.get(info.site.line) ?? "?"), functionVars(info.site, cx.rules));
const inline = (v: unknown) => v === undefined || (typeof v === "number" && Number.isInteger(v) && v >= cx.rules.inlineIntMin && v <= cx.rules.inlineIntMax);
for (const s of [...scopeLabel.keys()].sort((a, b) => depthOf(b) - depthOf(a))) {
  const vals = s.values();
  let own = 1;
  s.names.forEach((name, i) => { own += nameVars(name, cx.rules) + (inline(vals[i]) ? 0 : sizeOf(vals[i], cx)); });
  charge(scopeLabel.get(s)!, own);
}
// the firmware's globals (it runs at global scope, pipeline.ts unwrapIife): name by name
const g = board.globalObject() as Record<string, unknown>;
const builtin = new Set((board as unknown as { builtinGlobals: Set<string> }).builtinGlobals);
for (const key of Object.getOwnPropertyNames(g)) {
  const d = Object.getOwnPropertyDescriptor(g, key)!;
  if (builtin.has(key) || key.startsWith("__kc$") || !d.enumerable) continue;
  charge("top: " + key, nameVars(key, cx.rules) + ("value" in d && !inline(d.value) ? sizeOf(d.value, cx) : 0));
}
let total = 0;
for (const o of owners.values()) total += o.vars;
console.log(`${fns.size} function instances, ${scopeLabel.size} closure scopes; ${total} vars charged (the rest: runtime holders, builtins, interpreter)`);
for (const [label, o] of [...owners].sort((a, b) => b[1].vars - a[1].vars).slice(0, top)) console.log(String(o.vars).padStart(5), String(o.n).padStart(4), label);
board.dispose();
