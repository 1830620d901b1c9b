// main.ts builds the payment applet on first use on a BLANK carrier (issue #12: ~70 vars less while
// blank and through personalisation) and puts stand-ins for PAY and LOG_READ in the dispatchers.
// The stand-ins repeat the applet's id, states and fields; this checks they are the applet's own.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { CMD_LOG_READ, CMD_PAY, createPaymentApplet } from "../../src/applets/qr-payment.ts";
import { STATE_PERSONALISED } from "../../src/protocol.ts";

describe("main.ts's PAY and LOG_READ stand-ins", () => {
  it("carry the applet's ids, allowed states and fields", () => {
    const applet = createPaymentApplet({ carrier: {} as never, store: {} as never, ui: { reset() {} } as never, prims: {} as never, verdictBinding: () => "" });
    const [pay, logRead] = applet.commands();
    // PAY reads its own layout (runRaw): no field check by the dispatcher, for the applet or the stand-in
    expect([pay!.id, pay!.allowedStates, pay!.fields, typeof pay!.runRaw]).toEqual([CMD_PAY, 1 << STATE_PERSONALISED, undefined, "function"]);
    expect([logRead!.id, logRead!.allowedStates, logRead!.fields]).toEqual([CMD_LOG_READ, 1 << STATE_PERSONALISED, 1]);
    const main = readFileSync(new URL("../../src/main.ts", import.meta.url), "utf8");
    expect(main).toContain("[paymentCommand(0, CMD_PAY), paymentCommand(1, CMD_LOG_READ, 1)]");
    expect(main).toMatch(/runRaw: function \(body, late\) \{\s*const c = paymentApplet\(\)\.commands\(\)\[i\]!;/);
    expect(main).toMatch(/allowedStates: 1 << STATE_PERSONALISED, fields: fields/);
  });
});
