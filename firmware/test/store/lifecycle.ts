// A carrier's life on one board profile, driven over the link on the virtual board with the
// release bundle (STORAGE.md §7): personalisation, payments that rotate the application log,
// PIN changes (at the platform: online PIN, nothing written on the carrier) and a wrong and a right
// PIN verdict counted by the carrier, a wipe, and a revival — each phase in its own power cycle,
// because boot is when the carrier compacts its trash (maintenance).
// Used by the small-board test (hil-tests/small-boards.test.ts) and by the capacity measurement
// (firmware/test/store/capacity.ts), which lays out a bundle of any size with a stand-in .bootcde.
import { Platform } from "../../../host/src/platform/service.ts";
import { loadProfile, type BoardProfile } from "../../../board/src/profiles.ts";
import {
  CarrierRig, changePinAtPlatform, CMD, enrolPin, payOrderBody, platformVerdict, ST, TEST_PIN_OPTIONS, transportIdentity, type Identity,
} from "../applets/carrier-harness.ts";

const PIN = "482913";
const PLATFORM_ID = new TextEncoder().encode("KC-PLATFORM-TEST");
const ST_STORAGE_FULL = 0x20;
export const WIPE_HOLD_MS = 3_200;

/**
 * A board profile by id. "puckjs" has no USB (its console is Bluetooth), so the carrier's link
 * cannot start there; `usbStandIn` gives the same profile — Storage geometry, vars, crypto — a
 * USB port, which drives the very dispatcher a Bluetooth link would.
 */
export function profileFor(id: string, usbStandIn = false): BoardProfile {
  const p = loadProfile(id);
  if (!usbStandIn || p.peripherals.usb) return p;
  return { ...p, peripherals: { ...p.peripherals, usb: true }, notes: [...p.notes, "test: USB link as a stand-in for the Bluetooth console"] };
}

export interface LifecycleOptions {
  profile: BoardProfile;
  // run the real bundle from .bootcde (true: the one the board's profile names, "firmware"), or lay
  // out a stand-in of this many bytes (number)
  bundle: true | number;
  payments?: number;
  pinChanges?: number;
  // false: the whole life in one power cycle (no boot-time maintenance between phases)
  rebootBetweenPhases?: boolean;
}

export interface LifecycleStep { step: string; ok: boolean; status?: number; detail?: string; freeBytes: number; trashBytes: number; files: string[] }

export interface LifecycleResult {
  ok: boolean;
  steps: LifecycleStep[];
  // first step that failed, e.g. "pay 12: status 0x20 storage full: …"
  failure?: string;
  // file creations the store made (each a new 1,056 B file in Storage)
  rotations: { payLog: number; carrierLog: number };
}

async function bootRig(opts: LifecycleOptions): Promise<CarrierRig> {
  return CarrierRig.boot(opts.bundle === true ? { board: opts.profile, bootcde: true, nfcBundle: opts.profile.firmware } : { board: opts.profile, bootcdeStandIn: opts.bundle });
}

export async function runLifecycle(opts: LifecycleOptions): Promise<LifecycleResult> {
  const payments = opts.payments ?? 12;
  const pinChanges = opts.pinChanges ?? 7;
  const platform = await Platform.open({ pin: TEST_PIN_OPTIONS });
  const steps: LifecycleStep[] = [];
  const rotations = { payLog: 0, carrierLog: 0 };
  let rig: CarrierRig | undefined;
  let failure: string | undefined;
  let lastFiles: string[] = [];
  const nextPhase = async (): Promise<void> => {
    if (opts.rebootBetweenPhases !== false) await rig!.reboot();
  };

  function note(step: string, ok: boolean, status?: number, detail?: string): boolean {
    const s = rig!.board.storage.getStats();
    const files = rig!.board.storage.list().sort();
    for (const f of files) {
      if (lastFiles.indexOf(f) >= 0) continue;
      if (f.startsWith("kc.pay.") && lastFiles.some((g) => g.startsWith("kc.pay."))) rotations.payLog++;
      if (f.startsWith("kc.log.") && lastFiles.some((g) => g.startsWith("kc.log."))) rotations.carrierLog++;
    }
    lastFiles = files;
    steps.push({ step, ok, status, detail, freeBytes: s.freeBytes, trashBytes: s.trashBytes, files });
    if (!ok && failure === undefined) failure = `${step}: status 0x${(status ?? -1).toString(16)} ${detail ?? ""}`;
    return ok;
  }

  try {
    rig = await bootRig(opts);
    const carrierId = platform.issueCarrier().carrierId;
    const keys = platform.carrierKeys(carrierId);
    const merchantId = platform.registerMerchant({ name: "Corner Café" }).merchantId;
    const identity: Identity = { carrierId: Buffer.from(carrierId, "hex"), platformId: PLATFORM_ID, channelKey: keys.channelKey };

    // power cycle 1: personalisation (creates the application log, the counter and the carrier log)
    const tch = await rig.openChannel(transportIdentity(rig.serial));
    const perso = await rig.inner(tch, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, identity.carrierId], [2, PLATFORM_ID], [3, keys.channelKey], [4, keys.cryptogramKey], [5, 500_000],
    ]));
    if (!note("personalise", perso.status === ST.OK, perso.status, String(perso.body.get(1)))) return done();
    enrolPin(platform, carrierId, PIN);

    // power cycle 2: payments; the 8-entry ring fills and the application log rotates
    await nextPhase();
    let ch = await rig.openChannel(identity);
    for (let i = 1; i <= payments; i++) {
      const code = platform.issuePaymentCode({ merchantId, amount: 100 + i, currency: "EUR" });
      const order = platform.createOrder({ code: code.code });
      const f = order.cryptogramFields;
      const auth = await rig.pay(ch, payOrderBody(f), platformVerdict(platform, rig, ch, carrierId, payOrderBody(f), PIN));
      if (!note(`pay ${i}`, auth.status === ST.OK, auth.status, String(auth.body.get(1)))) return done();
      platform.authorize({ orderId: order.orderId, carrierId, atc: auth.body.get(1), cryptogram: Buffer.from(auth.body.get(2) as Uint8Array).toString("hex") });
    }

    // power cycle 3: PIN changes at the platform (the carrier's flash is untouched), then a wrong
    // PIN: the carrier counts the platform's WRONG verdict (one attempt byte)
    await nextPhase();
    ch = await rig.openChannel(identity);
    let pin = PIN;
    for (let i = 1; i <= pinChanges; i++) {
      const next = String(100000 + i * 1111);
      const r = changePinAtPlatform(platform, carrierId, pin, next);
      if (!note(`change PIN ${i} (platform)`, r.verdict === 0, r.verdict, `tries left ${r.triesLeft}`)) return done();
      pin = next;
    }
    const wrongCode = platform.issuePaymentCode({ merchantId, amount: 998, currency: "EUR" });
    const wf = payOrderBody(platform.createOrder({ code: wrongCode.code }).cryptogramFields);
    const wrong = await rig.pay(ch, wf, platformVerdict(platform, rig, ch, carrierId, wf, "000000"));
    if (!note("wrong PIN (verdict counted)", wrong.status === ST.PIN_WRONG, wrong.status, String(wrong.body.get(1)))) return done();

    // power cycle 4: a payment with the changed PIN, then the wipe (button hold) → DESTROYED
    await nextPhase();
    ch = await rig.openChannel(identity);
    const code = platform.issuePaymentCode({ merchantId, amount: 999, currency: "EUR" });
    const f = platform.createOrder({ code: code.code }).cryptogramFields;
    const auth = await rig.pay(ch, payOrderBody(f), platformVerdict(platform, rig, ch, carrierId, payOrderBody(f), pin));
    if (!note("pay after PIN change", auth.status === ST.OK, auth.status, String(auth.body.get(1)))) return done();
    rig.board.clickButton(1, WIPE_HOLD_MS);
    rig.board.runUntilIdle(1_000);
    const wipe = await rig.outer(CMD.WIPE);
    if (!note("wipe", wipe.status === ST.OK && wipe.body.get(1) === 3, wipe.status, "state " + String(wipe.body.get(1)))) return done();
    // the transport key kc.tk stays: it is what lets the platform personalise the carrier again
    const left = rig.board.storage.list().filter((n) => n.startsWith("kc.") && n !== "kc.tk");
    if (!note("wipe leaves only the carrier log (and kc.tk)", left.every((n) => n.startsWith("kc.log.")), undefined, left.join(","))) return done();

    // power cycle 5: revival through the transport identity
    await nextPhase();
    const again = await rig.openChannel(transportIdentity(rig.serial));
    const fresh = platform.issueCarrier().carrierId;
    const k2 = platform.carrierKeys(fresh);
    const revive = await rig.inner(again, CMD.PERSONALISE, new Map<number, Uint8Array | number | string>([
      [1, Buffer.from(fresh, "hex")], [2, PLATFORM_ID], [3, k2.channelKey], [4, k2.cryptogramKey], [5, 500_000],
    ]));
    note("personalise again", revive.status === ST.OK, revive.status, String(revive.body.get(1)));
    return done();
  } catch (e) {
    failure ??= `exception: ${(e as Error).message}`;
    return done();
  }

  function done(): LifecycleResult {
    rig?.board.dispose();
    platform.close();
    return { ok: failure === undefined, steps, failure, rotations };
  }
}

export { ST_STORAGE_FULL };
