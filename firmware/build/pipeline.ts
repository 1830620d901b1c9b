// The TypeScript → Espruino ES5 build pipeline (docs/ARCHITECTURE.md, "Build pipeline").
// Stages (the pipeline that ran 29/29 feature rows byte-identical to Node on Espruino 2v29):
//   1. esbuild bundles the TS entry into one ES2020 module;
//   1b. `a ** b` is rewritten to the exact integer power helper (see rewriteExponent);
//   2. swc lowers it to ES5, importing its helpers from @swc/helpers;
//   3. esbuild bundles again as an ES5 IIFE, resolving broken swc helpers to `helpers/` and
//      prepending the polyfills from `polyfills/` that the bundle uses (doubles as an ES5 check);
//   4. terser hoists every function declaration to the top of its scope (Espruino does not hoist),
//      and for release also compresses and mangles.
// The source map is chained through every stage back to the .ts files.
import { readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { transform as swcTransform } from "@swc/core";
import { minify } from "terser";
import { parse as acornParse } from "acorn";
import { rewriteExponent } from "./exponent.ts";
import { detectPolyfills, POLYFILL_NAMES } from "./polyfill-detect.ts";
import { poolStrings } from "./pool-strings.ts";

/**
 * nfc: compile the NFC link in (KC_NFC = true, firmware/dist/keycarrier.nfc.js for boards with an
 * NFC controller); by default it is compiled out (keycarrier.js, the USB-only bundle), so a board
 * without NFC (the Pico) does not carry its code in Storage.
 */
export interface CompileOptions { entry: string; minify: boolean; sourcemap?: boolean; nfc?: boolean; features?: Partial<FirmwareFeatures> }

/**
 * Build-time feature constants (espruino-globals.d.ts): each is an esbuild `define`, so
 * `if (KC_OFFLINE) { … }` folds away and the modules only that branch imports are tree-shaken out of
 * a bundle without the feature. `nfc` is the NFC link (KC_NFC); `offline` the offline card-emulation
 * applet (KC_OFFLINE); `peer` the NFC peer payment applet (KC_PEER); `display` the trusted display
 * (KC_DISPLAY). Which bundle has which: firmware/build/bundles.ts.
 */
export interface FirmwareFeatures { nfc: boolean; offline: boolean; peer: boolean; display: boolean }

/** The esbuild `define` of every feature constant (false unless the feature is asked for). */
export function featureDefines(f: Partial<FirmwareFeatures>): Record<string, string> {
  return {
    KC_NFC: f.nfc === true ? "true" : "false",
    KC_OFFLINE: f.offline === true ? "true" : "false",
    KC_PEER: f.peer === true ? "true" : "false",
    KC_DISPLAY: f.display === true ? "true" : "false",
  };
}
export interface CompileResult { code: string; map: string; polyfills: string[] }

const BUILD_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BUILD_DIR, "../..");
export const HELPERS_DIR = path.join(BUILD_DIR, "helpers");
export const POLYFILLS_DIR = path.join(BUILD_DIR, "polyfills");
const SWC_HELPERS_ESM = path.join(REPO_ROOT, "node_modules/@swc/helpers/esm");

/** The specifier the exponent rewrite imports the exact power helper from. */
export const POW_MODULE = "kc-polyfill:pow";
const ENTRY_NAMESPACE = "kc-entry";

/** Names of the swc helpers the project replaces (file stems in firmware/build/helpers/). */
export function ownHelperNames(): string[] {
  return readdirSync(HELPERS_DIR).filter((f) => f.endsWith(".js")).map((f) => f.slice(0, -3)).sort();
}

export async function compile(opts: CompileOptions): Promise<CompileResult> {
  const entry = path.resolve(opts.entry);
  if (!existsSync(entry)) {
    throw new Error(`compile: entry ${opts.entry} does not exist; pass the path of the firmware's main .ts file`);
  }
  const wantMap = opts.sourcemap !== false;

  const esm = await bundleToEsm(entry, { ...opts.features, ...(opts.nfc === true ? { nfc: true } : {}) });
  const exponent = rewriteExponent(esm.code);
  const lowered = await lowerToEs5(exponent.code, esm.map);

  // Polyfills are found on the bundled ES5 (so helper bodies count too); a polyfill can only add
  // uses of plain ES5, so one extra pass settles the set.
  let polyfills = exponent.rewrites > 0 ? ["pow"] : [];
  let iife = await bundleToIife(lowered.code, lowered.map, polyfills);
  const needed = mergePolyfills(polyfills, detectPolyfills(iife.code));
  if (needed.length !== polyfills.length) {
    polyfills = needed;
    iife = await bundleToIife(lowered.code, lowered.map, polyfills);
  }

  const firmware = entry === FIRMWARE_ENTRY;
  const script = firmware ? unwrapIife(restoreRequire(iife.code)) : restoreRequire(iife.code);
  const final = await hoistAndMinify(script, iife.map, opts.minify, firmware);
  if (firmware) checkGlobalNames(final.code);
  return { code: final.code, map: wantMap ? final.map : "", polyfills };
}

function mergePolyfills(current: string[], detected: string[]): string[] {
  const all = new Set([...current, ...detected]);
  return POLYFILL_NAMES.filter((name) => all.has(name));
}

interface CodeAndMap { code: string; map: string }

/**
 * `require("Storage")` is Espruino's run-time module loader, not a bundler import: esbuild would try
 * to bundle the module (an error), or, if marked external, wrap it in a `__require` shim built on
 * Proxy (absent on Espruino). So stage 1 renames the global `require` to a placeholder of the same
 * length (source-map columns stay valid) and the placeholder is renamed back before minifying.
 */
const REQUIRE_PLACEHOLDER = "__req__";
/**
 * The shipped firmware runs at Espruino's global scope, not inside the IIFE esbuild wraps it in:
 * every function instance created inside a function carries a scope link (`\xFFsco`, 1 var), and
 * from depth 2 a fresh copy of the scope array (1 + depth vars: src/jsparse.c 425-428, cost-model.md
 * "JsVars"). Unwrapped, the module-level functions are created at depth 0 and a factory's methods
 * at depth 1: −345 vars at boot on the Puck.js (13% of its pool), and 16 B less. The module-level
 * names become globals: on a personalised carrier the console is locked before the bundle runs
 * (.boot0), and a BLANK carrier's open console can already read and run anything, so nothing is
 * newly exposed. Release names are mangled with `toplevel` and never to an Espruino global the
 * bundle does not reference itself (ESPRUINO_GLOBAL_NAMES; the ones it references terser avoids).
 * The wrapper's first and last lines are blanked, not removed, so the source map's lines hold.
 */
export function unwrapIife(code: string): string {
  const m = /^\(function\(\) \{\n([\s\S]*)\n\}\)\(\);\n?$/.exec(code);
  if (m === null) throw new Error("compile: the firmware bundle is not the `(function() {…})();` IIFE esbuild writes; cannot unwrap it");
  return "\n" + m[1] + "\n\n";
}

/** Espruino globals a mangled top-level name must never take (pins, LEDs, buttons, runtime objects). */
export const ESPRUINO_GLOBAL_NAMES: readonly string[] = (() => {
  const names = ["E", "NRF", "USB", "BTN", "LED", "Serial1", "Serial2", "SPI1", "I2C1", "Bluetooth", "Puck", "Pico", "Storage", "require", "print", "load", "reset", "save", "dump", "onInit", "getTime", "getSerial", "process", "global", "trace", "edit", "peek8", "poke8", "analogRead", "digitalRead", "digitalWrite"];
  for (const port of "ABCDFH") for (let i = 0; i < 32; i++) names.push(port + i);
  for (let i = 0; i <= 8; i++) names.push("LED" + i, "BTN" + i);
  return names;
})();

/** The unwrapped firmware's own globals must not shadow an Espruino global (debug names are the source's). */
function checkGlobalNames(code: string): void {
  const reserved = new Set(ESPRUINO_GLOBAL_NAMES);
  const clash: string[] = [];
  for (const s of (acornParse(code, { ecmaVersion: 5 }) as unknown as { body: { type: string; id?: { name: string }; declarations?: { id: { name: string } }[] }[] }).body) {
    const names = s.type === "FunctionDeclaration" ? [s.id!.name] : s.type === "VariableDeclaration" ? s.declarations!.map((d) => d.id.name) : [];
    for (const n of names) if (reserved.has(n)) clash.push(n);
  }
  if (clash.length) throw new Error(`compile: the firmware's global names ${clash.join(", ")} would shadow Espruino globals; rename them`);
}

function restoreRequire(code: string): string {
  return code.replace(/\b__req__\b/g, "require");
}

async function bundleToEsm(entry: string, features: Partial<FirmwareFeatures>): Promise<CodeAndMap> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    target: "es2020",
    platform: "neutral",
    // KC_NFC, KC_OFFLINE, KC_PEER, KC_DISPLAY (espruino-globals.d.ts) are compile-time constants:
    // `if (KC_NFC)` folds away and the modules it alone imports are tree-shaken out of a bundle
    // without the feature.
    define: { require: REQUIRE_PLACEHOLDER, ...featureDefines(features) },
    write: false,
    sourcemap: "external",
    sourcesContent: true,
    // The outfile only anchors source paths (they become repo-relative); nothing is written.
    outfile: path.join(REPO_ROOT, "keycarrier.stage1.js"),
    absWorkingDir: REPO_ROOT,
    logLevel: "silent",
  }).catch((err: unknown) => {
    throw new Error(`compile: esbuild could not bundle ${path.relative(REPO_ROOT, entry)}: ${describeError(err)}`);
  });
  return pickOutputs(result.outputFiles ?? [], "stage 1 (esbuild → ESM)");
}

async function lowerToEs5(code: string, inputMap: string): Promise<CodeAndMap> {
  const out = await swcTransform(code, {
    filename: "keycarrier.stage1.js",
    sourceMaps: true,
    inputSourceMap: inputMap,
    isModule: true,
    swcrc: false,
    configFile: false,
    jsc: {
      target: "es5",
      externalHelpers: true,
      loose: false,
      parser: { syntax: "ecmascript" },
      assumptions: { iterableIsArray: true, objectRestNoSymbols: true, ignoreToPrimitiveHint: true, noDocumentAll: true },
    },
    module: { type: "es6" },
  }).catch((err: unknown) => {
    throw new Error(`compile: swc could not lower the bundle to ES5: ${describeError(err)}`);
  });
  if (!out.map) throw new Error("compile: swc returned no source map; check the @swc/core version (the version package.json pins)");
  return { code: out.code, map: out.map };
}

async function bundleToIife(code: string, map: string, polyfills: string[]): Promise<CodeAndMap> {
  const mainModule = code + "\n//# sourceMappingURL=data:application/json;base64," + Buffer.from(map).toString("base64") + "\n";
  const entryModule = polyfills
    .filter((name) => name !== "pow")
    .map((name) => `import ${JSON.stringify(path.join(POLYFILLS_DIR, name + ".js"))};`)
    .concat([`import "kc-main";`])
    .join("\n");
  const plugin: esbuild.Plugin = {
    name: "keycarrier-es5",
    setup(build) {
      build.onResolve({ filter: /^kc-entry$/ }, () => ({ path: "entry", namespace: ENTRY_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: ENTRY_NAMESPACE }, () => ({ contents: entryModule, loader: "js", resolveDir: REPO_ROOT }));
      // The lowered bundle lives in memory; it is loaded as a file so its inline map is followed.
      build.onResolve({ filter: /^kc-main$/ }, () => ({ path: path.join(REPO_ROOT, "keycarrier.stage2.js") }));
      build.onLoad({ filter: /keycarrier\.stage2\.js$/ }, () => ({ contents: mainModule, loader: "js", resolveDir: REPO_ROOT }));
      build.onResolve({ filter: /^kc-polyfill:pow$/ }, () => ({ path: path.join(POLYFILLS_DIR, "pow.js") }));
      helperResolution(build);
    },
  };
  const result = await esbuild.build({
    entryPoints: ["kc-entry"],
    bundle: true,
    format: "iife",
    target: "es5",
    platform: "neutral",
    write: false,
    sourcemap: "external",
    sourcesContent: true,
    outfile: path.join(REPO_ROOT, "keycarrier.stage3.js"),
    absWorkingDir: REPO_ROOT,
    plugins: [plugin],
    logLevel: "silent",
  }).catch((err: unknown) => {
    throw new Error(`compile: the ES5 bundle step failed (non-ES5 output from swc or a missing helper): ${describeError(err)}`);
  });
  return pickOutputs(result.outputFiles ?? [], "stage 3 (esbuild → ES5 IIFE)");
}

/** esbuild plugin: swc helper imports go to firmware/build/helpers/ when the project replaces them. */
export function helpersPlugin(): esbuild.Plugin {
  return { name: "keycarrier-swc-helpers", setup: helperResolution };
}

function helperResolution(build: esbuild.PluginBuild): void {
  build.onResolve({ filter: /^@swc\/helpers\/_\/_\w+$/ }, (args) => ({ path: helperPath(args.path.slice("@swc/helpers/_/".length)) }));
  // Stock helpers import each other relatively; those imports must also reach the replacements.
  build.onResolve({ filter: /^\.\/_\w+\.js$/ }, (args) => {
    const fromStock = path.resolve(args.resolveDir) === SWC_HELPERS_ESM;
    const fromOwn = path.resolve(args.resolveDir) === HELPERS_DIR;
    if (!fromStock && !fromOwn) return undefined;
    return { path: helperPath(args.path.slice(2, -3)) };
  });
}

function helperPath(name: string): string {
  const own = path.join(HELPERS_DIR, name + ".js");
  if (existsSync(own)) return own;
  const stock = path.join(SWC_HELPERS_ESM, name + ".js");
  if (!existsSync(stock)) throw new Error(`compile: swc asked for helper ${name}, which neither firmware/build/helpers nor @swc/helpers provides`);
  return stock;
}

/**
 * Property names that live only inside the firmware (its own objects and interfaces), so release
 * builds may shorten them. An allowlist, not a reserved list: a name not listed is left alone, so a
 * new Espruino API, CBOR field or Storage record can never be renamed by accident. A name belongs
 * here only if it is not a property of any JavaScript built-in, not declared by @types/espruino or
 * firmware/src/espruino-globals.d.ts, not used by the Espruino-facing interfaces (platform.ts,
 * store/ports.ts, crypto/espruino.ts), and never spelled as a string literal in firmware/src
 * (dynamic `o[name]` access); firmware/test/build/mangle.test.ts checks each rule. The firmware
 * keeps no JSON and builds CBOR maps with integer keys only, so no listed name reaches the wire or
 * Storage.
 */
export const OWN_PORT_PROPERTIES: readonly string[] = [
  "status", "storage", "crc32", "pageBytes", "storeFull", "reason", "sha256", "sha256Rounds", "aesEcb", "aesCtr0", "aesEncryptEcb",
  "aesDecryptEcb", "randomBytes", "setTimer", "clearTimer", "setLed", "capabilities", "storageFree", "handle",
];
export const INTERNAL_PROPERTIES: readonly string[] = [
  "allowedStates", "amount", "append", "appendAt", "appendEntry", "ask", "atc", "badHeaders", "beginAttempt",
  "body", "buffered", "buttonDown", "buttonUp", "carried", "carrier", "carrierId", "carrierNonce",
  "carrierProof", "changePin", "channelCarrierId", "channelKey", "codecStatus", "commands", "compacted", "confirm",
  "confirmed", "copied", "counterSlots", "crcErrors", "cryptogramKey", "currency", "current", "decision", "detail",
  "dirty", "drawMasterKey", "encKey", "entry", "eraseAll", "exists", "expectedCounter", "expectedPlatformProof", "failures", "fields",
  "firmwareVersion", "framesHandled", "gen", "head", "idleTimeoutMs", "ignored", "info",
  "inner", "installKeys", "isEmpty", "isOpen", "items", "iterations", "kek", "key", "lastAtc", "lastSeq", "lastUsed",
  "lifetimeMs", "logBytes", "macPads", "maintain", "markSuccess", "masterKey", "maxAmount", "maxRejectedFrames",
  "maxTries", "merchantId", "names", "ok", "onData", "onPersonalised", "open", "openedAt", "order", "orderId", "out",
  "outer", "payload", "pin", "pinIterations", "plaintext", "platformId", "pos", "presence", "prevHash", "prims",
  "records", "rejected", "replays", "replyCounter", "reserveBytes", "retryAfterMs", "rotate", "run", "rxCounter",
  "salt", "seq", "setPin", "share", "shareA", "size", "slots", "stats", "store", "takeConfirmation", "timeouts",
  "triesLeft", "tstr", "ui", "unwrap", "unwrapKey", "used", "verifier", "verifyPin", "wipe", "wrap", "wrapKey", "wrappedCryptogramKey", "wrappedKey",
  // --- added by SIZE2 (payment/link/personalisation shrink): LinkStats, CommandResult, PaymentApplet members ---
  "cancel", "deferred", "pendingRepeats",
  // NFC mailbox deps (firmware/src/nfc/mailbox.ts)
  "abandon", "board", "serial",
  // --- end SIZE2 ---
  // online PIN (verdicts in PAY, PROVISION) and the link's false-frame rule: members the merge of the
  // online PIN with the .boot0 console lock needs renamed, or the bundle is over pico's store budget
  "binding", "countVerdict", "derive", "enrol", "falseStarts", "onProvisioned", "replyKey", "sessionNonce", "verdict", "verdictBinding",
  // a hot command's own request reader (dispatch.ts Command.runRaw)
  "runRaw", "requestBinding", "counterBytes", "expectedMac", "cryptogram",
  // Members of the firmware's own port objects that platform.ts, store/ports.ts or crypto/espruino.ts
  // build (StoreEnv, StoreFull, CryptoPort, CryptoPrimitives, LinkDeps, the UI ports), or that an
  // unrelated Espruino typing happens to declare (Wifi `status`); never read off an Espruino object.
  ...OWN_PORT_PROPERTIES,
];

/**
 * Only the shipped firmware gets its properties renamed: its sole interfaces are the wire and
 * Espruino. Test entries expose firmware modules on globals and call them by name from the REPL,
 * and other programs (conformance corpus, fixtures) may print objects whose keys share these words.
 */
export const FIRMWARE_ENTRY = path.join(REPO_ROOT, "firmware/src/main.ts");

function internalPropertyPattern(): RegExp {
  return new RegExp("^(?:" + INTERNAL_PROPERTIES.join("|") + ")$");
}

async function hoistAndMinify(code: string, map: string, release: boolean, firmware: boolean): Promise<CodeAndMap> {
  // Release compresses first without hoist_vars: hoisting every var to one `var a,b,…` at the top
  // of its scope turns constants into late assignments that terser can no longer inline (~1 KB on
  // the firmware). A second pass then only hoists, and mangles.
  let input: CodeAndMap = { code, map };
  if (release) {
    const compressed = await minify(code, {
      ecma: 5,
      // pure_getters only for the shipped firmware, which defines no getter (conformance programs
      // may): a property read is then as free to drop or move as a variable read. passes 3 finds a
      // few more folds (firmware −54 B together).
      compress: { hoist_funs: true, passes: 3, pure_getters: firmware ? true : "strict", toplevel: firmware },
      mangle: false,
      format: { ascii_only: true, comments: false },
      sourceMap: { content: map, includeSources: true },
    });
    if (typeof compressed.code !== "string" || typeof compressed.map !== "string") throw new Error("compile: terser produced no output (compress pass)");
    input = { code: compressed.code, map: compressed.map };
    if (firmware) input = poolStrings(input.code, input.map);
  }
  const out = await minify(input.code, {
    ecma: 5,
    // hoist_funs moves every function declaration to the top of its scope: Espruino executes as it
    // parses and does not hoist, so a call above its declaration is a ReferenceError (facts §1).
    compress: { defaults: false, hoist_funs: true, hoist_vars: true, toplevel: firmware },
    // Release of the firmware: also shorten its internal property names (INTERNAL_PROPERTIES); `builtins`
    // only lifts terser's own DOM-name reserve list, the allowlist still decides.
    mangle: release ? (firmware ? { toplevel: true, reserved: [...ESPRUINO_GLOBAL_NAMES], properties: { regex: internalPropertyPattern(), builtins: true } } : true) : false,
    // ascii_only: board builds have no unicode; escapes keep each char one byte (facts §1 Strings).
    format: release ? { ascii_only: true, comments: false } : { ascii_only: true, beautify: true, comments: false },
    sourceMap: { content: input.map, includeSources: true },
  });
  if (typeof out.code !== "string" || typeof out.map !== "string") throw new Error("compile: terser produced no output");
  return { code: out.code, map: out.map };
}

function pickOutputs(files: esbuild.OutputFile[], stage: string): CodeAndMap {
  const js = files.find((f) => f.path.endsWith(".js"));
  const map = files.find((f) => f.path.endsWith(".js.map"));
  if (!js || !map) throw new Error(`compile: ${stage} produced no code or no source map`);
  // esbuild appends a sourceMappingURL comment pointing at a file that is never written.
  const code = js.text.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, "\n");
  return { code, map: map.text };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
