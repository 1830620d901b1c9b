// Per-site breakdown of one steady-state request: which lines of the readable (non-minified)
// bundle the cost model charges, costliest first (puckjs calibration). For finding where the
// statements go before changing the firmware's hot path.
//   npx tsx bench/profile.ts [info|ping16|ping500] [--min]
import { compile } from "../firmware/build/pipeline.ts";
import { loadProfile } from "../board/src/profiles.ts";
import { bootMetered, measureRequest, pingBody, requestFrame } from "./device-cost.ts";

const frames: Record<string, string> = {
  info: requestFrame(1, 1, "\xa0"),
  ping16: requestFrame(1, 2, pingBody("0123456789abcdef")),
  ping500: requestFrame(1, 2, pingBody("z".repeat(500))),
};
const which = process.argv[2] ?? "info";
const frame = frames[which];
if (!frame) throw new Error(`profile: unknown request ${which}; use one of ${Object.keys(frames).join(", ")}`);
const profile = loadProfile("puckjs");
const { code } = await compile({ entry: "firmware/src/main.ts", minify: process.argv.includes("--min") });
const lines = code.split("\n");
const device = bootMetered(code, profile);
const first = measureRequest(device, profile, requestFrame(200, 1, "\xa0"));
console.log(`first INFO after boot: ${first.ms.toFixed(1)} ms`);
const r = measureRequest(device, profile, frame);
console.log(`${which}: ${r.ms.toFixed(1)} ms`, JSON.stringify(r.estimate.breakdown));
console.log(JSON.stringify({ ...r.estimate.counts, native: undefined }));
console.log("    ms hits  site (first line of a straight-line run)");
for (const h of device.meter.hotspots(profile, 40)) console.log(h.ms.toFixed(2).padStart(6), String(h.hits).padStart(4), " " + (lines[h.line - 1] ?? "").trim().slice(0, 150));
