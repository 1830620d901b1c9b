// Shared request parsing and replies of the PIN commands (SECURITY.md §6).
import type { CborMap } from "../codec.ts";
import { ok, refuse, textArg, type CommandResult } from "../dispatch.ts";
import type { Outcome } from "./carrier.ts";
import { STATUS_OK } from "../protocol.ts";

// The PINs in fields 1..count, each a text string (its format is judged later); null when one is
// missing or not a text (BAD_ARGUMENT). Fields past count never get here: the command's `fields`
// has the dispatcher refuse them.
export function pinFields(args: CborMap, count: number): string[] | null {
  const pins: string[] = [];
  for (let k = 1; k <= count; k++) {
    const pin = textArg(args[k]);
    if (pin === undefined) return null;
    pins.push(pin);
  }
  return pins;
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
