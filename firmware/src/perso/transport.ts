// The transport identity of a BLANK or DESTROYED carrier (PROTOCOL.md §7.4): the initial secret
// that only opens the session in which the platform installs the real keys. The channel key is
// diversified from a batch transport key exactly as docs/CHANNEL.md §2 diversifies carrier keys,
// so the platform reuses diversifyCarrierKeys(batchKey, transportCarrierId).channelKey.
import { hmacPads, hmacSha256, type CryptoPrimitives } from "../crypto/primitives.ts";
import { chr } from "../store/bytes.ts";
import { raise } from "../raise.ts";

export const TRANSPORT_PLATFORM_ID = "KC-TRANSPORT";
export const CHANNEL_KEY_LABEL = "KeyCarrier v1 channel";
// The development batch key is SHA-256 of this label, public on purpose. The firmware never falls
// back to it: every carrier's transport key is the file TRANSPORT_KEY_FILE that PROVISION writes
// (perso/provision.ts), diversified by the platform from a dev or secret batch key; the platform
// accepts the dev batch only when started with its dev flag.
export const DEV_TRANSPORT_BATCH_LABEL = "KeyCarrier v1 dev transport batch key";
export const DEV_TRANSPORT_BATCH_KEY_HEX = "d78292c7d2705a85eb630b68282c1c559d3e50e0bc77d81e5559b567bde73a3c";
export const TRANSPORT_KEY_FILE = "kc.tk";
const ID_MIN = 4;
const ID_MAX = 32;

export function hexToBytes(hex: string): string {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) raise("transport: bad hex");
  let s = "";
  for (let i = 0; i < hex.length; i += 2) s += chr(parseInt(hex.substr(i, 2), 16));
  return s;
}

/** getSerial() text as the transport carrier id: at most 32 bytes, padded with "_" to 4. */
export function transportCarrierId(serial: string): string {
  let id = String(serial).substr(0, ID_MAX);
  while (id.length < ID_MIN) id += "_";
  return id;
}

/** HMAC(batchKey, label ‖ 00 ‖ u8 len(cid) ‖ cid): the carrier's transport channel key (batchKey 32 B). */
export function transportChannelKey(prims: CryptoPrimitives, batchKey: string, carrierId: string): string {
  return hmacSha256(prims, hmacPads(batchKey), CHANNEL_KEY_LABEL + "\x00" + chr(carrierId.length) + carrierId);
}
