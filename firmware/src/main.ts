// Bundle entry: wires platform, store, carrier, channel, applets and link (docs/ARCHITECTURE.md).
// Boot order matters: the carrier finishes an interrupted wipe and the application store drops
// records a wipe or an interrupted personalisation left behind, all BEFORE the link answers.
import {
  boardId, boardSerial, bytesToString, capabilities, carrierCrypto, clearTimer, cryptoPrimitives, hasUsb, lmsNatives, lockConsole,
  log, nowMs, openScreen, readTransportKeyFile, setLed, setTimer, startNfc, linkDeps, startUsbLink, storageFree, storeEnv, usbWrite, watchButton,
  writeTransportKeyFile,
} from "./platform.ts";
import { nfcAfterFrame, nfcFieldOff, nfcFrame, nfcReply, startMailbox } from "./nfc/mailbox.ts";
import { createDeviceLink } from "./link.ts";
import { createDispatcher, PAY_WAITS, refuse, type Command, type LateResult } from "./dispatch.ts";
import { createInfoCommand, type InfoSource } from "./commands/info.ts";
import { createPingCommand } from "./commands/ping.ts";
import { createWipeCommand } from "./commands/wipe.ts";
import { CAP_DISPLAY, STATE_BLANK, STATE_DESTROYED, STATE_PERSONALISED, STATUS_BUSY, STATUS_OK } from "./protocol.ts";
import { openCarrier } from "./security/carrier.ts";
import { createButtonPresence } from "./security/presence.ts";
import { runMaintenance } from "./store/maintenance.ts";
import { isStoreFull } from "./store/ports.ts";
import { STATUS_STORAGE_FULL } from "./security/status.ts";
import { repairBootLock, setBootLock } from "./security/boot-lock.ts";
import { openAppStore } from "./perso/app-store.ts";
import { createPersonaliseCommand } from "./perso/personalise.ts";
import { TRANSPORT_KEY_FILE, TRANSPORT_PLATFORM_ID, transportCarrierId } from "./perso/transport.ts";
import { createProvisionCommand } from "./perso/provision.ts";
import { createCarrierChannel, type ChannelIdentity } from "./channel/channel.ts";
import { createChannelCommands } from "./channel/commands.ts";
import { CMD_LOG_READ, CMD_PAY, createPaymentApplet, type PaymentApplet } from "./applets/qr-payment.ts";
import { peerAbandon, peerCommands } from "./peer/applet.ts";
import { createTrustedUi } from "./ui/confirm.ts";
import { attachScreen, showIdle, showPayment, type PaymentSubject } from "./ui/display.ts";
import type { CryptoPrimitives } from "./crypto/primitives.ts";
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

// INFO's source; a carrier that gets built (below) adds its state and fields 9-11.
const info: InfoSource = {
  firmwareVersion: FIRMWARE_VERSION, board: boardId, serial: boardSerial, state: function () { return STATE_BLANK; }, capabilities: capabilities, storageFree: storageFree,
};

// Everything behind the PIN needs native SHA-256/AES; a board without them only answers INFO/PING.
// abandonPayment: drops a PAY waiting for the user (the NFC field went); null while no carrier is built.
let abandonPayment: (() => void) | null = null;
function buildCarrierCommands(prims: CryptoPrimitives): Command[] {
  const carrier = /*#__NOINLINE__*/ openCarrier({ env: env, crypto: carrierCrypto(prims), presence: presence, now: nowMs });
  const store = /*#__NOINLINE__*/ openAppStore(env);
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
  if (!repairBootLock(env, carrier.state() !== STATE_BLANK)) log("KeyCarrier: no boot lock");
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

  const channel = /*#__NOINLINE__*/ createCarrierChannel(prims, identity, { now: nowMs });
  // A session must not outlive the identity it was opened with: closed after the sealed reply.
  let closeAfterReply = false;
  // The payment applet is built at boot on a PERSONALISED carrier, else on its first use: a BLANK
  // carrier, through its whole personalisation, does not hold it (~70 vars, issue #12). PAY and
  // LOG_READ stand in for it in the dispatchers with its ids, states and fields (checked against
  // the applet's own by firmware/test/applets/lazy-payment.test.ts).
  let payment: PaymentApplet | null = null;
  function paymentApplet(): PaymentApplet {
    // PAY counts the PIN verdict only once the user decided, in a later callback: it purges by itself.
    // setTimer: PAY prepares the authorization while the user decides.
    if (payment === null) payment = /*#__NOINLINE__*/ createPaymentApplet({ carrier: carrier, store: store, ui: ui, prims: prims, verdictBinding: channel.requestBinding, setTimer: setTimer }, purgeIfDestroyed);
    return payment;
  }
  function cancelPayment(): void {
    if (payment !== null) payment.cancel();
  }
  // PAY (i 0) or LOG_READ (i 1) of the applet, allowed when PERSONALISED: its own reader first
  // (PAY reads its fixed layout, runRaw), then the dispatcher's decode and run.
  function paymentCommand(i: number, id: number, fields?: number): Command {
    return {
      id: id, allowedStates: 1 << STATE_PERSONALISED, fields: fields,
      runRaw: function (body, late) {
        const c = paymentApplet().commands()[i]!;
        return c.runRaw === undefined ? undefined : c.runRaw(body, late);
      },
      run: function (args, body, late) {
        return paymentApplet().commands()[i]!.run(args, body, late);
      },
    };
  }
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
  // a PERSONALISED carrier's dispatchers hold the applet's own commands; a BLANK one's the stand-ins
  const paymentCommands = carrier.state() === STATE_PERSONALISED ? paymentApplet().commands() : [paymentCommand(0, CMD_PAY), paymentCommand(1, CMD_LOG_READ, 1)];
  let inner = createDispatcher([
    paymentCommands[0]!,
    closingConsoleFirst(createPersonaliseCommand({
      carrier: carrier, store: store,
      onPersonalised: function () {
        closeAfterReply = true;
        payment = null; // a BLANK carrier's applet, if a refused PAY built it, holds nothing: built again on use
        ui.reset(); // as the applet's reset did: the trusted UI (and a screen's idle view) starts afresh
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
    // contact that starts the cumulative offline amount again. PAY reads its own layout (runRaw);
    // run only sees the bodies that reader refused.
    const pay = paymentCommands[0]!;
    const payRaw = pay.runRaw!;
    const payRun = pay.run;
    const markOnline = function (late: LateResult): LateResult {
      return function (r) {
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
      };
    };
    pay.runRaw = function (body, late) {
      return offlineWaiting(st) ? refuse(STATUS_BUSY, PAY_WAITS) : payRaw(body, markOnline(late));
    };
    pay.run = function (args, body, late) {
      return offlineWaiting(st) ? refuse(STATUS_BUSY, PAY_WAITS) : payRun(args, body, markOnline(late));
    };
  }

  // Published here, before the commands are assembled: nothing below can fail once the carrier and
  // the store opened. No local keeps the command lists: the closures above keep this scope alive,
  // and with it every local (issue #12).
  abandonPayment = cancelPayment;
  info.state = carrier.state;
  info.triesLeft = carrier.triesLeft;
  info.channelCarrierId = function () {
    if (carrier.state() !== STATE_PERSONALISED) return transportCarrierId(boardSerial());
    const k = store.keys();
    return k === undefined ? "" : k.carrierId;
  };
  info.lastAtc = function () {
    return carrier.state() === STATE_PERSONALISED ? store.lastAtc() : -1;
  };
  if (KC_OFFLINE) {
    const st = offline!;
    extraCommands = offlineOuterCommands(st);
    abandonPayment = function () {
      cancelPayment();
      offlineCancel(st);
    };
  }
  if (KC_PEER) {
    extraCommands = extraCommands.concat(/*#__NOINLINE__*/ peerWiring(carrier, store, prims, function () {
      if (payment !== null) payment.reset();
    }));
  }
  return [guarded(createWipeCommand(carrier)), paymentCommands[1]!, createProvisionCommand({
    read: readTransportKeyFile,
    write: writeTransportKeyFile,
    onProvisioned: function () { transport = undefined; },
  })].concat(/*#__NOINLINE__*/ createChannelCommands(channel, inner, function () {
    if (closeAfterReply) {
      closeAfterReply = false;
      channel.close();
    }
  }, cancelPayment));
}

// The commands only the full bundle has (KC_OFFLINE, KC_PEER), built with the carrier and taken by
// commandList(), which clears this: the carrier's scope keeps no command list.
let extraCommands: Command[] = [];

// Peer payment (docs/PEER.md), only in the full bundle: two outer commands that share the trusted
// UI with PAY. Whatever re-asks or resets the UI (a PAY reaching it, the NFC field dropping a
// deferred request, a wipe) drops a waiting peer decision with nothing written; the applet itself
// asks through the UI's own ask.
function peerWiring(carrier: ReturnType<typeof openCarrier>, store: ReturnType<typeof openAppStore>, prims: CryptoPrimitives, afterAppend: () => void): Command[] {
  const ask = ui.ask;
  const uiReset = ui.reset;
  ui.ask = function (amountClass, onDecision, subject) {
    peerAbandon();
    ask(amountClass, onDecision, subject);
  };
  ui.reset = function () {
    peerAbandon();
    uiReset();
  };
  return peerCommands({ carrier: carrier, store: store, prims: prims, ask: ask, decision: ui.decision, afterAppend: afterAppend });
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
function tryBuildCarrier(p: CryptoPrimitives | null): Command[] {
  if (p !== null) {
    try {
      return /*#__NOINLINE__*/ buildCarrierCommands(p);
    } catch (e) {
      log("KeyCarrier: no store: " + String((e as { message?: unknown }).message || e));
      lockConsole();
    }
  }
  return [];
}
// The trusted display (docs/DISPLAY.md), only in keycarrier.full.js (KC_DISPLAY): on a board with a
// screen, PAY's question shows the order the carrier will sign before the button decides, and the
// idle screen shows the carrier's state and the PIN tries it has left. A screen that fails (no
// panel on the bus) never stops a payment: the LEDs still ask. Attached after the carrier is built
// (INFO's state and tries) and before INFO is, because INFO reads the capabilities (0x10: display) once.
function attachDisplay(): void {
  const screen = openScreen();
  if (screen === null) return;
  attachScreen(screen);
  const caps = info.capabilities;
  info.capabilities = function () {
    return caps() | CAP_DISPLAY;
  };
  const stateNames = ["BLANK", "PERSONALISED", "LOCKED", "DESTROYED"];
  const idle = function (): unknown {
    try {
      // NOINLINE (here and below): terser would paste the screen functions in as IIFEs, which Espruino
      // lexes on every call, with their vars after the return (the gate's hoisting rule)
      const state = info.state();
      return /*#__NOINLINE__*/ showIdle(stateNames[state] || "?", state !== STATE_PERSONALISED || info.triesLeft === undefined ? -1 : info.triesLeft());
    } catch (e) {
      return log("KeyCarrier: screen: " + e);
    }
  };
  const draw = function (subject: PaymentSubject): unknown {
    try {
      return /*#__NOINLINE__*/ showPayment(subject);
    } catch (e) {
      return log("KeyCarrier: screen: " + e);
    }
  };
  const ask = ui.ask;
  ui.ask = function (cls, onDecision, subject) {
    if (subject !== undefined) draw(subject);
    ask(cls, function (d) {
      if (onDecision) onDecision(d);
      idle();
    }, subject);
  };
  const reset = ui.reset;
  ui.reset = function () {
    reset();
    idle();
  };
  idle();
}

// The carrier's commands first: building them sets INFO's state and fields 9-11 (above); then the
// screen, if any; then INFO. No global keeps the lists (issue #12).
function commandList(): Command[] {
  let own = tryBuildCarrier(cryptoPrimitives());
  if (KC_OFFLINE || KC_PEER) {
    own = own.concat(extraCommands);
    extraCommands = [];
  }
  if (KC_DISPLAY) /*#__NOINLINE__*/ attachDisplay();
  return own.concat([createInfoCommand(info), createPingCommand()]);
}

const dispatcher = createDispatcher(/*#__NOINLINE__*/ commandList(), info.state);

// A carrier that answers INFO/PING only says why above ("no store") or in INFO (no SHA256/AES capability).
log("KeyCarrier " + FIRMWARE_VERSION + " on " + boardId() + " " + boardSerial());
// USB and NFC each have a link (framing, reply cache) over the one dispatcher: one request runs at a
// time, and a PAY waiting for the user makes the other link's CHANNEL_MESSAGE BUSY (§7.5, §10.5).
if (hasUsb()) startUsbLink(createDeviceLink(linkDeps(usbWrite, dispatcher)).onData);
else log("KeyCarrier: no USB");
// The NFC link exists only in the NFC bundle (KC_NFC, a build-time constant): the USB-only bundle
// (keycarrier.js) leaves nfc/* out, so a board without NFC carries none of it in Storage.
if (KC_NFC) {
  const nfcHeader = startNfc(nfcFrame, nfcAfterFrame, nfcFieldOff);
  if (nfcHeader !== null) {
    startMailbox(nfcHeader, createDeviceLink(linkDeps(nfcReply, dispatcher)), bytesToString, abandonPayment);
  }
}
