/**
 * Personalisation (PROTOCOL.md §7.4): the platform issues a carrier identity and installs its keys,
 * limit and PIN into a BLANK carrier through a transport session the host only relays.
 *
 *   INFO (serial → transport id) → issue carrier on the platform → CHANNEL_OPEN/CONFIRM with K_tr
 *   → PERSONALISE (sealed) → carrier closes the session → INFO (PERSONALISED, field 10 = cid)
 *   → CHANNEL_OPEN/CONFIRM with the new K_ch (proves the keys landed) → CHANNEL_CLOSE
 */
import type { KeyCarrier, DeviceInfo } from "../client.ts";
import { Command } from "../status.ts";
import { diversifyCarrierKeys, type CarrierKeys } from "../channel/keys.ts";
import { CarrierSession } from "./session.ts";
import {
  FlowCommand, TBK_DEV, TRANSPORT_PLATFORM_ID, ascii, fromHex, toHex, transportCarrierId,
} from "./protocol.ts";

/** What the flows need from the platform for personalisation (the in-process `Platform` fits). */
export interface IssuingPlatform {
  issueCarrier(req?: { issuerId?: unknown; limit?: unknown; currency?: unknown }): { carrierId: string; issuerId: string };
  carrierKeys(carrierId: string): CarrierKeys;
}

export interface PersonaliseOptions {
  /** 4–12 digits. */
  pin: string;
  /** Maximum amount per payment in minor units (default 100000 = 1,000.00). */
  limit?: number;
  issuerId?: string;
  /** The only currency the platform accepts for this carrier (ISO 4217; default the platform's, EUR). */
  currency?: string;
  /** The batch transport key (§7.4); default the public development key TBK_DEV. */
  transportKey?: Uint8Array;
  /** Progress lines for people. */
  onStep?: (line: string) => void;
}

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
  const transportKey = diversifyCarrierKeys(opts.transportKey ?? TBK_DEV, tcid).channelKey;

  // The platform records the limit it will enforce at authorization; the carrier gets the same one below.
  const issued = platform.issueCarrier({ ...(opts.issuerId ? { issuerId: opts.issuerId } : {}), limit, ...(opts.currency ? { currency: opts.currency } : {}) });
  const keys = platform.carrierKeys(issued.carrierId);
  const cid = fromHex(issued.carrierId);
  const pid = platformIdFor(issued.issuerId);
  step(`platform issued carrier ${issued.carrierId} (issuer ${issued.issuerId})`);

  const transport = await CarrierSession.open(kc, { channelKey: transportKey, carrierId: tcid, platformId: TRANSPORT_PLATFORM_ID });
  step(`transport session open with ${before.serial} (mutually authenticated)`);
  const reply = await transport.call(FlowCommand.PERSONALISE, new Map<number, Uint8Array | number | string>([
    [1, cid], [2, pid], [3, keys.channelKey], [4, keys.cryptogramKey], [5, limit], [6, opts.pin],
  ]), { extraTimeoutMs: 5000 });
  const triesLeft = reply.get(2);
  step("keys, identity, limit and PIN installed (sealed); the carrier closed the transport session");

  const info = await kc.info();
  const installedId = await personalisedCarrierId(kc);
  if (info.stateName !== "PERSONALISED" || installedId !== issued.carrierId) {
    throw new Error(`after PERSONALISE the carrier reports state ${info.stateName} and id ${installedId ?? "none"} (expected PERSONALISED, ${issued.carrierId})`);
  }
  const check = await CarrierSession.open(kc, { channelKey: keys.channelKey, carrierId: cid, platformId: pid });
  await check.close();
  step("a session with the new channel key opens: personalisation verified");
  return { carrierId: issued.carrierId, issuerId: issued.issuerId, triesLeft: typeof triesLeft === "number" ? triesLeft : -1, info };
}
