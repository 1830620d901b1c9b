// docs/OFFLINE.md's host figures table: the byte columns (exact, unlike the times) against the code.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { LMOTS, LMS, hssCapacity, hssSignatureBytes, type HssLevel } from "../../src/lms/index.ts";
import { DEFAULT_AUTHORITY_LEVELS } from "../../src/platform/offline-authority.ts";
import { encodeLicense, encodeLicenseBody } from "../../src/offline/index.ts";
import { MAX_CHUNK } from "../../src/pos/commands.ts";

const num = (s: string) => Number(s.replace(/,/g, ""));

function levelsOf(name: string): HssLevel[] {
  return name.replace(/^L\d /, "").replace(/^authority /, "").split(" + ").map((part) => {
    const [h, w] = part.split("/");
    return { lms: (LMS as Record<string, HssLevel["lms"]>)[`LMS_SHA256_M32_${h}`]!, ots: (LMOTS as Record<string, HssLevel["ots"]>)[`LMOTS_SHA256_N32_${w}`]! };
  });
}

describe("docs/OFFLINE.md host figures", () => {
  const doc = readFileSync("docs/OFFLINE.md", "utf8");
  const section = doc.slice(doc.indexOf("## Host figures"));
  const rows = [...section.matchAll(/^\| ((?:L\d|authority) [^|]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,—]+) \| ([\d,—]+) \|/gm)];
  const licenseBytes = encodeLicense(
    encodeLicenseBody({ carrierId: new Uint8Array(8), publicKey: Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 4, ...new Uint8Array(48)), currency: "EUR", perTransactionLimit: 5000, cumulativeLimit: 20000, expiry: 20271231, serial: 1 }),
    new Uint8Array(hssSignatureBytes(DEFAULT_AUTHORITY_LEVELS)),
  ).length;

  it("has the table", () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
  });
  it("quotes the signature and license bytes, capacity and commands per payment the code gives", () => {
    for (const [, name, capacity, sigBytes, license, commands] of rows) {
      const levels = levelsOf(name!.trim());
      expect(num(capacity!), name).toBe(hssCapacity(levels));
      expect(num(sigBytes!), name).toBe(hssSignatureBytes(levels));
      if (name!.startsWith("authority")) {
        expect(levels).toEqual(DEFAULT_AUTHORITY_LEVELS);
        continue;
      }
      expect(num(license!), name).toBe(licenseBytes);
      expect(num(commands!), name).toBe(Math.ceil(licenseBytes / MAX_CHUNK) + Math.ceil(hssSignatureBytes(levels) / MAX_CHUNK));
    }
  });
});
