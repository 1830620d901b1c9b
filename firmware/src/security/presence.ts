// Physical presence for WIPE (SECURITY.md §5): the user holds the button for holdMs; that arms a
// confirmation that one WIPE may consume within windowMs. The platform feeds button edges
// (setWatch on BTN1); the handler stays synchronous, as the dispatcher requires.
export interface Presence {
  // true once per completed hold; consuming it disarms it
  takeConfirmation(): boolean;
}

export interface ButtonPresence extends Presence {
  buttonDown(): void;
  buttonUp(): void;
}

export const PRESENCE_HOLD_MS = 3000;
export const PRESENCE_WINDOW_MS = 10000;

export function createButtonPresence(now: () => number, holdMs?: number, windowMs?: number): ButtonPresence {
  const hold = holdMs === undefined ? PRESENCE_HOLD_MS : holdMs;
  const window = windowMs === undefined ? PRESENCE_WINDOW_MS : windowMs;
  let downAt = -1;
  let armedAt = -1;
  function armIfHeld(): void {
    if (downAt >= 0 && now() - downAt >= hold) armedAt = now();
  }
  return {
    buttonDown: function () {
      downAt = now();
    },
    buttonUp: function () {
      armIfHeld();
      downAt = -1;
    },
    takeConfirmation: function () {
      armIfHeld();
      const ok = armedAt >= 0 && now() - armedAt <= window;
      armedAt = -1;
      if (ok) downAt = -1; // one hold, one wipe
      return ok;
    },
  };
}
