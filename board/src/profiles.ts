// Board profiles: board/boards/<id>.json, validated against board/boards/schema.json.
// The validator interprets exactly the JSON Schema keywords schema.json uses, so the schema file
// stays the single statement of the rules; a few cross-field rules that JSON Schema cannot say
// (page size divides storage size, ...) are checked afterwards in checkSemantics.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PinSpec { name: string; pin: string }
export interface ButtonSpec extends PinSpec { activeHigh: boolean }
export interface ScreenSpec { controller: "SSD1306"; width: number; height: number; bus: "I2C1"; address: number; scl: string; sda: string }
export interface CostCalibration {
  source: string;
  statementUs: number; fourIntOpsIterationUs: number; callUs: number; typedArrayRwUs: number;
  nativeCallOverheadUs: number; sha256FixedUs: number; sha256PerBlockUs: number;
  aesEcbBlockUs: number; aesCtr256Us: number; jsXor256Us: number;
}
export interface BoardProfile {
  id: string;
  name: string;
  espruinoBoard: string;
  /** The release bundle this board takes (firmware/build/bundles.ts). */
  firmware: "keycarrier.js" | "keycarrier.nfc.js" | "keycarrier.full.js";
  requiredBuildLibraries: string[];
  vars: { count: number; bytesPerVar: number };
  storage: { bytes: number; pageBytes: number; wordBytes: number; eraseEndurance: number; baseAddress: number };
  cpu: { mhz: number; core: string; timeResolutionHz: number };
  crypto: { sha1: boolean; sha256: boolean; sha512: boolean; aes: boolean; aesCcm: boolean; pbkdf2: boolean };
  peripherals: {
    usb: boolean; nfc: boolean; serial1: boolean; display: boolean;
    /** Present exactly when display is true (board/src/display). */
    screen?: ScreenSpec;
    buttons: ButtonSpec[]; leds: PinSpec[];
  };
  costCalibration: CostCalibration;
  memoryFromStorage: { source: string; baseVars: number; varsPerKB: number; ramStringCharsPerVar: number };
  /** require("Flash").getFree() areas outside Storage (board/src/flash-module.ts); absent = none */
  flashFree?: { addr: number; bytes: number; pageBytes: number; source: string }[];
  notes: string[];
}

export const BOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "boards");

export class ProfileError extends Error {
  constructor(readonly profile: string, readonly problems: string[]) {
    super(`board profile "${profile}" is invalid:\n  - ${problems.join("\n  - ")}\n` +
      `Fix the profile so it matches board/boards/schema.json.`);
    this.name = "ProfileError";
  }
}

type Schema = { [k: string]: unknown };
let cachedSchema: Schema | undefined;
function schema(): Schema {
  cachedSchema ??= JSON.parse(readFileSync(join(BOARDS_DIR, "schema.json"), "utf8")) as Schema;
  return cachedSchema;
}

/** Validates `value` against a schema subset; returns human-readable problems (empty = valid). */
export function validateAgainstSchema(value: unknown, s: Schema, path = "$"): string[] {
  const problems: string[] = [];
  const type = s["type"] as string | undefined;
  if (type !== undefined && !hasType(value, type)) {
    return [`${path}: expected ${type}, got ${describe(value)}`];
  }
  if (Array.isArray(s["enum"]) && !(s["enum"] as unknown[]).includes(value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s["enum"])}`);
  }
  if (typeof value === "number") {
    if (typeof s["minimum"] === "number" && value < s["minimum"]) problems.push(`${path}: ${value} is below the minimum ${s["minimum"]}`);
    if (typeof s["maximum"] === "number" && value > s["maximum"]) problems.push(`${path}: ${value} is above the maximum ${s["maximum"]}`);
  }
  if (typeof value === "string") {
    if (typeof s["pattern"] === "string" && !new RegExp(s["pattern"]).test(value)) problems.push(`${path}: "${value}" does not match ${s["pattern"]}`);
    if (typeof s["minLength"] === "number" && value.length < s["minLength"]) problems.push(`${path}: must not be empty`);
  }
  if (Array.isArray(value)) {
    if (s["uniqueItems"] === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) problems.push(`${path}: items must be unique`);
    if (s["items"]) value.forEach((item, i) => problems.push(...validateAgainstSchema(item, s["items"] as Schema, `${path}[${i}]`)));
  }
  if (type === "object" && value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const props = (s["properties"] ?? {}) as Record<string, Schema>;
    for (const key of (s["required"] ?? []) as string[]) {
      if (!(key in obj)) problems.push(`${path}: missing required field "${key}"`);
    }
    for (const [key, v] of Object.entries(obj)) {
      if (props[key]) problems.push(...validateAgainstSchema(v, props[key], `${path}.${key}`));
      else if (s["additionalProperties"] === false) problems.push(`${path}: unknown field "${key}" (allowed: ${Object.keys(props).join(", ")})`);
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object": return value !== null && typeof value === "object" && !Array.isArray(value);
    case "array": return Array.isArray(value);
    case "integer": return typeof value === "number" && Number.isInteger(value);
    case "number": return typeof value === "number" && Number.isFinite(value);
    case "string": return typeof value === "string";
    case "boolean": return typeof value === "boolean";
    default: throw new Error(`schema.json uses type "${type}", which profiles.ts does not implement`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function checkSemantics(p: BoardProfile): string[] {
  const problems: string[] = [];
  const { bytes, pageBytes, wordBytes } = p.storage;
  if (bytes % pageBytes !== 0) problems.push(`$.storage: bytes (${bytes}) must be a whole number of pages (${pageBytes})`);
  if (pageBytes % wordBytes !== 0) problems.push(`$.storage: pageBytes (${pageBytes}) must be a multiple of wordBytes (${wordBytes})`);
  if (p.storage.baseAddress % pageBytes !== 0) problems.push(`$.storage: baseAddress must be page aligned`);
  for (const a of p.flashFree ?? [])
    if (a.bytes % a.pageBytes !== 0 || a.addr % a.pageBytes !== 0 || (a.addr < p.storage.baseAddress + bytes && a.addr + a.bytes > p.storage.baseAddress))
      problems.push(`$.flashFree: area ${a.addr} must be whole aligned pages outside Storage`);
  if (p.crypto.aesCcm && !p.crypto.aes) problems.push(`$.crypto: aesCcm needs aes`);
  // a board reached only over NFC must take a bundle with the NFC link (firmware/build/bundles.ts)
  if (!p.peripherals.usb && p.firmware === "keycarrier.js") problems.push(`$.firmware: a board without USB needs a bundle with the NFC link (keycarrier.nfc.js or keycarrier.full.js), not keycarrier.js`);
  if (p.peripherals.display !== (p.peripherals.screen !== undefined)) problems.push(`$.peripherals: "display" is ${p.peripherals.display} but "screen" is ${p.peripherals.screen ? "given" : "missing"}: a board with a display describes it in "screen", one without has none`);
  if (p.peripherals.display && !p.requiredBuildLibraries.includes("GRAPHICS")) problems.push(`$.requiredBuildLibraries: a board with a display must list "GRAPHICS" (Espruino's Graphics drives it)`);
  const anyCrypto = Object.values(p.crypto).some(Boolean);
  const names = [...p.peripherals.buttons, ...p.peripherals.leds].map((x) => x.name);
  if (new Set(names).size !== names.length) problems.push(`$.peripherals: duplicate button/LED names`);
  if (p.espruinoBoard === "NRF52840DK" && (p.peripherals.nfc || anyCrypto)) {
    // facts §3/§7: the stock NRF52840DK build has neither NFC nor crypto; claiming them needs a custom build.
    for (const lib of [...(p.peripherals.nfc ? ["NFC"] : []), ...(anyCrypto ? ["CRYPTO"] : [])]) {
      if (!p.requiredBuildLibraries.includes(lib)) problems.push(`$.requiredBuildLibraries: must list "${lib}" (the stock NRF52840DK build lacks it)`);
    }
  }
  return problems;
}

/** Validates an already-parsed profile object; throws ProfileError listing every problem. */
export function validateProfile(value: unknown, label = "(inline)"): BoardProfile {
  const problems = validateAgainstSchema(value, schema());
  if (problems.length === 0) problems.push(...checkSemantics(value as BoardProfile));
  if (problems.length) throw new ProfileError(label, problems);
  return value as BoardProfile;
}

export function listProfiles(): string[] {
  return readdirSync(BOARDS_DIR).filter((f) => f.endsWith(".json") && f !== "schema.json").map((f) => f.slice(0, -5)).sort();
}

export function loadProfile(id: string): BoardProfile {
  const known = listProfiles();
  if (!known.includes(id)) throw new Error(`unknown board profile "${id}": choose one of ${known.join(", ")} (files in board/boards/)`);
  const file = join(BOARDS_DIR, `${id}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`board profile ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const profile = validateProfile(parsed, id);
  if (profile.id !== id) throw new ProfileError(id, [`$.id is "${profile.id}" but the file is ${id}.json`]);
  return profile;
}
