// Device time and memory per command on every board profile, from the cost model.
import type { BoardProfile } from "../../board/src/profiles.ts";
import { boardProfiles, bundleFor } from "../context.ts";
import { bootMetered, measureRequest, pingBody, requestFrame, type MeteredDevice } from "../device-cost.ts";
import type { Row, Section } from "./types.ts";
import { sizeRulesFor, stringVars } from "../../board/src/cost/vars.ts";

// PROTOCOL.md §7.2: PING carries at most 500 bytes (a 512-byte body minus the map and bstr heads).
export const PING_MAX_DATA = 500;
export const PING_SIZES = [16, 128, 512];
// USB full-speed CDC delivers at most 64 bytes per packet, so a real board sees long frames in pieces.
const USB_PACKET = 64;

function pingData(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode((i * 31 + 7) & 255);
  return s;
}

function row(profile: BoardProfile, device: MeteredDevice, command: string, frame: string, chunks = 1, note = ""): Row {
  const r = measureRequest(device, profile, frame, chunks);
  // Counted vars after the request (functions, scopes, objects; cost-model.md "JsVars") + the request
  // and response strings alive while it runs; the memory section has the sampled peaks per pool.
  const rules = sizeRulesFor(profile);
  const vars = r.vars + stringVars(frame.length, rules) + stringVars(r.response.length, rules);
  const top = Object.entries(r.estimate.breakdown).filter(([k, v]) => typeof v === "number" && k !== "native").sort((a, b) => (b[1] as number) - (a[1] as number))[0]!;
  return {
    board: profile.id, command, chunks,
    deviceMs: Math.round(r.ms * 10) / 10,
    nativeMs: Math.round(r.estimate.breakdown.native * 10) / 10,
    jsStatements: r.estimate.counts.statements,
    jsCalls: r.estimate.counts.entries,
    biggestJsPart: `${top[0]} ${(top[1] as number).toFixed(1)} ms`,
    estVars: vars,
    varsPctOfBoard: Math.round((vars / profile.vars.count) * 1000) / 10,
    wireBytes: frame.length + r.response.length,
    roundTrips: 1,
    note: r.response === "" ? `NO REPLY (${device.outOfMemory() ? "OUT OF MEMORY" : "see the board transcript"}). ${note}`.trim() : note,
  };
}

export function deviceRows(profiles: BoardProfile[] = boardProfiles(), bundle?: string): Row[] {
  const rows: Row[] = [];
  for (const profile of profiles) {
    // each board runs the bundle it takes (keycarrier.nfc.js on NFC boards) unless one is given
    const device = bootMetered(bundle ?? bundleFor(profile), profile);
    const boot = device.meter.estimate(profile);
    const usbNote = profile.peripherals.usb ? "" : "no USB on this board: the link's code path on its calibration";
    // The boot of a blank carrier from Storage to its idle loop (boot files and E.on('init')).
    const bootTop = Object.entries(boot.breakdown).filter(([, v]) => typeof v === "number").sort((a, b) => (b[1] as number) - (a[1] as number))[0]!;
    rows.push({
      board: profile.id, command: "boot (blank carrier)", chunks: 0, deviceMs: Math.round(boot.ms * 10) / 10,
      nativeMs: Math.round(boot.breakdown.native * 10) / 10, jsStatements: boot.counts.statements, jsCalls: boot.counts.entries,
      biggestJsPart: `${bootTop[0]} ${(bootTop[1] as number).toFixed(1)} ms`, estVars: device.vars(),
      varsPctOfBoard: Math.round((device.vars() / profile.vars.count) * 1000) / 10, wireBytes: 0, roundTrips: 0,
      note: `lex = function bodies lexed as their instances are created (${boot.counts.lexChars} characters)`,
    });
    rows.push(row(profile, device, "INFO (first after boot)", requestFrame(200, 1, "\xa0"), 1, usbNote));
    rows.push(row(profile, device, "INFO", requestFrame(1, 1, "\xa0"), 1, usbNote));
    let seq = 2;
    for (const size of PING_SIZES) {
      const n = Math.min(size, PING_MAX_DATA);
      const note = n < size ? `capped at PING's ${PING_MAX_DATA}-byte maximum (PROTOCOL.md §7.2)` : "";
      rows.push(row(profile, device, `PING ${size}`, requestFrame(seq++, 2, pingBody(pingData(n))), 1, [note, usbNote].filter(Boolean).join("; ")));
    }
    const big = requestFrame(seq++, 2, pingBody(pingData(PING_MAX_DATA)));
    rows.push(row(profile, device, `PING ${PING_MAX_DATA} in ${USB_PACKET} B chunks`, big, Math.ceil(big.length / USB_PACKET), "as USB full-speed packets arrive"));
  }
  return rows;
}

export const deviceSection: Section = {
  name: "device",
  note: "cost-model estimate of one request (release bundle booted from Storage on a metered virtual board, one chunk unless stated): deviceMs = JS + native + string copies at 1.25 cycles/instruction (range 1.0-2.0: x0.8-x1.6); estVars = vars counted after the request + the request/response strings (peaks: memory section)",
  run: async () => deviceRows(),
};
