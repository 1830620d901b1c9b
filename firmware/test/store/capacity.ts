// `npx tsx firmware/test/store/capacity.ts [profile…]`: the largest bundle with which a carrier's
// whole life (firmware/test/store/lifecycle.ts) still works on each board profile's Storage,
// found by bisection over a stand-in .bootcde on the virtual board; the numbers in STORAGE.md §7.
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../build/pipeline.ts";
import { profileFor, runLifecycle } from "./lifecycle.ts";
import { loadProfile } from "../../../board/src/profiles.ts";

const ALIGN = 4;

export async function largestBundle(profileId: string, rebootBetweenPhases: boolean, lo = 8_000): Promise<{ bytes: number; failureAbove: string }> {
  const profile = profileFor(profileId, true);
  const passes = async (bytes: number) => runLifecycle({ profile, bundle: bytes, rebootBetweenPhases });
  let hi = profile.storage.bytes;
  if (!(await passes(lo)).ok) throw new Error(`${profileId}: the lifecycle fails even with a ${lo} B bundle`);
  // invariant: lo passes, hi fails (a bundle as large as Storage cannot even be stored)
  while (hi - lo > ALIGN) {
    const mid = Math.floor((lo + hi) / 2 / ALIGN) * ALIGN;
    if ((await passes(mid)).ok) lo = mid;
    else hi = mid;
  }
  // Storage pads files to the word, so every size up to the next word boundary behaves the same
  const failure = (await passes(lo + ALIGN)).failure ?? "";
  return { bytes: lo, failureAbove: failure };
}

async function main(): Promise<void> {
  const ids = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["pico", "puckjs", "nrf52840"];
  // each board against the bundle its profile names ("firmware")
  const sizeOf = (file: string): number => {
    try {
      return readFileSync(path.join(REPO_ROOT, "firmware/dist", file)).length;
    } catch {
      return 0; // no build yet: the comparison column stays empty
    }
  };
  for (const id of ids) {
    const bundle = sizeOf(loadProfile(id).firmware);
    for (const reboots of [true, false]) {
      const r = await largestBundle(id, reboots);
      const vs = bundle > 0 ? `; release bundle ${bundle} B: ${bundle <= r.bytes ? `fits, ${r.bytes - bundle} B to spare` : `${bundle - r.bytes} B too large`}` : "";
      console.log(`${id} (${reboots ? "a boot between phases" : "one power cycle"}): largest bundle ${r.bytes} B${vs}; ${r.bytes + ALIGN} B fails at ${r.failureAbove}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
