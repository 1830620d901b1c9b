// Chunk "pay" (firmware/build/bundles.ts CHUNKS): the payment applet (PAY, LOG_READ: applets/qr-payment.ts
// and what only it uses: the verdict check, the cryptogram signer, the log entry encoding). In a
// chunked bundle (KC_CHUNKS) main.ts loads it when PAY or LOG_READ arrives, builds the applet, and
// drops both once that command has replied (a PAY: after the user decided), so an idle carrier, BLANK
// or PERSONALISED, holds none of it (issue #12). The interface is this one factory; the applet gets
// everything from the core in its deps, as it did when main.ts built it at boot.
import { createPaymentApplet } from "../applets/qr-payment.ts";

export interface PayChunk {
  createPaymentApplet: typeof createPaymentApplet;
}

export function payChunk(): PayChunk {
  return { createPaymentApplet: createPaymentApplet };
}
