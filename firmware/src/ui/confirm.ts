// The trusted UI (PROTOCOL.md §7.7): the carrier's own LEDs ask "confirm?" and show the amount
// class; BTN1 answers. Short press (released < LONG_PRESS_MS) confirms; a long press or silence for
// TIMEOUT_MS declines. Everything runs from timer and button callbacks: nothing ever blocks the link.
// The decision is reported once, to the listener given to ask(), from that timer or button callback
// (never from inside ask()); reset() and a new ask() cancel silently.
import type { PaymentSubject } from "./display.ts";

export const DECISION_NONE = 0;     // nothing asked
export const DECISION_PENDING = 1;  // asked, no answer yet
export const DECISION_CONFIRMED = 2;
export const DECISION_DECLINED = 3;

export const CONFIRM_TIMEOUT_MS = 30000;
export const LONG_PRESS_MS = 1000;
export const BLINK_STEP_MS = 150;
export const BLINK_CYCLE_STEPS = 13; // ~2 s per cycle

export interface UiPorts {
  // led 1: "confirm?" (steady), led 2: amount class (blinks)
  setLed(led: number, on: boolean): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  now(): number;
}

export interface TrustedUi {
  // subject: what is being confirmed (PAY: its order), for a board with a screen (main.ts KC_DISPLAY
  // wraps ask to draw it, ui/display.ts); the LEDs show the amount class only.
  ask(amountClass: number, onDecision?: (decision: number) => void, subject?: PaymentSubject): void;
  decision(): number;
  // the decision is consumed: back to DECISION_NONE, LEDs off
  reset(): void;
  buttonDown(): void;
  buttonUp(): void;
}

/** 0 < 10.00, 1 < 100.00, 2 < 1,000.00, 3 otherwise (minor units, two decimals assumed). */
export function amountClass(amountMinor: number): number {
  return amountMinor < 1000 ? 0 : amountMinor < 10000 ? 1 : amountMinor < 100000 ? 2 : 3;
}

export function createTrustedUi(ports: UiPorts, timeoutMs?: number): TrustedUi {
  const timeout = timeoutMs === undefined ? CONFIRM_TIMEOUT_MS : timeoutMs;
  let decision = DECISION_NONE;
  let blinks = 0;
  let step = 0;
  let askedAt = 0;
  let downAt = -1;
  let timer: unknown = null;
  let listener: ((decision: number) => void) | null = null;

  function stop(d: number): void {
    decision = d;
    if (timer !== null) ports.clearTimer(timer);
    timer = null;
    ports.setLed(1, false);
    ports.setLed(2, false);
  }

  // The user decided (button or timeout): LEDs off, then the one listener hears it.
  function decide(d: number): void {
    stop(d);
    const l = listener;
    listener = null;
    if (l !== null) l(d);
  }

  function tick(): void {
    timer = null;
    if (decision !== DECISION_PENDING) return;
    if (ports.now() - askedAt >= timeout) {
      decide(DECISION_DECLINED);
      return;
    }
    step = (step + 1) % BLINK_CYCLE_STEPS;
    ports.setLed(2, step < 2 * blinks && step % 2 === 0);
    timer = ports.setTimer(tick, BLINK_STEP_MS);
  }

  return {
    ask: function (cls: number, onDecision?: (decision: number) => void) {
      stop(DECISION_PENDING);
      listener = onDecision || null;
      blinks = cls + 1;
      step = 0;
      askedAt = ports.now();
      downAt = -1; // a press that began before the question does not answer it
      ports.setLed(1, true);
      ports.setLed(2, true);
      timer = ports.setTimer(tick, BLINK_STEP_MS);
    },
    decision: function () {
      return decision;
    },
    reset: function () {
      listener = null;
      stop(DECISION_NONE);
    },
    buttonDown: function () {
      if (decision === DECISION_PENDING) downAt = ports.now();
    },
    buttonUp: function () {
      if (decision !== DECISION_PENDING || downAt < 0) return;
      const held = ports.now() - downAt;
      downAt = -1;
      decide(held < LONG_PRESS_MS ? DECISION_CONFIRMED : DECISION_DECLINED);
    },
  };
}
