// The platform end of the secure channel (docs/CHANNEL.md). Transport-agnostic: it produces the
// CBOR bodies of CHANNEL_OPEN / CHANNEL_CONFIRM / CHANNEL_MESSAGE requests and checks the carrier's
// answers; whoever relays the frames (the untrusted host) sees only these bodies.
import { ctr, ecb } from "@noble/ciphers/aes.js";
import { randomBytes } from "node:crypto";
import { concatBytes, constantTimeEqual, hmacSha256 } from "./keys.ts";

// One source for the wire constants: the firmware's module is plain TypeScript, so both ends share it.
import {
  CHANNEL_VERSION, DIRECTION_TO_CARRIER, DIRECTION_TO_PLATFORM, MAX_SEALED_BYTES, NONCE_BYTES,
  PROOF_BYTES, PROTOCOL_MAJOR_BOUND as PROTOCOL_MAJOR, SEALED_FORMAT, SEALED_HEADER_BYTES, TAG_BYTES,
} from "../../../firmware/src/channel/constants.ts";
export {
  CMD_CHANNEL_CLOSE, CMD_CHANNEL_CONFIRM, CMD_CHANNEL_MESSAGE, CMD_CHANNEL_OPEN, DIRECTION_TO_CARRIER,
  DIRECTION_TO_PLATFORM, MAX_SEALED_BYTES, NONCE_BYTES, PROOF_BYTES, SEALED_HEADER_BYTES,
  STATUS_CHANNEL_AUTH_FAILED, STATUS_CHANNEL_BAD_COUNTER, STATUS_CHANNEL_BAD_MAC, STATUS_CHANNEL_NOT_OPEN, TAG_BYTES,
} from "../../../firmware/src/channel/constants.ts";
export const MAX_PLAINTEXT_BYTES = MAX_SEALED_BYTES - SEALED_HEADER_BYTES - TAG_BYTES;
const MAX_COUNTER = 0xffffffff;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u32 = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };

export class ChannelError extends Error {
  constructor(readonly reason: "auth-failed" | "bad-mac" | "bad-counter" | "bad-format" | "not-open", message: string) {
    super(message);
    this.name = "ChannelError";
  }
}

export function channelTranscript(carrierId: Uint8Array, platformId: Uint8Array, platformNonce: Uint8Array, carrierNonce: Uint8Array): Uint8Array {
  return concatBytes(ascii("KCT1"), Uint8Array.of(PROTOCOL_MAJOR, CHANNEL_VERSION, carrierId.length), carrierId,
    Uint8Array.of(platformId.length), platformId, platformNonce, carrierNonce);
}

export interface SessionKeys { encKey: Uint8Array; macKey: Uint8Array; carrierProof: Uint8Array; platformProof: Uint8Array }

export function deriveSessionKeys(channelKey: Uint8Array, transcript: Uint8Array): SessionKeys {
  const prf = (purpose: number) => hmacSha256(channelKey, concatBytes(Uint8Array.of(purpose), transcript));
  return {
    encKey: prf(1).slice(0, 16),
    macKey: prf(2),
    carrierProof: prf(3).slice(0, PROOF_BYTES),
    platformProof: prf(4).slice(0, PROOF_BYTES),
  };
}

export function messageKey(encKey: Uint8Array, direction: number, counter: number): Uint8Array {
  return ecb(encKey, { disablePadding: true }).encrypt(concatBytes(ascii("KCM1"), Uint8Array.of(direction, 0, 0, 0, 0, 0, 0, 0), u32(counter)));
}

/** header ‖ AES-CTR(counter from 0, per-message key)(plaintext) ‖ HMAC-SHA256(K_mac, header ‖ ciphertext)[0:16] */
export function sealMessage(keys: { encKey: Uint8Array; macKey: Uint8Array }, direction: number, counter: number, plaintext: Uint8Array): Uint8Array {
  if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`channel plaintext must be 1-${MAX_PLAINTEXT_BYTES} bytes, got ${plaintext.length}`);
  const headerAndCiphertext = concatBytes(Uint8Array.of(SEALED_FORMAT, direction), u32(counter),
    ctr(messageKey(keys.encKey, direction, counter), new Uint8Array(16)).encrypt(plaintext));
  return concatBytes(headerAndCiphertext, hmacSha256(keys.macKey, headerAndCiphertext).slice(0, TAG_BYTES));
}

export function openMessage(keys: { encKey: Uint8Array; macKey: Uint8Array }, direction: number, expectedCounter: number, sealed: Uint8Array): Uint8Array {
  if (sealed.length <= SEALED_HEADER_BYTES + TAG_BYTES || sealed.length > MAX_SEALED_BYTES) {
    throw new ChannelError("bad-format", `sealed message of ${sealed.length} bytes is outside ${SEALED_HEADER_BYTES + TAG_BYTES + 1}-${MAX_SEALED_BYTES}`);
  }
  const body = sealed.subarray(0, sealed.length - TAG_BYTES);
  if (!constantTimeEqual(hmacSha256(keys.macKey, body).subarray(0, TAG_BYTES), sealed.subarray(sealed.length - TAG_BYTES))) {
    throw new ChannelError("bad-mac", "message authentication failed: altered in transit or not from this session");
  }
  const counter = new DataView(sealed.buffer, sealed.byteOffset).getUint32(2);
  if (sealed[0] !== SEALED_FORMAT || sealed[1] !== direction) throw new ChannelError("bad-format", "sealed message has the wrong format or direction");
  if (counter !== expectedCounter) throw new ChannelError("bad-counter", `counter ${counter} but expected ${expectedCounter}: replayed or reordered`);
  return ctr(messageKey(keys.encKey, direction, counter), new Uint8Array(16)).decrypt(body.subarray(SEALED_HEADER_BYTES));
}

export interface PlatformChannelOptions {
  channelKey: Uint8Array;   // from diversifyCarrierKeys() for the carrier expected on this link
  carrierId: Uint8Array;    // the carrier the platform means to talk to
  platformId: Uint8Array;   // as personalised into the carrier
  random?: (n: number) => Uint8Array; // test seam; defaults to node:crypto randomBytes
}

export interface OpenResponse { carrierId: Uint8Array; carrierNonce: Uint8Array; carrierProof: Uint8Array }

/**
 * Platform side state machine: begin() → (relay CHANNEL_OPEN) → accept(response) → (relay
 * CHANNEL_CONFIRM) → seal()/open() per message. Any authentication failure throws a ChannelError
 * and the session is unusable; start again with a new PlatformChannel.
 */
export class PlatformChannel {
  private platformNonce?: Uint8Array;
  private keys?: SessionKeys;
  private txCounter = 0;

  /** The counter the next sealed request will carry (a PIN verdict is bound to it, PROTOCOL.md §7.5). */
  get nextCounter(): number {
    return this.txCounter;
  }
  private awaiting = -1;
  private broken = false;

  constructor(private readonly opts: PlatformChannelOptions) {
    if (opts.channelKey.length !== 32) throw new RangeError(`channelKey must be 32 bytes, got ${opts.channelKey.length}`);
    for (const [name, id] of [["carrierId", opts.carrierId], ["platformId", opts.platformId]] as const) {
      if (id.length < 4 || id.length > 32) throw new RangeError(`${name} must be 4-32 bytes, got ${id.length}`);
    }
  }

  /** Platform nonce for the CHANNEL_OPEN request {1: nonce}. */
  begin(): Uint8Array {
    this.platformNonce = (this.opts.random ?? randomBytes)(NONCE_BYTES).slice();
    this.keys = undefined;
    return this.platformNonce;
  }

  /** Checks the carrier's proof; returns the platform proof for CHANNEL_CONFIRM {1: proof}. */
  accept(r: OpenResponse): Uint8Array {
    if (!this.platformNonce) throw new ChannelError("not-open", "accept() before begin()");
    const nonce = this.platformNonce;
    this.platformNonce = undefined; // one answer per nonce
    if (!constantTimeEqual(r.carrierId, this.opts.carrierId)) throw this.fail("auth-failed", "CHANNEL_OPEN answered by a different carrier id");
    if (r.carrierNonce.length !== NONCE_BYTES) throw this.fail("auth-failed", `carrier nonce must be ${NONCE_BYTES} bytes`);
    const keys = deriveSessionKeys(this.opts.channelKey, channelTranscript(this.opts.carrierId, this.opts.platformId, nonce, r.carrierNonce));
    if (!constantTimeEqual(keys.carrierProof, r.carrierProof)) throw this.fail("auth-failed", "carrier proof wrong: not the carrier we hold keys for, or the nonces were altered");
    this.keys = keys;
    this.txCounter = 0;
    this.awaiting = -1;
    this.broken = false;
    return keys.platformProof;
  }

  /** Seals one inner request: command id ‖ CBOR body. */
  seal(plaintext: Uint8Array): Uint8Array {
    const keys = this.ready();
    if (this.awaiting >= 0) throw new ChannelError("not-open", "stop-and-wait: open() the reply to the previous message first");
    if (this.txCounter > MAX_COUNTER) throw new ChannelError("not-open", "counter exhausted: open a new session");
    const sealed = sealMessage(keys, DIRECTION_TO_CARRIER, this.txCounter, plaintext);
    this.awaiting = this.txCounter++;
    return sealed;
  }

  /** Opens the carrier's sealed reply to the last sealed request: status ‖ CBOR body. */
  open(sealed: Uint8Array): Uint8Array {
    const keys = this.ready();
    if (this.awaiting < 0) throw new ChannelError("bad-counter", "no request outstanding: an unsolicited or replayed reply");
    const plaintext = openMessage(keys, DIRECTION_TO_PLATFORM, this.awaiting, sealed);
    this.awaiting = -1;
    return plaintext;
  }

  get isOpen(): boolean {
    return this.keys !== undefined && !this.broken;
  }

  close(): void {
    this.keys = undefined;
    this.platformNonce = undefined;
  }

  private ready(): SessionKeys {
    if (!this.keys || this.broken) throw new ChannelError("not-open", "no open channel session: begin() and accept() first");
    return this.keys;
  }

  private fail(reason: ChannelError["reason"], message: string): ChannelError {
    this.keys = undefined;
    this.broken = true;
    return new ChannelError(reason, message);
  }
}
