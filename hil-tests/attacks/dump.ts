// What a thief gets from a personalised carrier's flash (issue #11 item 1: BTN1 at power-on skips the
// boot code and the REPL reads every Storage file) plus the PIN (found offline then by a search over
// the on-device stretching, or watched): the carrier's real K_ac, unwrapped exactly as the firmware
// does (SECURITY.md §5, the same steps as hil-tests/carrier.test.ts). The platform attack tests use
// it to forge cryptograms with the genuine key. The online-PIN redesign (branch `pin`) changes this
// storage layout; this helper changes with it — the platform-side defences it feeds do not.
import { expect } from "vitest";
import type { CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { envOver, seededCrypto } from "../../firmware/test/store/harness.ts";
import { openLog } from "../../firmware/src/store/log.ts";
import { readU16 } from "../../firmware/src/store/bytes.ts";
import { DEFAULT_CONFIG, LOG_NAMES, REC_PERSO } from "../../firmware/src/security/carrier.ts";
import { derivePinKeys } from "../../firmware/src/security/pin.ts";

/** K_ac from the board's Storage and the PIN; `channelKey` (K_ch, in clear in the same dump) locates the keys record. */
export function cryptogramKeyFromDump(rig: CarrierRig, pin: string, channelKey: Uint8Array): Uint8Array {
  const storage = rig.board.storage;
  const p = openLog(envOver(storage, rig.board.profile.storage.pageBytes), LOG_NAMES, DEFAULT_CONFIG.logBytes).get(REC_PERSO)!.payload;
  const shareB = storage.read("kc.ctr.a", 12, 32) ?? storage.read("kc.ctr.b", 12, 32)!;
  const c = seededCrypto(0);
  const kek = derivePinKeys(c, pin, p.substr(3, 16), c.sha256("KCds" + p.substr(19, 32) + shareB), readU16(p, 1)).kek;
  const mk = c.aesDecryptEcb(kek, p.substr(83, 32));
  const image = Buffer.from(rig.board.flash.snapshot());
  const at = image.indexOf(Buffer.from(channelKey));
  expect(at, "K_ch in the flash dump").toBeGreaterThanOrEqual(0);
  const wrapped = image.subarray(at + 32, at + 64).toString("latin1");
  return Uint8Array.from(Buffer.from(c.aesDecryptEcb(mk, wrapped), "latin1"));
}
