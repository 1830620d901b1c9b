// The carrier end of the secure channel (docs/CHANNEL.md): mutual authentication by challenge and
// response, fresh session keys per session, and sealed messages with strict per-direction counters.
// Per message only native calls do byte work: two SHA-256 calls (HMAC with pads precomputed per
// session) and one AES-CTR pass each way, plus one AES-ECB call on receive that derives both the
// request's and the reply's per-message keys and blinds both tags, so `===` compares values an
// attacker cannot predict (docs/CHANNEL.md §8: a native call costs ~2-3 ms on the board, and each
// result needs another E.toString).
import { hmacPads, hmacSha256, readU32be, type CryptoPrimitives, type HmacPads } from "../crypto/primitives.ts";
import {
  CHANNEL_VERSION, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_LIFETIME_MS, DEFAULT_MAX_REJECTED_FRAMES, DIRECTION_TO_CARRIER,
  DIRECTION_TO_PLATFORM, MAX_COUNTER, MAX_PLAINTEXT_BYTES, MAX_SEALED_BYTES, MESSAGE_KEY_MAGIC,
  NONCE_BYTES, PROOF_BYTES, PROTOCOL_MAJOR_BOUND, PURPOSE_CARRIER_PROOF, PURPOSE_PLATFORM_PROOF, PURPOSE_SESSION_ENC,
  PURPOSE_SESSION_MAC, SEALED_FORMAT, SEALED_HEADER_BYTES, SESSION_ENC_KEY_BYTES,
  STATUS_CHANNEL_AUTH_FAILED, STATUS_CHANNEL_BAD_COUNTER, STATUS_CHANNEL_BAD_MAC, STATUS_CHANNEL_NOT_OPEN, TAG_BYTES,
  TRANSCRIPT_MAGIC,
} from "./constants.ts";
import { chr } from "../store/bytes.ts";
import { raise } from "../raise.ts";

/** What personalisation installed (or the transport identity of a blank carrier). Byte strings. */
export interface ChannelIdentity {
  carrierId: string;   // 4-32 bytes
  platformId: string;  // 4-32 bytes: the platform this carrier trusts
  channelKey: string;  // 32 bytes, diversified by the issuer (host/src/channel/keys.ts)
}

export interface CarrierChannelOptions {
  now(): number; // milliseconds, monotonic enough for timeouts
  idleTimeoutMs?: number;
  lifetimeMs?: number;
  maxRejectedFrames?: number;
}

// status 0 means success; otherwise a PROTOCOL.md status code and a short reason.
export interface ChannelResult { status: number; detail?: string }
export interface OpenResult extends ChannelResult { carrierId?: string; carrierNonce?: string; carrierProof?: string }
export interface UnwrapResult extends ChannelResult { plaintext?: string }

export interface CarrierChannel {
  open(platformNonce: string): OpenResult;
  confirm(platformProof: string): ChannelResult;
  unwrap(sealed: string): UnwrapResult;
  /** Seals the answer to the request unwrap() last accepted (same counter, other direction). */
  wrap(plaintext: string): string;
  close(): void;
  isOpen(): boolean;
  /** The carrier nonce of the open, confirmed session ‖ the u32be counter of the request unwrap()
   *  accepted last ("" when no session): a PIN verdict is bound to it (PROTOCOL.md §7.5). For the
   *  handler of that request, so it reads no clock (the session was live a moment ago). */
  requestBinding(): string;
}

export const CHANNEL_OK: ChannelResult = { status: 0 };

interface Session {
  encKey: string;
  macPads: HmacPads;
  expectedPlatformProof: string; // until confirmed
  confirmed: boolean;
  rxCounter: number;   // next expected platform→carrier counter
  replyCounter: number; // counter of the accepted request awaiting its reply, -1 if none
  counterBytes: string; // u32be of the request unwrap() accepted last (its reply's header takes them)
  replyKey: string;     // K_msg of that reply, derived in the request's ECB call
  rejected: number;
  openedAt: number;
  lastUsed: number;
  carrierNonce: string;
}

function fail(status: number, detail: string): ChannelResult {
  return { status: status, detail: detail };
}

/** T = "KCT1" ‖ major ‖ channel version ‖ len‖carrierId ‖ len‖platformId ‖ Np ‖ Nc (§3). */
export function channelTranscript(carrierId: string, platformId: string, platformNonce: string, carrierNonce: string): string {
  return TRANSCRIPT_MAGIC + chr(PROTOCOL_MAJOR_BOUND, CHANNEL_VERSION, carrierId.length) + carrierId +
    chr(platformId.length) + platformId + platformNonce + carrierNonce;
}

/** The first 12 bytes of the block AES-ECB(K_enc) turns into the per-message key (§4); the
 *  big-endian counter completes it. */
function messageKeyPrefix(direction: number): string {
  return MESSAGE_KEY_MAGIC + chr(direction, 0, 0, 0, 0, 0, 0, 0);
}

// Built once: per message only the 4 counter bytes are appended.
const TO_CARRIER_KEY_PREFIX = messageKeyPrefix(DIRECTION_TO_CARRIER);
const TO_PLATFORM_KEY_PREFIX = messageKeyPrefix(DIRECTION_TO_PLATFORM);
// A reply's first two header bytes; the request's counter bytes follow.
const REPLY_FORMAT = chr(SEALED_FORMAT, DIRECTION_TO_PLATFORM);

export function createCarrierChannel(
  prims: CryptoPrimitives, identity: () => ChannelIdentity | undefined, opts: CarrierChannelOptions,
): CarrierChannel {
  const idleTimeoutMs = opts.idleTimeoutMs || DEFAULT_IDLE_TIMEOUT_MS;
  const lifetimeMs = opts.lifetimeMs || DEFAULT_LIFETIME_MS;
  const maxRejected = opts.maxRejectedFrames || DEFAULT_MAX_REJECTED_FRAMES;
  let session: Session | undefined;
  // The clock as live() last read it: unwrap stamps the session with it instead of reading again.
  let checkedAt = 0;
  // Pads of the static key: one hmacPads loop per boot (per key), not per session.
  let staticKey = "";
  let staticPads: HmacPads | undefined;

  function padsOf(key: string): HmacPads {
    if (staticPads === undefined || key !== staticKey) {
      staticPads = hmacPads(key);
      staticKey = key;
    }
    return staticPads;
  }

  function live(): Session | undefined {
    if (session !== undefined) {
      const t = checkedAt = opts.now();
      if (t - session.lastUsed > idleTimeoutMs || t - session.openedAt > lifetimeMs) session = undefined;
    }
    return session;
  }

  function reject(s: Session, status: number, detail: string): UnwrapResult {
    s.rejected++;
    if (s.rejected >= maxRejected) {
      session = undefined;
      return fail(status, detail + "; session closed");
    }
    return fail(status, detail);
  }

  return {
    open: function (platformNonce: string): OpenResult {
      // A new OPEN always discards the old session: the host can cut the link anyway.
      session = undefined;
      if (typeof platformNonce !== "string" || platformNonce.length !== NONCE_BYTES) {
        return fail(STATUS_CHANNEL_AUTH_FAILED, "bad platform nonce");
      }
      const id = identity();
      if (id === undefined) return fail(STATUS_CHANNEL_NOT_OPEN, "no channel keys on this carrier");
      // No length checks here: the identity was checked where it entered the carrier (PERSONALISE:
      // ids 4-32 B, K_ch 32 B; PROVISION: K_tr 32 B) or is the carrier's own (the transport id),
      // and a key outside 16-64 B still fails in hmacPads.
      const carrierNonce = prims.random(NONCE_BYTES);
      const t = channelTranscript(id.carrierId, id.platformId, platformNonce, carrierNonce);
      const pads = padsOf(id.channelKey);
      const now = opts.now();
      session = {
        encKey: hmacSha256(prims, pads, PURPOSE_SESSION_ENC + t).substr(0, SESSION_ENC_KEY_BYTES),
        macPads: hmacPads(hmacSha256(prims, pads, PURPOSE_SESSION_MAC + t)),
        expectedPlatformProof: hmacSha256(prims, pads, PURPOSE_PLATFORM_PROOF + t).substr(0, PROOF_BYTES),
        confirmed: false,
        rxCounter: 0,
        replyCounter: -1,
        counterBytes: "",
        replyKey: "",
        rejected: 0,
        openedAt: now,
        lastUsed: now,
        carrierNonce: carrierNonce,
      };
      return {
        status: 0,
        carrierId: id.carrierId,
        carrierNonce: carrierNonce,
        carrierProof: hmacSha256(prims, pads, PURPOSE_CARRIER_PROOF + t).substr(0, PROOF_BYTES),
      };
    },

    confirm: function (platformProof: string): ChannelResult {
      const s = live();
      if (s === undefined || s.confirmed) {
        session = undefined;
        return fail(STATUS_CHANNEL_NOT_OPEN, "no channel handshake");
      }
      // One attempt per handshake: a wrong proof ends it (no online guessing).
      session = undefined;
      if (typeof platformProof !== "string" || platformProof.length !== PROOF_BYTES) {
        return fail(STATUS_CHANNEL_AUTH_FAILED, "bad platform proof");
      }
      const blinded = prims.aesEcb(s.encKey, s.expectedPlatformProof + platformProof);
      if (blinded.substr(0, 16) !== blinded.substr(16, 16)) {
        return fail(STATUS_CHANNEL_AUTH_FAILED, "platform proof wrong");
      }
      s.confirmed = true;
      s.expectedPlatformProof = "";
      s.lastUsed = opts.now();
      session = s;
      return CHANNEL_OK;
    },

    unwrap: function (sealed: string): UnwrapResult {
      const s = live();
      if (s === undefined || !s.confirmed) return fail(STATUS_CHANNEL_NOT_OPEN, "no open channel session");
      const n = sealed.length;
      if (n <= SEALED_HEADER_BYTES + TAG_BYTES || n > MAX_SEALED_BYTES) {
        return reject(s, STATUS_CHANNEL_BAD_MAC, "sealed message of " + n + " bytes");
      }
      const headerAndCiphertext = sealed.substr(0, n - TAG_BYTES);
      // Authenticate before reading anything the header claims (format, direction, counter).
      const tag = hmacSha256(prims, s.macPads, headerAndCiphertext).substr(0, TAG_BYTES);
      const counter = readU32be(sealed, 2);
      // One native call: this message's key, its reply's key (same counter, other direction) and
      // both tags blinded under K_enc. The key blocks take the counter bytes straight from the header.
      const counterBytes = sealed.substr(2, 4);
      const blocks = prims.aesEcb(s.encKey, TO_CARRIER_KEY_PREFIX + counterBytes + TO_PLATFORM_KEY_PREFIX + counterBytes + tag + sealed.substr(n - TAG_BYTES));
      if (blocks.substr(32, 16) !== blocks.substr(48, 16)) return reject(s, STATUS_CHANNEL_BAD_MAC, "message authentication failed");
      if (sealed.charCodeAt(0) !== SEALED_FORMAT || sealed.charCodeAt(1) !== DIRECTION_TO_CARRIER) {
        return reject(s, STATUS_CHANNEL_BAD_MAC, "sealed message malformed");
      }
      if (counter !== s.rxCounter) {
        return reject(s, STATUS_CHANNEL_BAD_COUNTER, "counter " + counter + ", expected " + s.rxCounter);
      }
      s.rxCounter = counter + 1;
      s.replyCounter = counter;
      s.counterBytes = counterBytes;
      s.replyKey = blocks.substr(16, 16);
      s.rejected = 0;
      s.lastUsed = checkedAt;
      if (s.rxCounter > MAX_COUNTER) session = undefined; // last possible message; reopen afterwards
      return { status: 0, plaintext: prims.aesCtr0(blocks.substr(0, 16), sealed.substr(SEALED_HEADER_BYTES, n - SEALED_HEADER_BYTES - TAG_BYTES)) };
    },

    wrap: function (plaintext: string): string {
      const s = session;
      if (s === undefined || s.replyCounter < 0) raise("channel: no request accepted by unwrap");
      if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) raise("channel: bad reply size");
      s.replyCounter = -1;
      const headerAndCiphertext = REPLY_FORMAT + s.counterBytes + prims.aesCtr0(s.replyKey, plaintext);
      return headerAndCiphertext + hmacSha256(prims, s.macPads, headerAndCiphertext).substr(0, TAG_BYTES);
    },

    close: function (): void {
      session = undefined;
    },

    isOpen: function (): boolean {
      const s = live();
      return s !== undefined && s.confirmed;
    },

    requestBinding: function (): string {
      const s = session;
      return s !== undefined && s.confirmed ? s.carrierNonce + s.counterBytes : "";
    },
  };
}
