// The board figures the docs quote, against their sources: README's supported-boards table against
// board/boards/*.json, and the largest-bundle figures (README, STORAGE.md §7.1, firmware/build/README.md)
// against largestBundleBytes, the formula the build and firmware/test/store/capacity.test.ts use.
// A profile or formula change that the docs do not follow fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { listProfiles, loadProfile, type BoardProfile } from "../src/profiles.ts";
import { largestBundleBytes } from "../../firmware/build/cli.ts";

const read = (file: string): string => readFileSync(file, "utf8");
const num = (s: string): number => Number(s.replace(/,/g, ""));
const thousands = (n: number): string => n.toLocaleString("en-US");

/** Cells of the markdown table rows between `heading` and the next heading, first cell unwrapped from backticks. */
function tableRows(doc: string, heading: string): Map<string, string[]> {
  const start = doc.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" section`);
  const end = doc.indexOf("\n#", start + heading.length);
  const rows = new Map<string, string[]>();
  for (const line of doc.slice(start, end < 0 ? undefined : end).split("\n")) {
    const m = /^\| `?([a-z0-9-]+)`?[^|]*\|(.*)\|\s*$/.exec(line);
    if (m && m[1] !== "profile") rows.set(m[1]!, m[2]!.split("|").map((c) => c.trim()));
  }
  return rows;
}

function cryptoNames(p: BoardProfile): string[] {
  const names: [keyof BoardProfile["crypto"], string][] = [
    ["sha1", "SHA-1"], ["sha256", "SHA-256"], ["sha512", "SHA-512"], ["aes", "AES"], ["aesCcm", "AES-CCM"], ["pbkdf2", "PBKDF2"],
  ];
  return names.filter(([k]) => p.crypto[k]).map(([, n]) => n).sort();
}

describe("README supported boards", () => {
  const rows = tableRows(read("README.md"), "## Supported boards");

  it("lists exactly the board profiles", () => {
    expect([...rows.keys()].sort()).toEqual(listProfiles().sort());
  });

  for (const id of listProfiles()) {
    it(`${id}: build, USB, NFC, crypto, JsVars and Storage match board/boards/${id}.json`, () => {
      const p = loadProfile(id);
      const [build, usb, nfc, crypto, vars, storage] = rows.get(id)!;
      expect(build).toContain(p.espruinoBoard);
      expect(usb).toBe(p.peripherals.usb ? "yes" : "no");
      expect(nfc).toBe(p.peripherals.nfc ? "yes" : "no");
      expect(crypto!.split(",").map((c) => c.trim()).sort()).toEqual(cryptoNames(p));
      expect(vars).toBe(`${thousands(p.vars.count)} × ${p.vars.bytesPerVar} B`);
      expect(storage).toBe(`${p.storage.bytes / 1024} KB, ${p.storage.pageBytes / 1024} KB pages`);
    });
  }
});

describe("largest bundle next to the store (STORAGE.md §7.1)", () => {
  const expected = new Map(listProfiles().map((id) => {
    const p = loadProfile(id);
    return [id, { p, boot: largestBundleBytes(p.storage.bytes, p.storage.pageBytes), cycle: largestBundleBytes(p.storage.bytes, p.storage.pageBytes, 5) }];
  }));

  it("STORAGE.md §7.1 table: Storage, pages, last page and both largest bundles per profile", () => {
    const rows = tableRows(read("STORAGE.md"), "### 7.1");
    expect([...rows.keys()].sort()).toEqual(listProfiles().sort());
    for (const [id, { p, boot, cycle }] of expected) {
      const [storage, lastPage, atBoot, oneCycle] = rows.get(id)!;
      expect(storage, id).toBe(`${thousands(p.storage.bytes)} B, ${p.storage.bytes / p.storage.pageBytes} × ${p.storage.pageBytes / 1024} KB`);
      expect(num(lastPage!), id).toBe(p.storage.bytes - p.storage.pageBytes);
      expect(num(/[\d,]+/.exec(atBoot!)![0]), id).toBe(boot);
      expect(num(/[\d,]+/.exec(oneCycle!)![0]), id).toBe(cycle);
    }
  });

  it("README and firmware/build/README.md quote the same figures", () => {
    const readme = [...read("README.md").matchAll(/([\d,]+) B on `([\w-]+)`/g)];
    const build = [...read("firmware/build/README.md").matchAll(/([\w-]+) ([\d,]+) B/g)].filter((m) => expected.has(m[1]!));
    expect(readme.length).toBe(expected.size);
    expect(build.length).toBe(expected.size);
    for (const m of readme) expect(num(m[1]!), m[2]).toBe(expected.get(m[2]!)!.boot);
    for (const m of build) expect(num(m[2]!), m[1]).toBe(expected.get(m[1]!)!.boot);
  });
});
