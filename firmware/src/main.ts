// Bundle entry: wires platform, store, carrier, channel, applets and link (docs/ARCHITECTURE.md).
// Boot order matters: the carrier finishes an interrupted wipe and the application store drops
// records a wipe or an interrupted personalisation left behind, all BEFORE the link answers.
import {
  boardId, boardSerial, bytesToString, capabilities, carrierCrypto, clearTimer, cryptoPrimitives, hasUsb, lmsNatives, lockConsole,
  log, nowMs, readTransportKeyFile, setLed, setTimer, startNfc, linkDeps, startUsbLink, storageFree, storeEnv, usbWrite, watchButton,
  writeTransportKeyFile,
} from "./platform.ts";
import { nfcAfterFrame, nfcFieldOff, nfcFrame, nfcReply, startMailbox } from "./nfc/mailbox.ts";
import { createDeviceLink } from "./link.ts";
import { createDispatcher, PAY_WAITS, refuse, type Command } from "./dispatch.ts";
import { createInfoCommand, type InfoSource } from "./commands/info.ts";
import { createPingCommand } from "./commands/ping.ts";
import { createWipeCommand } from "./commands/wipe.ts";
import { STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED, STATUS_BUSY, STATUS_OK } from "./protocol.ts";
import { openCarrier, type Carrier } from "./security/carrier.ts";
import { createButtonPresence } from "./security/presence.ts";
import { runMaintenance } from "./store/maintenance.ts";
import { isStoreFull } from "./store/ports.ts";
import { STATUS_STORAGE_FULL } from "./security/status.ts";
import { repairBootLock, setBootLock } from "./security/boot-lock.ts";
import { openAppStore, type AppStore } from "./perso/app-store.ts";
import { createPersonaliseCommand } from "./perso/personalise.ts";
import { TRANSPORT_KEY_FILE, TRANSPORT_PLATFORM_ID, transportCarrierId } from "./perso/transport.ts";
import { createProvisionCommand } from "./perso/provision.ts";
import { createCarrierChannel, type ChannelIdentity } from "./channel/channel.ts";
import { createChannelCommands } from "./channel/commands.ts";
import { createPaymentApplet } from "./applets/qr-payment.ts";
import { createTrustedUi } from "./ui/confirm.ts";
import type { CryptoPrimitives } from "./crypto/primitives.ts";
import { u32be } from "./store/bytes.ts";
import { createOfflineState, offlineCancel, offlineErase, offlineInstallCommand, offlineOuterCommands, offlineOnline, offlineWaiting, CMD_OFFLINE_INSTALL, type OfflineState } from "./offline/applet.ts";
import { eraseOfflineKey } from "./offline/key-store.ts";
import { eraseLicense } from "./offline/license-store.ts";

export const FIRMWARE_VERSION = "0.1.0";

const env = storeEnv();
const presence = createButtonPresence(nowMs);
const ui = createTrustedUi({ setLed: setLed, setTimer: setTimer, clearTimer: clearTimer, now: nowMs });
watchButton(function () {
  presence.buttonDown();
  ui.buttonDown();
}, function () {
  presence.buttonUp();
  ui.buttonUp();
});

// Everything behind the PIN needs native SHA-256/AES; a board without them only answers INFO/PING.
function buildCarrierCommands(prims: CryptoPrimitives): { commands: Command[]; state: () => number; carrier: Carrier; store: AppStore; abandon: () => void } {
  const carrier = openCarrier({ env: env, crypto: carrierCrypto(prims), presence: presence, now: nowMs });
  const store = openAppStore(env);
  // Keys a wipe did not reach, or a personalisation cut before its PIN commit: erase and purge.
  if (carrier.state() !== STATE_PERSONALISED && !store.isEmpty()) {
    store.eraseAll();
    runMaintenance(env, 0, true);
  }
  carrier.maintain();
  // The offline key and license of a carrier that is not personalised (a wipe cut short) go too.
  if (KC_OFFLINE && carrier.state() !== STATE_PERSONALISED) {
    eraseOfflineKey(env);
    eraseLicense(env);
  }
  // A carrier with secrets keeps .boot0, the lock that runs first at every boot (this line only
  // repairs a missing one: PERSONALISE writes it before any key); a never-personalised BLANK one has none.
  if (!repairBootLock(env, carrier.state() !== STATE_BLANK)) log("KeyCarrier: no room for the boot lock");
  if (carrier.state() !== STATE_BLANK) lockConsole();

  let transport: ChannelIdentity | undefined;
  function identity(): ChannelIdentity | undefined {
    // The keys record carries the three identity fields under the same names.
    if (carrier.state() === STATE_PERSONALISED) return store.keys();
    // No kc.tk (never provisioned): no transport session, so no personalisation (PROTOCOL.md §7.4).
    if (transport === undefined) {
      const fromFactory = readTransportKeyFile(TRANSPORT_KEY_FILE);
      if (fromFactory === undefined) return undefined;
      transport = { carrierId: transportCarrierId(boardSerial()), platformId: TRANSPORT_PLATFORM_ID, channelKey: fromFactory };
    }
    return transport;
  }

  const channel = createCarrierChannel(prims, identity, { now: nowMs });
  // A session must not outlive the identity it was opened with: closed after the sealed reply.
  let closeAfterReply = false;
  let payment: ReturnType<typeof createPaymentApplet> | null = null;
  let offline: OfflineState | null = null;

  // After any command that can destroy the carrier: its application keys and log go too.
  function purgeIfDestroyed(): void {
    if (carrier.state() !== STATE_DESTROYED) return;
    closeAfterReply = true;
    if (payment !== null) payment.reset();
    if (KC_OFFLINE && offline !== null) offlineErase(offline);
    if (!store.isEmpty()) {
      store.eraseAll();
      runMaintenance(env, 0, true);
    }
  }
  function guarded(c: Command): Command {
    const run = c.run;
    c.run = function (args, body, late) {
      try {
        return run(args, body, late);
      } finally {
        purgeIfDestroyed();
      }
    };
    return c;
  }

  // A PIN verdict is bound to the session (its carrier nonce) and to the counter of the PAY request
  // being handled (the channel advanced past it when it unwrapped the request).
  function verdictBinding(): string {
    const nonce = channel.sessionNonce();
    return nonce === "" ? "" : nonce + u32be(channel.expectedCounter() - 1);
  }
  // PAY counts the PIN verdict only once the user decided, in a later callback: it purges by itself.
  payment = createPaymentApplet({ carrier: carrier, store: store, ui: ui, prims: prims, verdictBinding: verdictBinding }, purgeIfDestroyed);
  const paymentCommands = payment.commands();
  let inner = createDispatcher([
    paymentCommands[0]!,
    closingConsoleFirst(createPersonaliseCommand({
      carrier: carrier, store: store,
      onPersonalised: function () {
        closeAfterReply = true;
        payment!.reset();
        lockConsole();
      },
    }), carrier.state),
  ], carrier.state);
  // The offline card-emulation applet (PROTOCOL.md §11), in the full bundle only.
  if (KC_OFFLINE) {
    const st = createOfflineState({
      env: env, nat: lmsNatives(), ui: ui, random: prims.random,
      carrierId: function () {
        const k = store.keys();
        return k === undefined ? "" : k.carrierId;
      },
    });
    offline = st;
    // OFFLINE_INSTALL is inner (the platform's personalised session): one more inner dispatcher.
    const install = createDispatcher([offlineInstallCommand(st)], carrier.state);
    const innerFirst = inner;
    inner = function (command, body, late) {
      return command === CMD_OFFLINE_INSTALL ? install(command, body, late) : innerFirst(command, body, late);
    };
    // PAY is BUSY while an OFFLINE_PAY waits for the user (one trusted UI); an OK PAY is the online
    // contact that starts the cumulative offline amount again.
    const pay = paymentCommands[0]!;
    const payRun = pay.run;
    pay.run = function (args, body, late) {
      if (offlineWaiting(st)) return refuse(STATUS_BUSY, PAY_WAITS);
      return payRun(args, body, function (r) {
        // the reply first: a failing mark must not cost the online payment its reply (a mark not
        // written only keeps the offline amount higher, the safe side)
        late(r);
        if (r !== null && r.status === STATUS_OK) {
          try {
            offlineOnline(st);
          } catch (e) {
            log("KeyCarrier: offline mark not written");
          }
        }
      });
    };
  }

  const channelCommands = createChannelCommands(channel, inner, function () {
    if (closeAfterReply) {
      closeAfterReply = false;
      channel.close();
    }
  }, payment.cancel);
  const provision = createProvisionCommand({
    read: function () { return readTransportKeyFile(TRANSPORT_KEY_FILE); },
    write: function (key: string) { return writeTransportKeyFile(TRANSPORT_KEY_FILE, key); },
    onProvisioned: function () { transport = undefined; },
  });
  const commands = [guarded(createWipeCommand(carrier)), paymentCommands[1]!, provision].concat(channelCommands);
  const built = { commands: commands, state: carrier.state, carrier: carrier, store: store, abandon: payment.cancel };
  if (KC_OFFLINE) {
    const st = offline!;
    built.commands = commands.concat(offlineOuterCommands(st));
    built.abandon = function () {
      payment!.cancel();
      offlineCancel(st);
    };
  }
  return built;
}

// The boot lock (.boot0) is written before a personalisation writes its first key, so no boot ever
// finds keys without it; an attempt refused cleanly (the carrier still BLANK) removes it again.
function closingConsoleFirst(c: Command, state: () => number): Command {
  const run = c.run;
  c.run = function (args, body, late) {
    try {
      setBootLock(env, true);
    } catch (e) {
      if (isStoreFull(e)) return refuse(STATUS_STORAGE_FULL, e.reason);
      throw e;
    }
    try {
      return run(args, body, late);
    } finally {
      // only ever an erase here (nothing thrown inside finally, facts §1)
      if (state() === STATE_BLANK) setBootLock(env, false);
    }
  };
  return c;
}

// A store that cannot be opened (a broken or foreign Storage) must not take the link down with it:
// the carrier then answers INFO/PING only, and keeps the console locked because nobody can tell
// whether the flash holds secrets (fail closed).
function tryBuildCarrier(p: CryptoPrimitives): ReturnType<typeof buildCarrierCommands> | null {
  try {
    return buildCarrierCommands(p);
  } catch (e) {
    log("KeyCarrier: no store: " + String((e as { message?: unknown }).message || e));
    lockConsole();
    return null;
  }
}

const prims = cryptoPrimitives();
const core = prims === null ? null : tryBuildCarrier(prims);
const currentState = core === null ? function () { return STATE_BLANK; } : core.state;

const info: InfoSource = {
  firmwareVersion: FIRMWARE_VERSION, board: boardId, serial: boardSerial, state: currentState, capabilities: capabilities, storageFree: storageFree,
};
if (core !== null) {
  info.triesLeft = core.carrier.triesLeft;
  info.channelCarrierId = function () {
    if (currentState() === STATE_PERSONALISED) {
      const k = core.store.keys();
      return k === undefined ? "" : k.carrierId;
    }
    return transportCarrierId(boardSerial());
  };
  info.lastAtc = function () {
    return currentState() === STATE_PERSONALISED ? core.store.lastAtc() : -1;
  };
}
const commands: Command[] = [createInfoCommand(info), createPingCommand()];
const dispatcher = createDispatcher(core === null ? commands : commands.concat(core.commands), currentState);

log("KeyCarrier " + FIRMWARE_VERSION + " on " + boardId() + " " + boardSerial() + (core === null ? " (INFO/PING only)" : ""));
// USB and NFC each have a link (framing, reply cache) over the one dispatcher: one request runs at a
// time, and a PAY waiting for the user makes the other link's CHANNEL_MESSAGE BUSY (§7.5, §10.5).
if (hasUsb()) startUsbLink(createDeviceLink(linkDeps(usbWrite, dispatcher)).onData);
else log("KeyCarrier: no USB");
// The NFC link exists only in the NFC bundle (KC_NFC, a build-time constant): the USB-only bundle
// (keycarrier.js) leaves nfc/* out, so a board without NFC carries none of it in Storage.
if (KC_NFC) {
  const nfcHeader = startNfc(nfcFrame, nfcAfterFrame, nfcFieldOff);
  if (nfcHeader !== null) {
    startMailbox(nfcHeader, createDeviceLink(linkDeps(nfcReply, dispatcher)), bytesToString, core && core.abandon);
  }
}
