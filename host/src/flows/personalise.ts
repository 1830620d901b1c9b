/**
 * Provisioning and personalisation (PROTOCOL.md §7.4).
 *
 * provision (factory): INFO (serial → transport id) → the platform diversifies kc.tk from its batch
 *   key → PROVISION writes it (once; the carrier then has a per-device transport key).
 * personalise: INFO → issue carrier on the platform → CHANNEL_OPEN/CONFIRM with K_tr (the platform's
 *   kc.tk for this serial) → PERSONALISE (sealed: ids, keys, limit; no PIN) → carrier closes the
 *   session → INFO (PERSONALISED, field 10 = cid) → CHANNEL_OPEN/CONFIRM with the new K_ch (proves
 *   the keys landed) → the PIN is enrolled at the platform, encrypted to it (online PIN: the
 *   carrier never sees it).
 */
import type { KeyCarrier, DeviceInfo } from "../client.ts";
import { Command } from "../status.ts";
import type { CarrierKeys } from "../channel/keys.ts";
import { CarrierSession } from "./session.ts";
import {
  FlowCommand, TRANSPORT_PLATFORM_ID, ascii, fromHex, toHex, transportCarrierId,
} from "./protocol.ts";
import { encryptPinBlock, PinPurpose } from "../platform/online-pin.ts";
import type { ChallengeView } from "../platform/pin-verifier.ts";
import { issueCarrierOfflineKey, type OfflineLicensing } from "../offline/carrier-key.ts";
import type { LicenseLimits } from "../platform/offline-authority.ts";

/** What the flows need from the platform for personalisation (the in-process `Platform` fits). */
export interface IssuingPlatform {
  issueCarrier(req?: { issuerId?: unknown; limit?: unknown; currency?: unknown }): { carrierId: string; issuerId: string };
  carrierKeys(carrierId: string): CarrierKeys;
  /** The transport channel key of a provisioned carrier (refused for one this platform never provisioned). */
  transportChannelKey(transportId: Uint8Array): Uint8Array;
  pinChallenge(req: { carrierId?: unknown; purpose?: unknown }): ChallengeView;
  enrolPin(req: { carrierId?: unknown; challenge?: unknown; pinBlock?: unknown }): { triesLeft: number };
}

/** What the factory step needs: the platform's kc.tk for a transport id (in-process only). */
export interface ProvisioningPlatform {
  provisionTransportKey(transportId: Uint8Array): Uint8Array;
}

/** `keycarrier provision`: writes the carrier's per-device transport key kc.tk (BLANK, once). */
export async function provision(kc: KeyCarrier, platform: ProvisioningPlatform, onStep: (line: string) => void = () => {}): Promise<{ serial: string }> {
  const info = await kc.info();
  if (info.stateName !== "BLANK") throw new Error(`only a BLANK carrier is provisioned; this one is ${info.stateName}`);
  const key = platform.provisionTransportKey(transportCarrierId(info.serial));
  await kc.request(Command.PROVISION, new Map([[1, key]]));
  onStep(`transport key kc.tk written to ${info.serial} (diversified from the platform's batch key)`);
  return { serial: info.serial };
}

export interface PersonaliseOptions {
  /** 4–12 digits. */
  pin: string;
  /** Maximum amount per payment in minor units (default 100000 = 1,000.00). */
  limit?: number;
  issuerId?: string;
  /** The only currency the platform accepts for this carrier (ISO 4217; default the platform's, EUR). */
  currency?: string;
  /** Progress lines for people. */
  onStep?: (line: string) => void;
  /**
   * Also install the offline key and license (PROTOCOL.md §11.5, full-bundle carriers only): the
   * issuer generates the key (docs/OFFLINE.md §1.2) and the platform's credit authority licenses it
   * (`platform.offline`). `lmsType` defaults to H10. Optional; absent = no offline payments.
   */
  offline?: { authority: OfflineLicensing; limits: LicenseLimits; lmsType?: number };
}

/** OFFLINE_INSTALL piece size: {1,2,3,4: piece} sealed stays under the 512-byte body (§7.3). */
export const OFFLINE_INSTALL_PIECE = 448;

export interface PersonaliseResult {
  carrierId: string;
  issuerId: string;
  triesLeft: number;
  info: DeviceInfo;
}

export const DEFAULT_LIMIT_MINOR = 100_000;

/** The platform id a carrier learns at personalisation: "KC-" + issuer id, at most 32 bytes. */
export function platformIdFor(issuerId: string): Uint8Array {
  return ascii(`KC-${issuerId}`.slice(0, 32));
}

/** The carrier id INFO reports once personalised (field 10, §7.4), as hex; undefined when BLANK. */
export async function personalisedCarrierId(kc: KeyCarrier): Promise<string | undefined> {
  const raw = await kc.request(Command.INFO);
  const cid = raw.get(10);
  return cid instanceof Uint8Array ? toHex(cid) : undefined;
}

export async function personalise(kc: KeyCarrier, platform: IssuingPlatform, opts: PersonaliseOptions): Promise<PersonaliseResult> {
  const step = opts.onStep ?? (() => {});
  if (!/^\d{4,12}$/.test(opts.pin)) throw new Error("the PIN must be 4–12 digits (PROTOCOL.md §7.4); nothing was sent");
  const limit = opts.limit ?? DEFAULT_LIMIT_MINOR;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`the limit must be a whole number of minor units ≥ 1, got ${limit}`);

  const before = await kc.info();
  if (before.stateName !== "BLANK" && before.stateName !== "DESTROYED") {
    const cid = await personalisedCarrierId(kc);
    throw new Error(`this carrier is already ${before.stateName}${cid ? ` (carrier id ${cid})` : ""}; only a BLANK or DESTROYED carrier can be personalised`);
  }
  const tcid = transportCarrierId(before.serial);
  const transportKey = platform.transportChannelKey(tcid);

  // The platform records the limit it will enforce at authorization; the carrier gets the same one below.
  const issued = platform.issueCarrier({ ...(opts.issuerId ? { issuerId: opts.issuerId } : {}), limit, ...(opts.currency ? { currency: opts.currency } : {}) });
  const keys = platform.carrierKeys(issued.carrierId);
  const cid = fromHex(issued.carrierId);
  const pid = platformIdFor(issued.issuerId);
  step(`platform issued carrier ${issued.carrierId} (issuer ${issued.issuerId})`);

  const transport = await CarrierSession.open(kc, { channelKey: transportKey, carrierId: tcid, platformId: TRANSPORT_PLATFORM_ID });
  step(`transport session open with ${before.serial} (mutually authenticated)`);
  const reply = await transport.call(FlowCommand.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, cid], [2, pid], [3, keys.channelKey], [4, keys.cryptogramKey], [5, limit],
  ]), { extraTimeoutMs: 5000 });
  const carrierTries = reply.get(2);
  step(`keys, identity and limit installed (sealed); the carrier closed the transport session (it counts up to ${String(carrierTries)} bad PIN verdicts)`);

  const info = await kc.info();
  const installedId = await personalisedCarrierId(kc);
  if (info.stateName !== "PERSONALISED" || installedId !== issued.carrierId) {
    throw new Error(`after PERSONALISE the carrier reports state ${info.stateName} and id ${installedId ?? "none"} (expected PERSONALISED, ${issued.carrierId})`);
  }
  const check = await CarrierSession.open(kc, { channelKey: keys.channelKey, carrierId: cid, platformId: pid });
  step("a session with the new channel key opens: personalisation verified");
  if (opts.offline) {
    const key = issueCarrierOfflineKey(opts.offline.authority, issued.carrierId, opts.offline.limits, opts.offline.lmsType);
    step(`platform licensed the offline key (license ${key.serial})`);
    for (const [part, bytes, what] of [[1, key.keySection, "offline key"], [2, key.license, "license"]] as const) {
      for (let off = 0; off < bytes.length; off += OFFLINE_INSTALL_PIECE) {
        const piece = bytes.subarray(off, off + OFFLINE_INSTALL_PIECE);
        const r = await check.exchange(Command.OFFLINE_INSTALL, new Map<number, number | Uint8Array>([[1, part], [2, off], [3, bytes.length], [4, piece]]));
        if (r.status !== 0) throw new Error(`OFFLINE_INSTALL (${what} at ${off}) refused with status 0x${r.status.toString(16)}: ${String(r.body?.get(1) ?? "")}`);
      }
      step(`${what} installed (${bytes.length} B in ${Math.ceil(bytes.length / OFFLINE_INSTALL_PIECE)} sealed pieces)`);
    }
  }
  await check.close();
  const challenge = platform.pinChallenge({ carrierId: issued.carrierId, purpose: "enrol" });
  const block = encryptPinBlock(opts.pin, fromHex(challenge.publicKey), { purpose: PinPurpose.ENROL, carrierId: cid, orderId: new Uint8Array(0), challenge: fromHex(challenge.challenge) });
  const { triesLeft } = platform.enrolPin({ carrierId: issued.carrierId, challenge: challenge.challenge, pinBlock: toHex(block) });
  step(`PIN enrolled at the platform (encrypted to it; the carrier holds no PIN material); ${triesLeft} tries at the issuer`);
  return { carrierId: issued.carrierId, issuerId: issued.issuerId, triesLeft, info };
}
