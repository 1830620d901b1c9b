import { describe, expect, it } from "vitest";
import { listProfiles, loadProfile, validateProfile, ProfileError } from "../src/profiles.ts";

// Expected values: /work/shared/espruino-facts.md §3 (crypto per board), §5 (Storage), §7 (pins), §8 (vars).
describe("board profiles", () => {
  it("lists the four shipped profiles", () => {
    expect(listProfiles()).toEqual(["nrf52840", "nrf52840-oled", "pico", "puckjs"]);
  });

  it("Puck.js matches the measured facts", () => {
    const p = loadProfile("puckjs");
    expect(p.vars).toEqual({ count: 2630, bytesPerVar: 13 });
    expect([p.storage.bytes, p.storage.pageBytes, p.storage.wordBytes]).toEqual([40960, 4096, 4]);
    expect(p.crypto).toEqual({ sha1: true, sha256: true, sha512: false, aes: true, aesCcm: false, pbkdf2: false });
    expect(p.peripherals.usb).toBe(false);
    expect(p.peripherals.nfc).toBe(true);
    expect(p.peripherals.leds.map((l) => l.pin)).toEqual(["D5", "D4", "D3"]);
    expect(p.peripherals.buttons).toEqual([{ name: "BTN1", pin: "D0", activeHigh: true }]);
  });

  it("Pico: USB, PBKDF2, 16 KB pages, 84 MHz calibration scaled from the 64 MHz column", () => {
    const p = loadProfile("pico");
    expect(p.vars.count).toBe(5100);
    expect([p.storage.bytes, p.storage.pageBytes]).toEqual([49152, 16384]);
    expect(p.crypto.pbkdf2).toBe(true);
    expect(p.peripherals.nfc).toBe(false);
    expect(p.peripherals.leds.map((l) => l.pin)).toEqual(["B2", "B12"]);
    expect(p.peripherals.buttons[0]!.pin).toBe("C13");
    const puck = loadProfile("puckjs");
    expect(p.costCalibration.statementUs).toBe(Math.round(puck.costCalibration.statementUs * 64 / 84));
  });

  it("nrf52840 needs a custom build with NFC and crypto, and has inverted buttons", () => {
    const p = loadProfile("nrf52840");
    expect(p.requiredBuildLibraries).toEqual(["NFC", "CRYPTO", "SHA256", "AES"]);
    expect(p.vars).toEqual({ count: 12500, bytesPerVar: 14 });
    expect(p.peripherals.buttons).toHaveLength(4);
    expect(p.peripherals.buttons.every((b) => !b.activeHigh)).toBe(true);
    expect(p.costCalibration).toMatchObject({ statementUs: 200, fourIntOpsIterationUs: 600, callUs: 700, typedArrayRwUs: 700, aesEcbBlockUs: 3600, aesCtr256Us: 4400 });
  });

  it("an unknown id names the available profiles", () => {
    expect(() => loadProfile("arduino")).toThrow(/unknown board profile "arduino".*nrf52840, nrf52840-oled, pico, puckjs/);
  });

  it("a bad profile lists every problem with its path", () => {
    const bad = structuredClone(loadProfile("puckjs")) as unknown as Record<string, any>;
    bad.vars.count = "lots";
    bad.storage.pageBytes = 3000;
    delete bad.crypto;
    bad.peripherals.leds.push({ name: "LAMP", pin: "D9" });
    bad.extra = 1;
    let err: ProfileError | undefined;
    try { validateProfile(bad, "broken"); } catch (e) { err = e as ProfileError; }
    expect(err).toBeInstanceOf(ProfileError);
    expect(err!.problems).toEqual(expect.arrayContaining([
      "$.vars.count: expected integer, got string \"lots\"",
      "$: missing required field \"crypto\"",
      "$: unknown field \"extra\" (allowed: $schema, id, name, espruinoBoard, firmware, requiredBuildLibraries, vars, storage, cpu, crypto, peripherals, costCalibration, memoryFromStorage, flashFree, notes)",
      "$.peripherals.leds[3].name: \"LAMP\" does not match ^LED[1-9]$",
    ]));
    expect(err!.message).toMatch(/Fix the profile so it matches board\/boards\/schema.json/);
  });

  it("cross-field rules: storage must be whole pages; stock NRF52840DK can't claim NFC without the library", () => {
    const p = structuredClone(loadProfile("nrf52840"));
    p.storage.bytes = 40960 + 100;
    p.requiredBuildLibraries = ["CRYPTO"];
    expect(() => validateProfile(p)).toThrow(/whole number of pages[\s\S]*must list "NFC"/);
  });

  it("a board reached only over NFC cannot name the USB-only bundle", () => {
    const p = structuredClone(loadProfile("puckjs"));
    p.firmware = "keycarrier.js";
    expect(() => validateProfile(p)).toThrow(/without USB needs a bundle with the NFC link/);
  });
});
