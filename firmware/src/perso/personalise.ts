// PERSONALISE (PROTOCOL.md §7.4): inner command of a transport session. Installs the carrier's
// identity, keys and limit; no PIN (the platform enrols it: online PIN). A master key MK is drawn
// first and K_ac is stored only wrapped under it; the keys record is written first, and the
// carrier's PERSO record, which wraps that same MK under the device secret, is the commit that
// makes the carrier PERSONALISED. A cut in between leaves a BLANK carrier with a stray keys record
// whose MK was never stored, which the boot path erases (main.ts).
import { bytesArg, ok, refuse, uintArg, type Command } from "../dispatch.ts";
import type { CborMap } from "../codec.ts";
import { STATE_BLANK, STATE_DESTROYED, STATUS_BAD_ARGUMENT, STATUS_OK } from "../protocol.ts";
import type { Carrier } from "../security/carrier.ts";
import type { AppStore } from "./app-store.ts";
import { isStoreFull } from "../store/ports.ts";
import { STATUS_STORAGE_FULL } from "../security/status.ts";

export const CMD_PERSONALISE = 0x60;

export interface PersonaliseDeps {
  carrier: Carrier;
  store: AppStore;
  // called after the commit: the platform locks the console, the channel closes after its reply
  onPersonalised(): void;
}

// The request as received: K_ac in the clear, before it is wrapped.
export interface Personalisation {
  carrierId: string;
  platformId: string;
  channelKey: string;
  cryptogramKey: string;
  maxAmount: number;
}

// Fields 1-5 (the dispatcher already refused any other field), else the detail of the first bad one.
export function parsePersonalisation(args: CborMap): Personalisation | string {
  const carrierId = bytesArg(args[1], 4, 32);
  const platformId = bytesArg(args[2], 4, 32);
  if (carrierId === undefined || platformId === undefined) return "bad id";
  const channelKey = bytesArg(args[3], 32, 32);
  const cryptogramKey = bytesArg(args[4], 32, 32);
  if (channelKey === undefined || cryptogramKey === undefined) return "bad key";
  const limit = uintArg(args[5], 1);
  if (limit === undefined) return "bad limit";
  return { carrierId: carrierId, platformId: platformId, channelKey: channelKey, cryptogramKey: cryptogramKey, maxAmount: limit };
}

export function createPersonaliseCommand(deps: PersonaliseDeps): Command {
  return {
    id: CMD_PERSONALISE,
    allowedStates: (1 << STATE_BLANK) | (1 << STATE_DESTROYED),
    fields: 5,
    run: function (args: CborMap) {
      const p = parsePersonalisation(args);
      if (typeof p === "string") return refuse(STATUS_BAD_ARGUMENT, p);
      const mk = deps.carrier.drawMasterKey();
      try {
        // A stray keys record of an interrupted personalisation is simply superseded.
        deps.store.installKeys({
          carrierId: p.carrierId, platformId: p.platformId, channelKey: p.channelKey,
          wrappedCryptogramKey: deps.carrier.wrapKey(mk, p.cryptogramKey), maxAmount: p.maxAmount,
        });
      } catch (e) {
        if (!isStoreFull(e)) throw e;
        return refuse(STATUS_STORAGE_FULL, e.reason);
      }
      const o = deps.carrier.enrol(mk);
      if (o.status !== STATUS_OK) return o;
      deps.onPersonalised();
      const m: CborMap = {};
      m[1] = deps.carrier.state();
      m[2] = o.triesLeft;
      return ok(m);
    },
  };
}
