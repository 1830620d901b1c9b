// Shared inputs of the bench sections: the release bundle (rebuilt when firmware sources are newer
// than firmware/dist) and the board profiles.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { listProfiles, loadProfile, type BoardProfile } from "../board/src/profiles.ts";
import { CMD, enrolPin, transportIdentity, type CarrierRig } from "../firmware/test/applets/carrier-harness.ts";
import type { Platform } from "../host/src/platform/service.ts";
import { platformIdFor } from "../host/src/flows/personalise.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "firmware", "dist");
const REPORT = join(DIST, "build-report.json");
const RELEASE = join(DIST, "keycarrier.js");
const RELEASE_NFC = join(DIST, "keycarrier.nfc.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;
/** Runs `npm run build` when the release bundle is missing or older than firmware/src. */
export function ensureBuild(log: (line: string) => void = () => {}): void {
  if (built) return;
  const stale = !existsSync(REPORT) || !existsSync(RELEASE) || !existsSync(RELEASE_NFC) || !existsSync(join(DIST, "keycarrier.full.js")) || statSync(REPORT).mtimeMs < newestMtime(join(ROOT, "firmware", "src"));
  if (stale) {
    log("bench: firmware/dist is missing or older than firmware/src; running the build");
    execFileSync(process.execPath, [join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(ROOT, "firmware", "build", "cli.ts")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }
  if (!existsSync(RELEASE)) throw new Error("bench: the build did not produce firmware/dist/keycarrier.js; run `npm run build` and read its gate findings");
  built = true;
}

/** keycarrier.js, the USB-only bundle (NFC link compiled out); with nfc, keycarrier.nfc.js; or the bundle named. */
export function releaseBundle(which: boolean | string = false): string {
  ensureBuild();
  return readFileSync(which === true ? RELEASE_NFC : which === false ? RELEASE : join(DIST, which), "latin1");
}

/** The bundle a board takes (`npm run build`): the one its profile names (board/boards/*.json "firmware"). */
export function bundleFor(profile: BoardProfile): string {
  return releaseBundle(profile.firmware);
}

interface BundleBoards { file: string; bytes: { release: number; debug: number }; estimatedJsVarsFromStorage: number; boards: { id: string; vars: number; varsPercent: number; largestBundleBytes: number }[] }
export interface BuildReport { bytes: { release: number; debug: number }; estimatedJsVarsFromStorage: number; bundles: BundleBoards[]; boards: { id: string; vars: number; varsPercent: number }[]; gate: { verdict: string } }

export function buildReport(): BuildReport {
  ensureBuild();
  return JSON.parse(readFileSync(REPORT, "utf8")) as BuildReport;
}

export function boardProfiles(): BoardProfile[] {
  return listProfiles().map((id) => loadProfile(id));
}

/**
 * Issues a carrier on the reference platform and personalises the rig's blank carrier with it
 * through the transport session (PROTOCOL.md §7.4), then enrols the PIN at the platform (online
 * PIN), as `keycarrier personalise` does: the bench's payment section and bench/profile-payment.ts
 * start from here.
 */
export async function personaliseFromPlatform(rig: CarrierRig, platform: Platform, pin: string): Promise<{ cid: Uint8Array; pid: Uint8Array; keys: ReturnType<Platform["carrierKeys"]> }> {
  const issued = platform.issueCarrier();
  const keys = platform.carrierKeys(issued.carrierId);
  const cid = Buffer.from(issued.carrierId, "hex");
  const pid = platformIdFor(issued.issuerId);
  const transport = await rig.openChannel(transportIdentity(rig.serial));
  const perso = await rig.inner(transport, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, cid], [2, pid], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 1_000_000],
  ]));
  if (perso.status !== 0) throw new Error(`bench: PERSONALISE failed with status ${perso.status}`);
  enrolPin(platform, issued.carrierId, pin);
  return { cid, pid, keys };
}
