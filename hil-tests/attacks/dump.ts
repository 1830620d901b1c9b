// What a thief gets from a personalised carrier's flash (issue #11 item 1: BTN1 at power-on skips the
// boot code and the REPL reads every Storage file): the carrier's real K_ac, unwrapped exactly as the
// firmware does (SECURITY.md §7, the same steps as hil-tests/attacks/btn1-dump.test.ts). With the
// online PIN no PIN is needed for that: PERSO record v2 holds share A of the device secret and MK
// wrapped under SHA-256("KCkek2" | SHA-256("KCds" | share A | share B)), share B sits in the tally
// record (both in the page store, STORAGE.md §2), and K_ac is wrapped under MK next to K_ch (in clear) in the keys record. The
// platform attack tests use it to compute cryptograms with the genuine key.
import { expect } from "vitest";
import type { CarrierRig } from "../../firmware/test/applets/carrier-harness.ts";
import { seededCrypto } from "../../firmware/test/store/harness.ts";
import { boardFlashImages, boardPageStore } from "../../firmware/test/store/board-store.ts";
import { storeGet } from "../../firmware/src/store/pages.ts";
import { tallyShare } from "../../firmware/src/store/tally.ts";
import { REC_PERSO } from "../../firmware/src/security/carrier.ts";

/** K_ac from the board's flash alone; `channelKey` (K_ch, in clear in the same dump) locates the keys record. */
export function cryptogramKeyFromDump(rig: CarrierRig, channelKey: Uint8Array): Uint8Array {
  const st = boardPageStore(rig.board)!;
  const p = storeGet(st, REC_PERSO)!;
  expect(p.charCodeAt(0), "PERSO record version").toBe(2);
  const shareB = tallyShare(st);
  const c = seededCrypto(0);
  const mk = c.aesDecryptEcb(c.sha256("KCkek2" + c.sha256("KCds" + p.substr(1, 32) + shareB)), p.substr(33, 32));
  const image = boardFlashImages(rig.board).find((i) => i.indexOf(Buffer.from(channelKey)) >= 0);
  expect(image, "K_ch in the flash dump").toBeDefined();
  const at = image!.indexOf(Buffer.from(channelKey));
  const wrapped = image!.subarray(at + 32, at + 64).toString("latin1");
  return Uint8Array.from(Buffer.from(c.aesDecryptEcb(mk, wrapped), "latin1"));
}
