// The console lock as a boot file of its own (SECURITY.md §7, PROTOCOL.md §9.1). Espruino runs
// `.boot0` before `.bootcde` on every boot (src/jsflash.c jsfLoadBootCodeFromFlash: .bootPowerOn,
// .boot0-.boot3, then .bootcde or .bootrst), so its first statement is the first statement of the
// boot: the console leaves USB (and the BLE UART goes) before the bundle is even read, and a Ctrl-C
// from the host can no longer stop the boot code at a REPL. A BLANK carrier has no such file, so it
// stays flashable (EspruinoTools, BTN1 recovery).
import { storeFull, type StoreEnv } from "../store/ports.ts";
import { canCreate } from "../store/space.ts";
import { STORE_FILE } from "../store/reserve.ts";

export const CONSOLE_LOCK_FILE = ".boot0";
export const CONSOLE_LOCK_CODE = "E.setConsole(null,{force:true});try{NRF.setServices({},{uart:false})}catch(e){}";

// on: written unless already there (a torn copy is replaced), through the store's creation rules
// (no compaction, no header in the last page): StoreFull when it cannot be. off: erased, unless the
// page store's kc.st exists: .boot0 sits before it, and its trash there would make the next .boot0
// go after kc.st and a later Storage compaction move kc.st off its page alignment (STORAGE.md §1).
export function setBootLock(env: StoreEnv, on: boolean): void {
  const now = env.storage.read(CONSOLE_LOCK_FILE);
  if (on && now === CONSOLE_LOCK_CODE) return;
  if (!on && env.storage.read(STORE_FILE, 0, 1) !== undefined) return;
  if (now !== undefined) env.storage.erase(CONSOLE_LOCK_FILE);
  if (!on) return;
  if (!canCreate(env, CONSOLE_LOCK_CODE.length)) storeFull("no room for the boot lock " + CONSOLE_LOCK_FILE);
  env.storage.write(CONSOLE_LOCK_FILE, CONSOLE_LOCK_CODE);
}

// At boot: a carrier with secrets gets the file back if it lacks it (one personalised before the
// boot lock existed) or a cut tore its data. A name a cut tore is left alone: its size word is
// complete, so it only wastes its 112 B until a compaction, and scanning every name for it would
// cost the boot tens of ms by the cost model. A BLANK
// carrier keeps one it has: a cut PERSONALISE can leave a torn 1,024 B header right after it, and
// re-creating the 80 B file there would clash with that size word (STORAGE.md §6), while keeping it
// lets the next PERSONALISE complete that header. A store too full to take it leaves the carrier
// with its late lock (main.ts lockConsole): false.
export function repairBootLock(env: StoreEnv, secrets: boolean): boolean {
  if (!secrets) return true;
  try {
    setBootLock(env, true);
    return true;
  } catch (e) {
    return false;
  }
}
