import { describe, expect, it } from "vitest";
import { createDispatcher, ok, refuse, type Command } from "../../src/dispatch.ts";
import { decode, encode, text, isText, type CborMap } from "../../src/codec.ts";
import { createInfoCommand } from "../../src/commands/info.ts";
import { createPingCommand } from "../../src/commands/ping.ts";
import {
  STATE_BLANK, STATE_DESTROYED, STATE_LOCKED, STATE_PERSONALISED, STATUS_BAD_ARGUMENT, STATUS_BAD_CBOR, STATUS_INTERNAL,
  STATUS_NOT_ALLOWED_IN_STATE, STATUS_OK, STATUS_TOO_LARGE, STATUS_UNKNOWN_COMMAND,
} from "../../src/protocol.ts";

const ALL_STATES = [STATE_BLANK, STATE_PERSONALISED, STATE_LOCKED, STATE_DESTROYED];

function detailOf(body: string): string {
  const r = decode(body);
  if (!r.ok) throw new Error("error body is not CBOR: " + r.reason);
  const d = (r.value as CborMap)[1];
  if (d === undefined || !isText(d)) throw new Error("error body has no text detail");
  return d.tstr;
}

describe("dispatch permissions per state", () => {
  let executed = 0;
  const blankOnly: Command = { id: 0x7a, allowedStates: 1 << STATE_BLANK, run: () => { executed++; return ok({}); } };
  let state = STATE_BLANK;
  const dispatch = createDispatcher([blankOnly, createPingCommand()], () => state);

  for (const s of ALL_STATES) {
    it(`state ${s}: BLANK-only command ${s === STATE_BLANK ? "runs" : "is refused without running"}; PING always runs`, () => {
      state = s;
      executed = 0;
      const r = dispatch(0x7a, "\xa0");
      expect(r.status).toBe(s === STATE_BLANK ? STATUS_OK : STATUS_NOT_ALLOWED_IN_STATE);
      expect(executed).toBe(s === STATE_BLANK ? 1 : 0);
      // the host names the command itself; the detail says which state refused it
      if (s !== STATE_BLANK) expect(detailOf(r.body)).toBe(`state ${s}`);
      expect(dispatch(0x02, "\xa1\x01\x41z").status).toBe(STATUS_OK);
    });
  }

  it("checks the state before decoding the body", () => {
    state = STATE_DESTROYED;
    expect(dispatch(0x7a, "\xff\xff").status).toBe(STATUS_NOT_ALLOWED_IN_STATE);
    state = STATE_BLANK;
    expect(dispatch(0x7a, "\xff\xff").status).toBe(STATUS_BAD_CBOR);
  });
});

describe("dispatch errors", () => {
  const throwing: Command = { id: 0x70, allowedStates: 0xf, run: () => { throw new Error("kaboom"); } };
  const throwsPlain: Command = { id: 0x71, allowedStates: 0xf, run: () => { throw "a string"; } };
  const unencodable: Command = { id: 0x72, allowedStates: 0xf, run: () => ok({ 1: 1.5 }) };
  const huge: Command = { id: 0x73, allowedStates: 0xf, run: () => ok({ 1: "x".repeat(600) }) };
  const refusing: Command = { id: 0x74, allowedStates: 0xf, run: () => refuse(0x21, "reserved storage status") };
  const dispatch = createDispatcher([throwing, throwsPlain, unencodable, huge, refusing], () => STATE_BLANK);

  it("unknown and zero command ids", () => {
    expect(dispatch(0x00, "\xa0").status).toBe(STATUS_UNKNOWN_COMMAND);
    expect(dispatch(0xff, "\xa0").status).toBe(STATUS_UNKNOWN_COMMAND);
  });
  it("a throwing handler becomes INTERNAL with the message", () => {
    const r = dispatch(0x70, "\xa0");
    expect(r.status).toBe(STATUS_INTERNAL);
    expect(detailOf(r.body)).toContain("kaboom");
    expect(dispatch(0x71, "\xa0").status).toBe(STATUS_INTERNAL);
  });
  it("an unencodable result becomes INTERNAL", () => expect(dispatch(0x72, "\xa0").status).toBe(STATUS_INTERNAL));
  it("a result over MAX_BODY becomes TOO_LARGE", () => expect(dispatch(0x73, "\xa0").status).toBe(STATUS_TOO_LARGE));
  it("a handler's own status passes through with its detail", () => {
    const r = dispatch(0x74, "\xa0");
    expect(r.status).toBe(0x21);
    expect(detailOf(r.body)).toBe("reserved storage status");
  });
  it("a non-map body is BAD_ARGUMENT, malformed CBOR is BAD_CBOR", () => {
    expect(dispatch(0x74, "\x80").status).toBe(STATUS_BAD_ARGUMENT);
    expect(dispatch(0x74, "").status).toBe(STATUS_BAD_CBOR);
    expect(dispatch(0x74, "\xa2\x02\x00\x01\x00").status).toBe(STATUS_BAD_CBOR);
  });
  it("refuses a command table with duplicate ids", () => {
    expect(() => createDispatcher([refusing, refusing], () => 0)).toThrow(/duplicate id/);
  });
});

describe("INFO and PING", () => {
  let state = STATE_BLANK;
  const dispatch = createDispatcher([
    createInfoCommand({ firmwareVersion: "9.8.7", board: () => "PICO_R1_3", serial: () => "33ff-0001", state: () => state, capabilities: () => 0x0d, storageFree: () => 49152 }),
    createPingCommand(),
  ], () => state);

  it("INFO reports every field of PROTOCOL.md §7.1 in every state", () => {
    for (const s of ALL_STATES) {
      state = s;
      const r = dispatch(0x01, "\xa0");
      expect(r.status).toBe(STATUS_OK);
      const d = decode(r.body);
      expect(d.ok && d.value).toEqual({ 1: text("9.8.7"), 2: [1, 0], 3: text("PICO_R1_3"), 4: text("33ff-0001"), 5: s, 6: 0x0d, 7: 49152, 8: 512 });
    }
  });
  it("INFO refuses fields", () => expect(dispatch(0x01, encode({ 1: 1 })).status).toBe(STATUS_BAD_ARGUMENT));

  it("PING echoes 0, 1 and 500 bytes of every value; refuses 501", () => {
    let all = "";
    for (let i = 0; i < 500; i++) all += String.fromCharCode(i & 255);
    for (const data of ["", "\x00", all]) {
      const r = dispatch(0x02, encode({ 1: data }));
      expect(r.status).toBe(STATUS_OK);
      expect(r.body).toBe(encode({ 1: data }));
    }
    expect(dispatch(0x02, encode({ 1: all + "x" })).status).toBe(STATUS_TOO_LARGE);
  });
  it("PING refuses a missing, text or extra field", () => {
    expect(dispatch(0x02, "\xa0").status).toBe(STATUS_BAD_ARGUMENT);
    expect(dispatch(0x02, encode({ 1: text("hi") })).status).toBe(STATUS_BAD_ARGUMENT);
    expect(dispatch(0x02, encode({ 1: "hi", 2: 0 })).status).toBe(STATUS_BAD_ARGUMENT);
  });
});
