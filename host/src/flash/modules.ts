/**
 * The Espruino modules a bundle needs on the board besides itself, which `keycarrier flash` uploads
 * as Storage files (where `require(name)` finds them on a real board). EspruinoTools would fetch a
 * module from espruino.com at upload time and wrap it into the upload (Modules.addCached); that
 * site is not reachable from here and would change the bundle's bytes, so the project carries the
 * module itself and flash writes it next to `.bootcde`.
 *
 * Today one: SSD1306, EspruinoDocs `devices/SSD1306.js` (MIT, board/src/display/LICENSE-SSD1306.txt),
 * which keycarrier.full.js requires on a board with a screen (firmware/src/platform.ts openScreen;
 * docs/DISPLAY.md). The virtual board runs the same source (board/src/display/ssd1306-module.ts).
 */
import { SSD1306_MODULE_SOURCE } from "../../../board/src/display/ssd1306-module.ts";

export interface BundleModule {
  /** The Storage file name, which is the name the bundle passes to require(). */
  name: string;
  source: string;
}

const KNOWN: BundleModule[] = [{ name: "SSD1306", source: SSD1306_MODULE_SOURCE }];

/** The modules `bundle` (its text) requires by name: require("SSD1306") or require('SSD1306'). */
export function modulesFor(bundle: string): BundleModule[] {
  return KNOWN.filter((m) => new RegExp(`require\\(["']${m.name}["']\\)`).test(bundle));
}
