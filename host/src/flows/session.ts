/**
 * A secure-channel session with a carrier, relayed through this (untrusted) host: the platform end
 * (`PlatformChannel`, host/src/channel/session.ts) produces and checks the bodies, the KeyCarrier
 * client carries them as CHANNEL_* frames (PROTOCOL.md §7.3). The host sees only sealed bytes.
 */
import type { KeyCarrier } from "../client.ts";
import { encodeCbor, type CborMap } from "../codec.ts";
import { ProtocolError } from "../errors.ts";
import { PlatformChannel } from "../channel/session.ts";
import { concatBytes } from "../channel/keys.ts";
import { FlowCommand, decodeMap, innerError } from "./protocol.ts";
import type { RequestOptions } from "../link.ts";

export interface SessionKeyInfo {
  channelKey: Uint8Array;
  carrierId: Uint8Array;
  platformId: Uint8Array;
}

/** Counts what a session put on the wire (bench and tests). */
export interface WireStats { roundTrips: number; bytesOut: number; bytesIn: number }

export class CarrierSession {
  readonly stats: WireStats = { roundTrips: 0, bytesOut: 0, bytesIn: 0 };

  /** The carrier's nonce of this session (CHANNEL_OPEN field 2): the platform binds a PIN verdict to it. */
  carrierNonce: Uint8Array = new Uint8Array(0);

  private constructor(private readonly kc: KeyCarrier, private readonly channel: PlatformChannel) {}

  /** CHANNEL_OPEN + CHANNEL_CONFIRM: both sides prove they hold `channelKey`. */
  static async open(kc: KeyCarrier, keys: SessionKeyInfo): Promise<CarrierSession> {
    const channel = new PlatformChannel(keys);
    const nonce = channel.begin();
    const opened = await kc.request(FlowCommand.CHANNEL_OPEN, new Map([[1, nonce]]));
    const carrierId = opened.get(1);
    const carrierNonce = opened.get(2);
    const carrierProof = opened.get(3);
    if (!(carrierId instanceof Uint8Array) || !(carrierNonce instanceof Uint8Array) || !(carrierProof instanceof Uint8Array)) {
      throw new ProtocolError("CHANNEL_OPEN answer lacks {1: carrier id, 2: nonce, 3: proof} byte strings — firmware and host disagree on PROTOCOL.md §7.3");
    }
    const platformProof = channel.accept({ carrierId, carrierNonce, carrierProof });
    await kc.request(FlowCommand.CHANNEL_CONFIRM, new Map([[1, platformProof]]));
    const session = new CarrierSession(kc, channel);
    session.carrierNonce = carrierNonce;
    return session;
  }

  /** The channel counter the next exchange() will be sealed under. */
  get nextCounter(): number {
    return this.channel.nextCounter;
  }

  /** One sealed inner request; returns the inner status and body (non-OK statuses are not thrown). */
  async exchange(command: number, body: CborMap, opts: RequestOptions = {}): Promise<{ status: number; body: CborMap | undefined }> {
    const sealed = this.channel.seal(concatBytes(Uint8Array.of(command), encodeCbor(body)));
    const reply = await this.kc.request(FlowCommand.CHANNEL_MESSAGE, new Map([[1, sealed]]), opts);
    const sealedReply = reply.get(1);
    if (!(sealedReply instanceof Uint8Array)) throw new ProtocolError("CHANNEL_MESSAGE answer lacks the sealed reply {1: bstr} — PROTOCOL.md §7.3");
    this.stats.roundTrips++;
    this.stats.bytesOut += frameBytes(sealed.length);
    this.stats.bytesIn += frameBytes(sealedReply.length);
    const plain = this.channel.open(sealedReply);
    return { status: plain[0]!, body: decodeMap(plain.subarray(1)) };
  }

  /** Like exchange, but a non-OK inner status throws the matching DeviceError. */
  async call(command: number, body: CborMap, opts: RequestOptions = {}): Promise<CborMap> {
    const r = await this.exchange(command, body, opts);
    if (r.status !== 0) throw innerError(command, r.status, r.body);
    return r.body ?? new Map();
  }

  /** CHANNEL_CLOSE; failures are ignored (the carrier forgets idle sessions on its own). */
  async close(): Promise<void> {
    this.channel.close();
    try {
      await this.kc.request(FlowCommand.CHANNEL_CLOSE);
    } catch {
      // the session ends either way
    }
  }
}

/**
 * Bytes of a CHANNEL_MESSAGE frame carrying `sealedLength` bytes, both directions alike:
 * frame overhead (PROTOCOL.md §3.1: magic 2, version 1, type 1, seq 1, code 1, length 2, CRC 4 = 12)
 * plus the body `a1 01 58|59 len… sealed`.
 */
export function frameBytes(sealedLength: number): number {
  const bodyHeader = sealedLength < 24 ? 3 : sealedLength < 256 ? 4 : 5;
  return 12 + bodyHeader + sealedLength;
}
