// Source instrumentation for the cost model.
//
// The virtual board evaluates the very bundle a board runs; to know how much work the interpreter
// would have done, we splice counter calls into that source before it is evaluated. Each call is
// `;<COST_GLOBAL>.b(<site id>);` and the site table returned next to the code says what one
// execution of that site stands for (statements, loop iterations, function entries, operators,
// named and computed member accesses). Counting per straight-line run instead of per statement
// keeps the overhead low and the arithmetic exact for code that does not throw.
//
// Rules that keep the firmware unable to tell the difference (Espruino does not hoist, facts §1):
// - only expression statements are inserted, never declarations, so declaration order is unchanged;
// - inserts go after a directive prologue ("use strict" stays a directive);
// - a non-block body (`if (x) y();`, `for (;;) z();`) is wrapped in braces so the counter shares it;
// - no newline is inserted, so line numbers in stack traces are unchanged (columns move).
import { parse, type Node } from "acorn";
import { ARRAY_METHODS, BUILTIN_GLOBAL_VARS, STRING_METHODS } from "./builtins.ts";

/** The hidden global the instrumented code calls; deliberately unlike any firmware name. */
export const COST_GLOBAL = "__kc$cost";

/** What one execution of a site stands for. All fields are per execution. */
export interface SiteCounts {
  statements: number;   // statements executed (blocks and empty statements count 0)
  entries: number;      // JS function entries (1 at a function's first site)
  loops: number;        // loop-body iterations (1 at a loop body's first site)
  ops: number;          // unary/binary/logical/assignment/update/conditional operators
  props: number;        // named member accesses `a.b` (reads, writes and method lookups)
  elems: number;        // computed member accesses `a[i]` (typed-array element reads/writes live here)
  callSites: number;    // call/new expressions evaluated (JS or native; informational)
  // Espruino interprets the source text itself (src/jslex.c, src/jsparse.c): every character it
  // lexes costs, executed or not. Measured on 2v29 (board/docs/cost-model.md "Source text"):
  chars: number;        // characters of source lexed while executing (statements run, taken operands)
  skipChars: number;    // characters of a block skipped token by token (an untaken `if {…}` branch: jspeSkipBlock)
  parseChars: number;   // characters parsed without executing (an untaken `?:`/`&&`/`||` operand, a brace-less untaken branch)
}

export interface Site extends SiteCounts {
  id: number;
  line: number;         // 1-based line of the site in the source handed to instrument()
}

export interface InstrumentOptions {
  /** First site id to use, so several sources can share one meter (CostMeter passes its count). */
  firstSiteId?: number;
  /** First function-site id (CostMeter passes its count). */
  firstFunctionId?: number;
  /** acorn ecmaVersion; 5 by default because the bundle must be ES5 (pass a higher one for tests of the instrumenter only). */
  ecmaVersion?: 5 | 2015 | 2020;
}

/**
 * A function-creation site (vars accounting, board/docs/cost-model.md "JsVars"): the instrumented
 * code hands every function instance it creates to `COST_GLOBAL.f(fn, id, scopeToken, peek)`, so the
 * var walk can charge each instance and the scope it keeps alive, which a heap walk in Node cannot see.
 */
export interface FunctionSite {
  id: number;
  line: number;
  /** Declared parameters: one name var each in the function var (jspeFunctionArguments). */
  params: number;
  /** A named function expression keeps its name (JSPARSE_FUNCTION_NAME_NAME): 1 name var + 1 string var. */
  named: boolean;
  /** Function scopes enclosing the creation site (0: created at global scope, no scope link). */
  depth: number;
  /** Names the enclosing function's scope holds (params, vars, inner declarations, own name), in `peek` order. */
  scopeNames: string[];
  /** Characters of the body between its braces: the function's code string (src/jsparse.c jspeFunctionDefinitionInternal). */
  bodyChars: number;
  /** The names this function's own scope holds when it runs (what `COST_GLOBAL.e` peeks at). */
  ownNames: string[];
}

export interface InstrumentResult {
  code: string; sites: Site[]; functions: FunctionSite[];
  /** Builtins the source touches (see builtins.ts): charged once per board in the vars estimate. */
  touches: string[];
}

export const COUNT_FIELDS: readonly (keyof SiteCounts)[] =
  ["statements", "entries", "loops", "ops", "props", "elems", "callSites", "chars", "skipChars", "parseChars"];

export function zeroCounts(): SiteCounts {
  return { statements: 0, entries: 0, loops: 0, ops: 0, props: 0, elems: 0, callSites: 0, chars: 0, skipChars: 0, parseChars: 0 };
}

// acorn's Node type is loose; the instrumenter reads ESTree fields by name.
type AnyNode = Node & { [key: string]: any };

interface Insertion { pos: number; text: string; closer: boolean; seq: number; skip?: number }

const OPERATOR_NODES = new Set([
  "BinaryExpression", "LogicalExpression", "UnaryExpression", "UpdateExpression",
  "AssignmentExpression", "ConditionalExpression",
]);
const SKIPPED_KEYS = new Set(["type", "start", "end", "loc", "range", "raw", "value", "regex", "name", "operator", "prefix", "computed", "kind", "directive"]);

/** Instruments ES5 `source`; throws a SyntaxError naming line:column if it does not parse. */
export function instrument(source: string, opts: InstrumentOptions = {}): InstrumentResult {
  if (typeof source !== "string") throw new TypeError("instrument(source): source must be a string of ES5 code");
  if (source.includes(COST_GLOBAL)) {
    throw new Error(`instrument(): the source already mentions ${COST_GLOBAL}; instrument the original bundle, not an instrumented one`);
  }
  const firstSiteId = opts.firstSiteId ?? 0;
  if (!Number.isInteger(firstSiteId) || firstSiteId < 0) throw new RangeError(`instrument(): firstSiteId must be a non-negative integer, got ${firstSiteId}`);
  let program: AnyNode;
  try {
    program = parse(source, { ecmaVersion: opts.ecmaVersion ?? 5, sourceType: "script", allowReturnOutsideFunction: false }) as AnyNode;
  } catch (e) {
    throw new SyntaxError(`instrument(): the source is not valid ES5 (${(e as Error).message}); compile it with the firmware pipeline first`);
  }

  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (pos: number): number => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStarts[mid]! <= pos) lo = mid; else hi = mid - 1; }
    return lo + 1;
  };

  const sites: Site[] = [];
  const functions: FunctionSite[] = [];
  const firstFunctionId = opts.firstFunctionId ?? 0;
  /** Functions whose bodies are being visited, innermost last: the scope chain of a creation site. */
  const fnStack: AnyNode[] = [];
  const inserts: Insertion[] = [];
  let seq = 0;
  const insert = (pos: number, text: string, closer = false): void => { inserts.push({ pos, text, closer, seq: seq++ }); };
  const addSite = (pos: number, counts: SiteCounts): void => {
    const id = firstSiteId + sites.length;
    sites.push({ id, line: lineOf(pos), ...counts });
    insert(pos, `;${COST_GLOBAL}.b(${id});`);
  };

  /**
   * Two sites for one branch point, hit by `COST_GLOBAL.q(value, id)` (no `b` call of their own):
   * `id` when the value is truthy, `id + 1` when falsy. Their counts are filled in by the caller.
   */
  const addBranchSites = (pos: number): number => {
    const id = firstSiteId + sites.length;
    sites.push({ id, line: lineOf(pos), ...zeroCounts() }, { id: id + 1, line: lineOf(pos), ...zeroCounts() });
    return id;
  };
  const branchSite = (id: number): Site => sites[id - firstSiteId]!;

  /** Registers a function-creation site and returns the text of its registration arguments. */
  const functionSite = (fn: AnyNode): string => {
    const enclosing = fnStack[fnStack.length - 1];
    const id = firstFunctionId + functions.length;
    const scopeNames = enclosing ? declaredNames(enclosing) : [];
    functions.push({ id, line: lineOf(fn.start), params: fn.params.length, named: fn.type === "FunctionExpression" && !!fn.id, depth: fnStack.length, scopeNames, bodyChars: Math.max(0, fn.body.end - fn.body.start - 2), ownNames: declaredNames(fn) });
    // `arguments` is a token unique to the enclosing invocation (its scope object on Espruino); the
    // peek reads that scope's variables when memory is walked.
    return enclosing ? `${id},arguments,function(){return[${scopeNames.join(",")}]}` : `${id},null,null`;
  };

  // Loop tests are scanned twice (the final failing test and the per-iteration one): text is
  // inserted for a node the first time only.
  const edited = new Set<AnyNode>();
  const firstEdit = (node: AnyNode): boolean => { if (edited.has(node)) return false; edited.add(node); return true; };

  // --- expressions: count what one evaluation does; instrument nested functions separately
  const scanExpr = (node: AnyNode | null | undefined, into: SiteCounts): void => {
    if (!node) return;
    switch (node.type) {
      case "FunctionExpression": case "ArrowFunctionExpression": {
        if (!firstEdit(node)) return;
        const args = functionSite(node);
        insert(node.start, `(${COST_GLOBAL}.f(`); // parenthesised: `new function(){}` stays a construction of the function
        insert(node.end, `,${args}))`, true);
        visitFunction(node);
        return;
      }
      case "MemberExpression":
        if (node.computed) { into.elems++; scanExpr(node.property, into); } else into.props++;
        scanExpr(node.object, into);
        return;
      case "CallExpression": case "NewExpression":
        into.callSites++;
        break;
      case "Property":
        // object literal entry: creating a named property costs like a named access
        into.props++;
        if (node.computed) scanExpr(node.key, into);
        // a getter/setter body cannot be wrapped in a call; it is instrumented but not registered
        if (node.kind !== "init" && node.value?.type === "FunctionExpression") { functionSite(node.value); visitFunction(node.value); }
        else scanExpr(node.value, into);
        return;
      case "ConditionalExpression": case "LogicalExpression": {
        // Only one side runs; Espruino still parses the other (without executing it). The test is
        // wrapped in `q(test, id)`: the taken operand's work and text go to one of two branch sites,
        // the untaken operand's text to the other as parsed-not-executed.
        into.ops++;
        const test = node.type === "ConditionalExpression" ? node.test : node.left;
        if (!firstEdit(node)) { scanExpr(test, into); return; }
        const id = addBranchSites(node.start);
        const truthy = branchSite(id), falsy = branchSite(id + 1);
        insert(test.start, ` ${COST_GLOBAL}.q((`); // the space: `return a?b:c` has none after `return`
        scanExpr(test, into);
        insert(test.end, `),${id})`, true);
        if (node.type === "ConditionalExpression") {
          takenOperand(node.consequent, truthy); skippedOperand(node.alternate, truthy);
          takenOperand(node.alternate, falsy); skippedOperand(node.consequent, falsy);
        } else if (node.operator === "&&") {
          takenOperand(node.right, truthy); skippedOperand(node.right, falsy);
        } else { // || and ??
          takenOperand(node.right, falsy); skippedOperand(node.right, truthy);
        }
        return;
      }
      case "BinaryExpression":
        if (node.operator === "+" && firstEdit(node)) {
          // string `+` costs by the bytes it copies (≈175 instructions per byte on 2v29): the
          // hook adds the operands and counts the result's length when it is a string
          const plus = operatorAt(source, node.left.end, node.right.start, "+");
          if (plus >= 0) {
            insert(node.start, ` ${COST_GLOBAL}.s(`); // the space: `return"a"+b` has none after `return`
            inserts.push({ pos: plus, text: ",", closer: false, seq: seq++, skip: 1 });
            insert(node.end, ")", true);
          }
        }
        into.ops++;
        break;
      case "AssignmentExpression":
        if (node.operator === "+=" && simpleTarget(node.left) && firstEdit(node)) {
          // `s += x` appends in place when s holds the only reference (jsparse.c jspeAssignmentExpression): bytes of x
          const op = operatorAt(source, node.left.end, node.right.start, "+=");
          if (op >= 0) {
            inserts.push({ pos: op, text: `=${COST_GLOBAL}.a(${source.slice(node.left.start, node.left.end)},`, closer: false, seq: seq++, skip: 2 });
            insert(node.end, ")", true);
          }
        }
        into.ops++;
        break;
      default:
        if (OPERATOR_NODES.has(node.type)) into.ops++;
    }
    for (const key of Object.keys(node)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = node[key];
      if (Array.isArray(child)) { for (const c of child) if (c && typeof c.type === "string") scanExpr(c, into); }
      else if (child && typeof child === "object" && typeof child.type === "string") scanExpr(child, into);
    }
  };

  /** An operand that runs when its branch site is hit: its work and its own text are that site's. */
  const takenOperand = (node: AnyNode, site: SiteCounts): void => {
    scanExpr(node, site);
    site.chars += ownChars(node);
  };
  /** An operand Espruino parses without executing when its branch site is hit. */
  const skippedOperand = (node: AnyNode | null | undefined, site: SiteCounts): void => {
    if (!node) return;
    const c = skipCost(node);
    site.skipChars += c.skip;
    site.parseChars += c.parse;
  };

  // --- statements
  const endsRun = (s: AnyNode): boolean =>
    !(s.type === "ExpressionStatement" || s.type === "VariableDeclaration" ||
      s.type === "FunctionDeclaration" || s.type === "EmptyStatement" || s.type === "DebuggerStatement");

  const statementWeight = (s: AnyNode): number =>
    s.type === "BlockStatement" || s.type === "EmptyStatement" ? 0 : s.type === "LabeledStatement" ? statementWeight(s.body) : 1;

  /** Adds what reaching `s` costs once to `into`, and instruments its nested bodies. */
  const own = (s: AnyNode, into: SiteCounts): void => {
    switch (s.type) {
      case "ExpressionStatement": into.chars += ownChars(s); scanExpr(s.expression, into); return;
      case "VariableDeclaration": into.chars += ownChars(s); for (const d of s.declarations) scanExpr(d.init, into); return;
      case "FunctionDeclaration": {
        // hoisted by V8: register the instance when control passes the declaration
        const args = functionSite(s);
        into.chars += ownChars(s);
        insert(s.end, `;${COST_GLOBAL}.f(${s.id.name},${args});`);
        visitFunction(s);
        return;
      }
      case "EmptyStatement": case "DebuggerStatement": case "BreakStatement": case "ContinueStatement": into.chars += s.end - s.start; return;
      case "ReturnStatement": case "ThrowStatement": into.chars += ownChars(s); scanExpr(s.argument, into); return;
      case "IfStatement": {
        // `if(` `)` and the test's own text; the untaken branch is skipped (a block, token by token)
        // or parsed without executing (a brace-less statement): one branch site per outcome.
        into.chars += 4 + ownChars(s.test);
        const id = addBranchSites(s.start);
        insert(s.test.start, `${COST_GLOBAL}.q((`);
        scanExpr(s.test, into);
        insert(s.test.end, `),${id})`, true);
        skippedOperand(s.alternate, branchSite(id));
        skippedOperand(s.consequent, branchSite(id + 1));
        visitBody(s.consequent, null);
        if (s.alternate) visitBody(s.alternate, null);
        return;
      }
      case "WhileStatement": {
        into.chars += 7 + ownChars(s.test);
        scanExpr(s.test, into); // the final, failing test
        const perIteration = { ...zeroCounts(), loops: 1, chars: ownChars(s.test) };
        scanExpr(s.test, perIteration);
        visitBody(s.body, perIteration);
        return;
      }
      case "DoWhileStatement": {
        into.chars += 11;
        const perIteration = { ...zeroCounts(), loops: 1, chars: ownChars(s.test) };
        scanExpr(s.test, perIteration);
        visitBody(s.body, perIteration);
        return;
      }
      case "ForStatement": {
        if (s.init && s.init.type === "VariableDeclaration") own(s.init, into); else { into.chars += ownChars(s.init); scanExpr(s.init, into); }
        into.chars += 7 + ownChars(s.test);
        scanExpr(s.test, into); // the final, failing test
        const perIteration = { ...zeroCounts(), loops: 1, chars: ownChars(s.test) + ownChars(s.update) };
        scanExpr(s.test, perIteration);
        scanExpr(s.update, perIteration);
        visitBody(s.body, perIteration);
        return;
      }
      case "ForInStatement": case "ForOfStatement": {
        into.chars += 9 + ownChars(s.right) + ownChars(s.left);
        scanExpr(s.right, into);
        const perIteration = { ...zeroCounts(), loops: 1 };
        if (s.left.type === "VariableDeclaration") own(s.left, into); else scanExpr(s.left, perIteration);
        visitBody(s.body, perIteration);
        return;
      }
      case "BlockStatement": visitList(s.body, s.start + 1, null, false); return;
      case "LabeledStatement": own(s.body, into); return;
      case "WithStatement": scanExpr(s.object, into); visitBody(s.body, null); return;
      case "SwitchStatement":
        into.chars += 10 + ownChars(s.discriminant);
        scanExpr(s.discriminant, into);
        for (const c of s.cases) {
          into.chars += 6 + ownChars(c.test);
          scanExpr(c.test, into); // upper bound: every case test counted once
          visitList(c.consequent, c.end, null, false);
        }
        return;
      case "TryStatement":
        into.chars += 3;
        visitList(s.block.body, s.block.start + 1, null, false);
        if (s.handler) visitList(s.handler.body.body, s.handler.body.start + 1, null, false);
        if (s.finalizer) visitList(s.finalizer.body, s.finalizer.start + 1, null, false);
        return;
      default:
        throw new Error(`instrument(): unsupported statement ${s.type} at line ${lineOf(s.start)}; the bundle must be ES5`);
    }
  };

  /**
   * Splits a statement list into runs (a run ends after its first compound or jump statement) and
   * puts one counter at the head of each run. `prefix` (function entry or loop iteration) joins the
   * first run, because it executes exactly when that run starts; with no statements it stands alone
   * at `emptyPos`.
   */
  const visitList = (list: AnyNode[], emptyPos: number, prefix: SiteCounts | null, allowDirectives: boolean): void => {
    let i = 0;
    let afterDirectives = emptyPos;
    if (allowDirectives) {
      while (i < list.length && list[i]!.type === "ExpressionStatement" && typeof list[i]!.directive === "string") {
        afterDirectives = list[i]!.end;
        i++;
      }
    }
    let pendingPrefix = prefix;
    while (i < list.length) {
      const counts = pendingPrefix ? { ...pendingPrefix } : zeroCounts();
      pendingPrefix = null;
      const runStart = list[i]!.start;
      // Nested counters must be inserted after this run's one at the same offset; reserve it first.
      const siteIndex = sites.length;
      addSite(runStart, zeroCounts());
      for (;;) {
        const s = list[i++]!;
        counts.statements += statementWeight(s);
        own(s, counts);
        if (endsRun(s) || i >= list.length) break;
      }
      Object.assign(sites[siteIndex]!, counts);
    }
    if (pendingPrefix) addSite(afterDirectives, pendingPrefix);
  };

  const visitBody = (s: AnyNode, prefix: SiteCounts | null): void => {
    if (s.type === "BlockStatement") { visitList(s.body, s.start + 1, prefix, false); return; }
    insert(s.start, "{");
    visitList([s], s.start, prefix, false);
    insert(s.end, "}", true);
  };

  const visitFunction = (fn: AnyNode): void => {
    if (fn.body.type !== "BlockStatement") { // an expression-bodied arrow (only when ecmaVersion > 5)
      throw new Error(`instrument(): expression-bodied arrow functions are not ES5 (line ${lineOf(fn.start)})`);
    }
    // The invocation's scope is live until the function returns or throws: `e` at entry, `x` in a
    // finally around the body (after the directive prologue, so "use strict" stays a directive).
    const id = firstFunctionId + functions.length - 1; // its creation site, registered just before
    let bodyStart = fn.body.start + 1;
    for (const s of fn.body.body) { if (s.type === "ExpressionStatement" && typeof s.directive === "string") bodyStart = s.end; else break; }
    const tracked = fn.body.body.length > 0; // an empty body runs nothing that could allocate
    if (tracked) insert(bodyStart, `;${COST_GLOBAL}.e(${id},arguments,function(){return[${functions[id - firstFunctionId]!.ownNames.join(",")}]});try{`);
    fnStack.push(fn);
    visitList(fn.body.body, fn.body.start + 1, { ...zeroCounts(), entries: 1 }, true);
    fnStack.pop();
    if (tracked) insert(fn.body.end - 1, `}finally{${COST_GLOBAL}.x()}`, true);
  };

  visitList(program.body, 0, null, true);

  // Closers before openers at one offset (a wrapped statement ends where the next begins); then in
  // the order they were made, which is outer-before-inner for openers.
  inserts.sort((a, b) => a.pos - b.pos || (a.closer === b.closer ? a.seq - b.seq : a.closer ? -1 : 1));
  let out = "";
  let last = 0;
  for (const ins of inserts) {
    out += source.slice(last, ins.pos) + ins.text;
    last = ins.pos + (ins.skip ?? 0);
  }
  out += source.slice(last);
  return { code: out, sites, functions, touches: builtinTouches(program) };
}

/** Builtin globals the program names without declaring them, and prototypes its code evidently uses. */
function builtinTouches(program: AnyNode): string[] {
  const declared = new Set<string>();
  const used = new Set<string>();
  const touches = new Set<string>();
  const walk = (node: AnyNode | null | undefined, parentKey: string, parent: AnyNode | null): void => {
    if (!node || typeof node.type !== "string") return;
    switch (node.type) {
      case "VariableDeclarator": if (node.id.type === "Identifier") declared.add(node.id.name); break;
      case "FunctionDeclaration": case "FunctionExpression":
        if (node.id) declared.add(node.id.name);
        for (const p of node.params) if (p.type === "Identifier") declared.add(p.name);
        break;
      case "CatchClause": if (node.param?.type === "Identifier") declared.add(node.param.name); break;
      case "Identifier": {
        const isPropertyKey = parent && ((parent.type === "MemberExpression" && parentKey === "property" && !parent.computed) || (parent.type === "Property" && parentKey === "key"));
        if (!isPropertyKey) used.add(node.name);
        break;
      }
      case "Literal": if (node.regex) touches.add("RegExp.prototype"); break;
      case "NewExpression":
        if (node.callee.type === "Identifier" && node.callee.name === "Uint8Array") touches.add("Uint8Array.prototype");
        if (node.callee.type === "Identifier" && /Error$/.test(node.callee.name)) touches.add("Error.prototype");
        break;
      case "CallExpression":
        if (node.callee.type === "MemberExpression" && !node.callee.computed) {
          const m = node.callee.property.name as string;
          if (STRING_METHODS.has(m)) touches.add("String.prototype");
          if (ARRAY_METHODS.has(m)) touches.add("Array.prototype");
        }
        break;
    }
    for (const key of Object.keys(node)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = node[key];
      if (Array.isArray(child)) { for (const c of child) if (c && typeof c.type === "string") walk(c, key, node); }
      else if (child && typeof child === "object" && typeof child.type === "string") walk(child, key, node);
    }
  };
  walk(program, "", null);
  for (const name of used) if (!declared.has(name) && name in BUILTIN_GLOBAL_VARS) touches.add(name);
  return [...touches].sort();
}

/** Offset of operator `op` between two operands (skipping parentheses, spaces and comments); -1 if not found. */
function operatorAt(source: string, from: number, to: number, op: string): number {
  for (let i = from; i < to; i++) {
    const c = source[i]!;
    if (c === "/" && source[i + 1] === "*") { const e = source.indexOf("*/", i + 2); if (e < 0) return -1; i = e + 1; continue; }
    if (c === "/" && source[i + 1] === "/") { const e = source.indexOf("\n", i + 2); if (e < 0) return -1; i = e; continue; }
    if (source.startsWith(op, i)) return i;
  }
  return -1;
}

/** A `+=` target whose text can be evaluated twice without side effects: `x`, `this.x`, `o.x`, `o.p.x`, `o[i]` with a name or literal index. */
function simpleTarget(n: AnyNode): boolean {
  if (n.type === "Identifier") return true;
  if (n.type !== "MemberExpression") return false;
  const objOk = n.object.type === "Identifier" || n.object.type === "ThisExpression" || (n.object.type === "MemberExpression" && simpleTarget(n.object));
  return objOk && (!n.computed || n.property.type === "Identifier" || n.property.type === "Literal");
}

/**
 * The names a function's scope object holds on Espruino once its body ran: parameters, `var`s and
 * inner function declarations (not those of nested functions), and a named expression's own name.
 */
export function declaredNames(fn: AnyNode): string[] {
  const names = new Set<string>();
  for (const p of fn.params) if (p.type === "Identifier") names.add(p.name);
  if (fn.type === "FunctionExpression" && fn.id) names.add(fn.id.name);
  const walk = (node: AnyNode | null | undefined): void => {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "FunctionDeclaration") { names.add(node.id.name); return; }
    if (node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression") return;
    if (node.type === "VariableDeclarator" && node.id.type === "Identifier") names.add(node.id.name);
    for (const key of Object.keys(node)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = node[key];
      if (Array.isArray(child)) { for (const c of child) if (c && typeof c.type === "string") walk(c); }
      else if (child && typeof child === "object" && typeof child.type === "string") walk(child);
    }
  };
  walk(fn.body);
  names.delete("arguments");
  return [...names];
}

/** Sum of `hits[i] × sites[i]` over all sites: the counts a run produced. */
export function countsFromHits(sites: readonly Site[], hits: ArrayLike<number>, firstSiteId = 0): SiteCounts {
  const total = zeroCounts();
  for (const site of sites) {
    const n = hits[site.id - firstSiteId] ?? 0;
    if (n === 0) continue;
    for (const f of COUNT_FIELDS) total[f] += n * site[f];
  }
  return total;
}

/**
 * Characters of `node`'s source Espruino lexes when it runs the node itself: its text without the
 * operands only one branch runs (`?:` arms, the right of `&&`/`||`: charged at their branch sites),
 * without nested function bodies (lexed once when the instance is created) and without nested
 * statement bodies (their own sites).
 */
export function ownChars(node: AnyNode | null | undefined): number {
  if (!node) return 0;
  let n = node.end - node.start;
  const walk = (x: AnyNode): void => {
    for (const key of Object.keys(x)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = x[key];
      const visit = (c: AnyNode): void => {
        if (!c || typeof c.type !== "string") return;
        if ((x.type === "ConditionalExpression" && (key === "consequent" || key === "alternate")) || (x.type === "LogicalExpression" && key === "right")) { n -= c.end - c.start; return; }
        if ((x.type === "FunctionExpression" || x.type === "FunctionDeclaration") && key === "body") { n -= c.end - c.start; return; }
        walk(c);
      };
      if (Array.isArray(child)) for (const c of child) visit(c);
      else if (child && typeof child === "object") visit(child);
    }
  };
  walk(node);
  return Math.max(0, n);
}

/**
 * What Espruino does with code it does not execute: a block (`{…}`, a function body) is skipped token
 * by token (src/jsparse.c jspeSkipBlock); anything else is parsed with execution off, down to the
 * blocks inside it. Returns characters of each kind.
 */
export function skipCost(node: AnyNode): { skip: number; parse: number } {
  if (node.type === "BlockStatement") return { skip: node.end - node.start, parse: 0 };
  let skip = 0;
  const walk = (x: AnyNode): void => {
    for (const key of Object.keys(x)) {
      if (SKIPPED_KEYS.has(key)) continue;
      const child = x[key];
      const visit = (c: AnyNode): void => {
        if (!c || typeof c.type !== "string") return;
        if (c.type === "BlockStatement") { skip += c.end - c.start; return; }
        walk(c);
      };
      if (Array.isArray(child)) for (const c of child) visit(c);
      else if (child && typeof child === "object") visit(child);
    }
  };
  walk(node);
  return { skip, parse: node.end - node.start - skip };
}
