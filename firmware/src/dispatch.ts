// Routes a request to its command handler (PROTOCOL.md §7): command id, then state permission,
// then body decoding, then the handler. No exception escapes: a throwing handler or an
// unencodable result becomes STATUS_INTERNAL with the device state untouched by the dispatcher.
// A handler that needs the user (PAY waits for the button, §7.5) answers DEFERRED and completes
// later through the `late` function it was given; the dispatcher turns that late result into a
// reply exactly as it would have at once and hands it to the `late` sink of its own caller.
import { decode, encode, isText, text, type CborMap, type CborValue } from "./codec.ts";
import {
  ERROR_FIELD_DETAIL, MAX_BODY, STATUS_BAD_ARGUMENT, STATUS_INTERNAL, STATUS_NOT_ALLOWED_IN_STATE, STATUS_OK,
  STATUS_TOO_LARGE, STATUS_UNKNOWN_COMMAND,
} from "./protocol.ts";
import type { HandlerReply } from "./link.ts";
import { raise } from "./raise.ts";

// On OK a handler returns either value (encoded by the dispatcher) or raw: an already-encoded
// canonical CBOR map, for responses that are constant or equal to the request (each JS statement
// costs ~0.2 ms on the board, and generic encoding is the most statement-heavy step).
// On an error, fields (if any) are added to the error body {1: detail} (e.g. PIN_WRONG's tries left).
export interface CommandResult { status: number; value?: CborMap; raw?: string; detail?: string; fields?: CborMap }

// Never on the wire: "the reply follows later". One deferred request at a time per dispatcher.
export const STATUS_DEFERRED = -1;
export const DEFERRED: CommandResult = { status: STATUS_DEFERRED };
export const DEFERRED_REPLY: HandlerReply = { status: STATUS_DEFERRED, body: "" };
// The BUSY detail while a deferred reply waits (from PAY itself and from CHANNEL_MESSAGE).
export const PAY_WAITS = "PAY waits";

// Completes a deferred request, always from a later event (a button or timer callback), never from
// inside run(). null: the request was abandoned (channel reopened, carrier wiped); nothing is sent.
export type LateResult = (result: CommandResult | null) => void;
export type LateReply = (reply: HandlerReply | null) => void;

export interface Command {
  id: number;
  // Bit (1 << state) set for every device state in which the command may run.
  allowedStates: number;
  // Highest request field the command takes, when the dispatcher checks them: a body with key 0 or
  // a key above it is BAD_ARGUMENT before run() (PROTOCOL.md §5: unknown fields are refused).
  fields?: number;
  // body is the request's canonical CBOR, already decoded into args. A command that returns
  // DEFERRED must later call late() exactly once.
  run(args: CborMap, body: string, late: LateResult): CommandResult;
  // A hot command's own reader of its usual request layout, tried before the generic decoder:
  // undefined when the body is not in that layout, and run() then takes it (same values, same
  // refusals). Saves the decoder's statements (~60 ms of PAY on the board). Wrappers that replace
  // run() (main.ts) must not be used on a command that has one.
  runRaw?(body: string, late: LateResult): CommandResult | undefined;
}

export function ok(value: CborMap): CommandResult {
  return { status: STATUS_OK, value: value };
}

export function okRaw(raw: string): CommandResult {
  return { status: STATUS_OK, raw: raw };
}

// The run() of a command whose own reader (runRaw) takes every valid body: the dispatcher decoded
// what the reader refused, so it is well-formed CBOR but not a valid request. One module-level
// function for all of them (each function instance a factory makes costs the board 6-9 vars).
export function badFields(): CommandResult {
  return { status: STATUS_BAD_ARGUMENT, detail: "bad or missing fields" };
}

// fields: extra error-body fields next to the detail (PAY's PIN_WRONG: {2: tries left}).
export function refuse(status: number, detail: string, fields?: CborMap): CommandResult {
  return { status: status, detail: detail, fields: fields };
}

// Whether args has a key outside 1..highest (map keys are unsigned integers, §5). args comes from
// decode(), which refuses keys that are not strictly ascending and inserts them in that order, and
// Object.keys keeps it (insertion order on Espruino, ascending integer keys in Node): the first and
// last keys are the smallest and the largest, so two reads replace a loop over every field.
export function fieldOutside(args: CborMap, highest: number): boolean {
  const names = Object.keys(args);
  return names.length > 0 && (+names[0]! < 1 || +names[names.length - 1]! > highest);
}

// A byte string of min..max bytes, else undefined.
export function bytesArg(v: CborValue | undefined, min: number, max: number): string | undefined {
  return typeof v === "string" && v.length >= min && v.length <= max ? v : undefined;
}

// An integer min..2^53-1, else undefined.
export function uintArg(v: CborValue | undefined, min: number): number | undefined {
  return typeof v === "number" && v >= min && v <= MAX_SAFE_INTEGER && Math.floor(v) === v ? v : undefined;
}

// The text of a text-string argument, else undefined.
export function textArg(v: CborValue | undefined): string | undefined {
  return v !== undefined && v !== null && isText(v) ? v.tstr : undefined;
}

// fields (if any) is the error body itself; the detail goes in as field 1 (the encoder sorts keys).
export function errorReply(status: number, detail: string, fields?: CborMap): HandlerReply {
  const m: CborMap = fields || {};
  m[ERROR_FIELD_DETAIL] = text(detail);
  return { status: status, body: encode(m) };
}

// Canonical CBOR of {} (PROTOCOL.md §5).
const EMPTY_MAP = "\xa0";
const MAX_SAFE_INTEGER = 9007199254740991;

// late receives the reply of a request answered DEFERRED_REPLY (callers that never defer omit it).
export type Dispatcher = (command: number, body: string, late?: LateReply) => HandlerReply;

export function createDispatcher(commands: Command[], currentState: () => number): Dispatcher {
  const byId: { [id: number]: Command } = {};
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i]!;
    if (!(c.id >= 1 && c.id <= 255) || byId[c.id] !== undefined) {
      raise("dispatch: bad or duplicate id " + c.id);
    }
    byId[c.id] = c;
  }
  const internalFallback = errorReply(STATUS_INTERNAL, "internal error");

  function replyOf(result: CommandResult): HandlerReply {
    if (result.status !== STATUS_OK) return errorReply(result.status, result.detail || "", result.fields);
    const out = result.raw !== undefined ? result.raw : encode(result.value || {});
    if (out.length > MAX_BODY) return errorReply(STATUS_TOO_LARGE, "response over " + MAX_BODY + " B");
    return { status: STATUS_OK, body: out };
  }

  // The one deferred request (set only after its run() returned DEFERRED); one shared function is
  // handed to every run(), so no closure is allocated per request.
  let deferredSink: LateReply | null = null;
  function lateResult(result: CommandResult | null): void {
    const sink = deferredSink;
    if (sink === null) return; // nothing deferred (or already completed)
    deferredSink = null;
    let reply: HandlerReply | null = null;
    if (result !== null) {
      try {
        reply = replyOf(result);
      } catch (e) {
        reply = internalFallback;
      }
    }
    sink(reply);
  }

  // One flat function: each JS statement costs ~0.2 ms and each call ~0.3 ms on the board.
  return function (command: number, body: string, late?: LateReply): HandlerReply {
    try {
      const c = byId[command];
      if (c === undefined) return errorReply(STATUS_UNKNOWN_COMMAND, "unknown command");
      const state = currentState();
      // The host names the command in its own message: the detail only says which state refused it.
      if ((c.allowedStates & (1 << state)) === 0) return errorReply(STATUS_NOT_ALLOWED_IN_STATE, "state " + state);
      let result: CommandResult | undefined;
      // one statement on the way for commands without their own reader (INFO, PING, ...)
      if (c.runRaw === undefined || (result = c.runRaw(body, lateResult)) === undefined) {
        let args: CborMap;
        // The canonical empty map needs no decoder run (INFO and every argument-less command).
        if (body === EMPTY_MAP) args = {};
        else {
          const decoded = decode(body);
          if (!decoded.ok) return errorReply(decoded.status, decoded.reason);
          // A well-formed body is a map exactly when its first byte has major type 5.
          if ((body.charCodeAt(0) & 0xe0) !== 0xa0) return errorReply(STATUS_BAD_ARGUMENT, "body must be a map");
          args = decoded.value as CborMap;
          if (c.fields !== undefined && fieldOutside(args, c.fields)) return errorReply(STATUS_BAD_ARGUMENT, "unknown field");
        }
        result = c.run(args, body, lateResult);
      }
      if (result.status === STATUS_DEFERRED) {
        deferredSink = late || null;
        return DEFERRED_REPLY;
      }
      return replyOf(result);
    } catch (e) {
      try {
        return errorReply(STATUS_INTERNAL, describeThrown(e));
      } catch (e2) {
        return internalFallback;
      }
    }
  };
}

// A short, byte-safe description of whatever was thrown (Espruino errors have .message, no .name).
function describeThrown(e: unknown): string {
  // Errors carry .message, store/codec failures .reason; anything else is shown as itself.
  const o = e as { message?: unknown; reason?: unknown };
  const message = e !== null && e !== undefined && (o.message || o.reason) || e;
  return String(message).substr(0, 60);
}
