// Shared request parsing and replies of the PIN commands (SECURITY.md §6).
import { isText, type CborMap } from "../codec.ts";
import { ok, refuse, type CommandResult } from "../dispatch.ts";
import type { Outcome } from "./carrier.ts";
import { STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";

// A PIN field is a text string of digits; anything else is BAD_ARGUMENT (format is judged later).
export function pinField(args: CborMap, key: number): string | null {
  const v = args[key];
  return v !== undefined && isText(v) ? v.tstr : null;
}

export function missingPin(name: string): CommandResult {
  return refuse(STATUS_BAD_ARGUMENT, name + " needs the PIN as a text string");
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
