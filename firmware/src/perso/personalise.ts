// PERSONALISE (PROTOCOL.md §7.4): inner command of a transport session. Installs the carrier's
// identity, keys and limit, then sets the PIN. A master key MK is drawn first and K_ac is stored
// only wrapped under it; the keys record is written first, and the carrier's PIN record, which
// wraps that same MK under the PIN-derived KEK, is the commit that makes the carrier PERSONALISED.
// A cut in between leaves a BLANK carrier with a stray keys record whose MK was never stored, which
// the boot path erases (main.ts).
import { ok, refuse, unknownField, type Command } from "../dispatch.ts";
import { isText, type CborMap, type CborValue } from "../codec.ts";
import { STATE_BLANK, STATE_DESTROYED, STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";
import type { Carrier } from "../security/carrier.ts";
import type { AppStore } from "./app-store.ts";
import { isStoreFull } from "../store/ports.ts";
import { STATUS_PIN_BAD_FORMAT, STATUS_STORAGE_FULL } from "../security/status.ts";
import { isValidPin } from "../security/pin.ts";

export const CMD_PERSONALISE = 0x60;
const MAX_AMOUNT = 9007199254740991;

export interface PersonaliseDeps {
  carrier: Carrier;
  store: AppStore;
  // called after the commit: the platform locks the console, the channel closes after its reply
  onPersonalised(): void;
}

function bytes(v: CborValue | undefined, min: number, max: number): string | undefined {
  return typeof v === "string" && v.length >= min && v.length <= max ? v : undefined;
}

// The request as received: K_ac in the clear, before it is wrapped.
export interface Personalisation {
  carrierId: string;
  platformId: string;
  channelKey: string;
  cryptogramKey: string;
  maxAmount: number;
  pin: string;
}

export function parsePersonalisation(args: CborMap): Personalisation | string {
  if (unknownField(args, [1, 2, 3, 4, 5, 6]) >= 0) return "PERSONALISE takes only fields 1-6";
  const carrierId = bytes(args[1], 4, 32);
  const platformId = bytes(args[2], 4, 32);
  const channelKey = bytes(args[3], 32, 32);
  const cryptogramKey = bytes(args[4], 32, 32);
  if (carrierId === undefined || platformId === undefined) return "ids (1, 2) must be 4-32 bytes";
  if (channelKey === undefined || cryptogramKey === undefined) return "keys (3, 4) must be 32 bytes";
  const limit = args[5];
  if (typeof limit !== "number" || limit < 1 || limit > MAX_AMOUNT || Math.floor(limit) !== limit) return "limit (5) must be an integer >= 1";
  const pin = args[6];
  if (pin === undefined || pin === null || !isText(pin)) return "PIN (6) must be a text string";
  return { carrierId: carrierId, platformId: platformId, channelKey: channelKey, cryptogramKey: cryptogramKey, maxAmount: limit, pin: pin.tstr };
}

export function createPersonaliseCommand(deps: PersonaliseDeps): Command {
  return {
    id: CMD_PERSONALISE,
    name: "PERSONALISE",
    allowedStates: (1 << STATE_BLANK) | (1 << STATE_DESTROYED),
    run: function (args: CborMap) {
      const p = parsePersonalisation(args);
      if (typeof p === "string") return refuse(STATUS_BAD_ARGUMENT, p);
      // Judged before anything is written, so a bad PIN leaves no stray record.
      if (!isValidPin(p.pin)) return refuse(STATUS_PIN_BAD_FORMAT, "PIN must be 4-12 digits");
      const mk = deps.carrier.drawMasterKey();
      try {
        // A stray keys record of an interrupted personalisation is simply superseded.
        deps.store.installKeys({
          carrierId: p.carrierId, platformId: p.platformId, channelKey: p.channelKey,
          wrappedCryptogramKey: deps.carrier.wrapKey(mk, p.cryptogramKey), maxAmount: p.maxAmount,
        });
      } catch (e) {
        if (!isStoreFull(e)) throw e;
        return refuse(STATUS_STORAGE_FULL, "storage full: " + e.reason);
      }
      const o = deps.carrier.setPin(p.pin, mk);
      if (o.status !== STATUS_OK) return refuse(o.status, o.detail);
      deps.onPersonalised();
      const m: CborMap = {};
      m[1] = deps.carrier.state();
      m[2] = o.triesLeft;
      return ok(m);
    },
  };
}
