// The boot lock file (.boot0): written and erased through the store's creation rules, refused with
// StoreFull rather than compacting, a torn copy replaced at boot.
import { describe, expect, it } from "vitest";
import { NorFlash } from "../../../board/src/flash.ts";
import { EspruinoStorage } from "../../../board/src/storage.ts";
import { CONSOLE_LOCK_CODE, CONSOLE_LOCK_FILE, repairBootLock, setBootLock } from "../../src/security/boot-lock.ts";
import { isStoreFull } from "../../src/store/ports.ts";
import { envOver, PUCK } from "../store/harness.ts";

function store() {
  const flash = new NorFlash(PUCK, { seed: 1 });
  const storage = new EspruinoStorage(flash);
  return { flash, storage, env: envOver(storage, PUCK.pageSize) };
}

describe("boot lock (.boot0)", () => {
  it("is the console lock Espruino runs before .bootcde, written once and erased when off", () => {
    const { storage, env } = store();
    setBootLock(env, true);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBe(CONSOLE_LOCK_CODE);
    expect(CONSOLE_LOCK_CODE.startsWith("E.setConsole(null,{force:true});")).toBe(true);
    const free = storage.getFree();
    setBootLock(env, true); // already there: no second write
    expect(storage.getFree()).toBe(free);
    setBootLock(env, false);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBeUndefined();
  });

  it("a store without room for it refuses with StoreFull and writes nothing (no compaction)", () => {
    const { storage, env } = store();
    storage.write("filler", "x".repeat(storage.getFree() - 64));
    let thrown: unknown;
    try { setBootLock(env, true); } catch (e) { thrown = e; }
    expect(isStoreFull(thrown)).toBe(true);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBeUndefined();
    expect(repairBootLock(env, true)).toBe(false);
  });

  it("at boot: a carrier with secrets gets a missing or torn copy back; a BLANK one keeps what it has", () => {
    const { storage, env } = store();
    expect(repairBootLock(env, false)).toBe(true);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBeUndefined(); // never personalised: none
    storage.write(CONSOLE_LOCK_FILE, CONSOLE_LOCK_CODE.slice(0, 20), 0, CONSOLE_LOCK_CODE.length); // data cut short
    expect(repairBootLock(env, true)).toBe(true);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBe(CONSOLE_LOCK_CODE);
    expect(repairBootLock(env, false)).toBe(true);
    expect(storage.read(CONSOLE_LOCK_FILE)).toBe(CONSOLE_LOCK_CODE); // kept: see repairBootLock
  });
});
