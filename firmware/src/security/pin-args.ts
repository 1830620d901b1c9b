// Shared request parsing and replies of the PIN commands (SECURITY.md §6).
import { isText, type CborMap } from "../codec.ts";
import { ok, refuse, unknownField, type CommandResult } from "../dispatch.ts";
import type { Outcome } from "./carrier.ts";
import { STATUS_OK } from "../protocol.ts";

// The PINs in fields 1..count, each a text string (its format is judged later), with no other
// field; null when the request is anything else (BAD_ARGUMENT).
export function pinFields(args: CborMap, count: number): string[] | null {
  const allowed: number[] = [];
  const pins: string[] = [];
  for (let k = 1; k <= count; k++) {
    const v = args[k];
    if (v === undefined || !isText(v)) return null;
    allowed.push(k);
    pins.push(v.tstr);
  }
  return unknownField(args, allowed) < 0 ? pins : null;
}

// OK → {1: tries left}; a failure carries tries left (and the lockout) in its detail text.
export function reply(o: Outcome): CommandResult {
  if (o.status === STATUS_OK) {
    const m: CborMap = {};
    m[1] = o.triesLeft;
    return ok(m);
  }
  return refuse(o.status, o.detail);
}
