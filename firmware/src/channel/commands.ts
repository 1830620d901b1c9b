// The channel's outer commands (PROTOCOL.md §7.3): CHANNEL_OPEN, CHANNEL_CONFIRM, CHANNEL_MESSAGE,
// CHANNEL_CLOSE. CHANNEL_MESSAGE unwraps an inner request (command id ‖ CBOR body), hands it to the
// inner dispatcher (the commands that only run inside the channel: payments, personalisation)
// and seals its reply (status ‖ CBOR body) under the same counter.
// A deferred inner reply (PAY waits for the user, PROTOCOL.md §7.5) is sealed when it comes, under
// the counter of the request it answers: while it waits no other CHANNEL_MESSAGE is unwrapped (BUSY,
// the channel's counters untouched), and OPEN/CONFIRM/CLOSE abandon it first (`abandon`), so a
// late reply can never be sealed into another session.
import {
  badFields, DEFERRED, errorReply, fieldOutside, okRaw, PAY_WAITS, refuse, STATUS_DEFERRED, type Command,
  type CommandResult, type Dispatcher, type LateResult,
} from "../dispatch.ts";
import { bytesItem, singleBytes, type CborMap } from "../codec.ts";
import { ALL_STATES_MASK, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_INTERNAL, STATUS_TOO_LARGE } from "../protocol.ts";
import type { CarrierChannel } from "./channel.ts";
import type { HandlerReply } from "../link.ts";
import {
  CMD_CHANNEL_CLOSE, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_MESSAGE, CMD_CHANNEL_OPEN, MAX_PLAINTEXT_BYTES, MAX_SEALED_BYTES,
  NONCE_BYTES, PROOF_BYTES, STATUS_CHANNEL_NOT_OPEN,
} from "./constants.ts";
import { chr } from "../store/bytes.ts";

// Every state: a blank or DESTROYED carrier talks through its transport key (personalisation,
// main.ts), a personalised one through its own.
const EMPTY_MAP = "\xa0";

// Canonical {1: bstr} for up to 65535 bytes, without the generic encoder (each JS statement costs
// ~0.2 ms on the board). Replies are at least 24 bytes sealed (status + a CBOR body), but the short
// form is kept canonical anyway.
export function sealedBody(sealed: string): string {
  const n = sealed.length;
  if (n < 24) return "\xa1\x01" + chr(0x40 + n) + sealed;
  return (n < 256 ? "\xa1\x01\x58" + chr(n) : "\xa1\x01\x59" + chr(n >> 8, n & 255)) + sealed;
}

// afterReply runs after every sealed reply, at once or late (main.ts closes a session that must not
// outlive it). abandon drops the inner request whose reply is deferred (the payment applet's
// cancel): it completes it with late(null), or not at all. Plain parameters, not an options object:
// parameter names are minified, property names are not.
export function createChannelCommands(channel: CarrierChannel, inner: Dispatcher, afterReply?: () => void, abandon?: () => void): Command[] {
  // The outer completion of the CHANNEL_MESSAGE whose inner reply is deferred; null: none waits.
  let deferredOuter: LateResult | null = null;

  function seal(reply: HandlerReply): string {
    let answer = chr(reply.status) + reply.body;
    if (answer.length > MAX_PLAINTEXT_BYTES) {
      const tooLarge = errorReply(STATUS_TOO_LARGE, "reply over " + MAX_PLAINTEXT_BYTES + " B");
      answer = chr(tooLarge.status) + tooLarge.body;
    }
    return sealedBody(channel.wrap(answer));
  }

  // The inner dispatcher's late reply: sealed under the waiting request's counter, if the session
  // it was accepted in is still the open one.
  function innerLate(reply: HandlerReply | null): void {
    const outer = deferredOuter;
    deferredOuter = null;
    if (outer === null) return;
    if (reply === null) {
      outer(null);
      return;
    }
    if (!channel.isOpen()) {
      // Only the 15-minute session lifetime can end it here (OPEN/CONFIRM/CLOSE abandon first).
      outer(refuse(STATUS_CHANNEL_NOT_OPEN, "session ended during PAY"));
      return;
    }
    let sealed: string;
    try {
      sealed = seal(reply);
    } catch (e) {
      outer(refuse(STATUS_INTERNAL, "seal failed"));
      return;
    }
    outer(okRaw(sealed));
    if (afterReply !== undefined) afterReply();
  }

  // OPEN, CONFIRM and CLOSE change the session: a reply still waiting for the user is dropped.
  function abandonDeferred(): void {
    if (deferredOuter === null) return;
    if (abandon !== undefined) abandon();
    // if the hook did not complete it, drop it here
    const outer = deferredOuter;
    deferredOuter = null;
    if (outer !== null) outer(null);
  }

  function message(sealed: string, late: LateResult): CommandResult {
    if (sealed.length > MAX_SEALED_BYTES) return refuse(STATUS_TOO_LARGE, "over " + MAX_SEALED_BYTES + " B");
    // Not unwrapped while a reply waits: its counter is the one the late reply is sealed under.
    if (deferredOuter !== null) return refuse(STATUS_BUSY, PAY_WAITS);
    const r = channel.unwrap(sealed);
    if (r.status !== 0) return r;
    const plaintext = r.plaintext!;
    const reply = inner(plaintext.charCodeAt(0), plaintext.substr(1), innerLate);
    if (reply.status === STATUS_DEFERRED) {
      deferredOuter = late;
      return DEFERRED;
    }
    const out = okRaw(seal(reply));
    if (afterReply !== undefined) afterReply();
    return out;
  }

  function open(nonce: string): CommandResult {
    abandonDeferred();
    const r = channel.open(nonce);
    if (r.status !== 0) return r;
    // {1: carrier id, 2: carrier nonce (16 B), 3: carrier proof (16 B)}, spliced as canonical CBOR
    // (keys ascending, shortest heads) without the generic encoder's statements.
    return okRaw("\xa3\x01" + bytesItem(r.carrierId!) + "\x02\x50" + r.carrierNonce! + "\x03\x50" + r.carrierProof!);
  }

  return [
    {
      // OPEN and CONFIRM read their canonical {1: 16 bytes} by its head (codec.ts singleBytes); any
      // other body takes the generic decoder and run(), which refuses it as before.
      id: CMD_CHANNEL_OPEN, allowedStates: ALL_STATES_MASK,
      runRaw: function (body: string) {
        const nonce = singleBytes(body);
        return nonce === undefined || nonce.length !== NONCE_BYTES ? undefined : open(nonce);
      },
      run: function () {
        abandonDeferred();
        return refuse(STATUS_BAD_ARGUMENT, "bad nonce");
      },
    },
    {
      id: CMD_CHANNEL_CONFIRM, allowedStates: ALL_STATES_MASK,
      runRaw: function (body: string) {
        const proof = singleBytes(body);
        if (proof === undefined || proof.length !== PROOF_BYTES) return undefined;
        abandonDeferred();
        const r = channel.confirm(proof);
        return r.status !== 0 ? r : okRaw(EMPTY_MAP);
      },
      run: function () {
        abandonDeferred();
        channel.close();
        return refuse(STATUS_BAD_ARGUMENT, "bad proof");
      },
    },
    {
      id: CMD_CHANNEL_MESSAGE, allowedStates: ALL_STATES_MASK,
      // The canonical {1: bstr} is read by its head alone (codec.ts singleBytes).
      runRaw: function (body: string, late: LateResult) {
        const sealed = singleBytes(body);
        return sealed === undefined ? undefined : message(sealed, late);
      },
      // Only bodies runRaw() refused get here, once the dispatcher decoded them: well-formed CBOR
      // that is not {1: bstr} (the decoder accepts canonical forms only, which singleBytes reads).
      run: badFields,
    },
    {
      id: CMD_CHANNEL_CLOSE, allowedStates: ALL_STATES_MASK,
      run: function (args: CborMap) {
        abandonDeferred();
        channel.close();
        return fieldOutside(args, 0) ? refuse(STATUS_BAD_ARGUMENT, "unknown field") : okRaw(EMPTY_MAP);
      },
    },
  ];
}
