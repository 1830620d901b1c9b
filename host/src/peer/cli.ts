/**
 * `keycarrier peer request|pay|status` (docs/PEER.md): each side's host relays between its own
 * carrier (--port: USB serial, tcp://, or pcsc:"READER" for a carrier on an NFC reader) and a
 * served platform (--platform URL, `keycarrier platform serve`). No keys are needed on either host:
 * both seals are end to end to the platform.
 */
import { createInterface } from "node:readline/promises";
import type { KeyCarrier } from "../client.ts";
import { PlatformUsageError, platformUrl, text, type Options, type PlatformCliIo } from "../platform/cli.ts";
import { pressVirtualButton } from "../flows/cli.ts";
import { formatAmount } from "../qr/currency.ts";
import { httpPeerPlatform, payRequest, requestPayment, DEFAULT_REQUEST_TTL_S } from "./flow.ts";

export const PEER_HELP = `Usage: keycarrier peer request --port <spec> --amount MINOR_UNITS [--currency EUR] [--ttl SECONDS] [--platform URL] [--control PORT] [--json]
       keycarrier peer pay --port <spec> (--request HEX | --digest HEX) [--pin DIGITS] [--platform URL] [--control PORT] [--json]
       keycarrier peer status --digest HEX [--platform URL] [--json]

A peer payment between two carriers (docs/PEER.md, PROTOCOL.md §12), through a served platform.
request   the payee's side: the carrier shows the amount class and waits for a short press on its
          button, then makes the request and seals it to the platform; this host registers it and
          prints the request (hex) and its digest for the payer's host (any channel: QR, link, NFC).
pay       the payer's side: the request (--request, or fetched from the platform by --digest) goes
          to the carrier, which waits for a short press and then makes the instruction sealed to the
          platform; the PIN (--pin, or asked) goes to the platform encrypted to it, never to the
          carrier; the platform matches and settles once and this prints the settlement.
status    what both sides poll: open, expired, or settled with the settlement.
  --port <spec>        the carrier: /dev/ttyACM0, tcp://host:port, pcsc:"READER" (NFC reader)
  --platform <URL>     platform address (default $KEYCARRIER_PLATFORM or http://127.0.0.1:8787)
  --ttl <SECONDS>      how long the request stays payable (default ${DEFAULT_REQUEST_TTL_S}; the platform allows up to 900)
  --control <PORT>     press the virtual board's button through the emulator's control port`;

async function askPin(): Promise<string> {
  if (!process.stdin.isTTY) throw new PlatformUsageError("no --pin given and stdin is not a terminal to ask for it");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question("PIN (goes to the platform, encrypted): ")).trim();
  } finally {
    rl.close();
  }
}

function pressHook(options: Options): ((signal: AbortSignal) => Promise<void>) | undefined {
  const controlPort = text(options, "control");
  if (controlPort === undefined) return undefined;
  if (!/^\d{1,5}$/.test(controlPort)) throw new PlatformUsageError(`--control needs the emulator's control port number, got "${controlPort}"`);
  return async (signal) => { await pressVirtualButton(Number(controlPort), 100, signal); };
}

/** `keycarrier peer status` (no carrier). */
export async function cmdPeerStatus(options: Options, io: PlatformCliIo, json: boolean): Promise<number> {
  const digest = text(options, "digest");
  if (digest === undefined) throw new PlatformUsageError("peer status needs --digest HEX (the request's digest)");
  const s = await httpPeerPlatform(platformUrl(options, io.env)).requestStatus(digest);
  if (json) io.stdout(JSON.stringify({ ok: true, ...s }) + "\n");
  else io.stdout(`request ${s.requestDigest}: ${s.display} to ${s.payeeId}, ${s.state}${s.settlement ? ` as ${s.settlement.settlementId} from ${s.settlement.payerId} (ATC ${s.settlement.atc})` : ""}\n`);
  return 0;
}

/** `keycarrier peer request` and `keycarrier peer pay` (a carrier on --port). */
export async function cmdPeer(kc: KeyCarrier, sub: "request" | "pay", options: Options, io: PlatformCliIo, json: boolean): Promise<number> {
  const platform = httpPeerPlatform(platformUrl(options, io.env));
  const onStep = json ? undefined : (line: string) => io.stderr(`• ${line}\n`);
  const confirm = pressHook(options);
  if (sub === "request") {
    const amountText = text(options, "amount");
    if (amountText === undefined || !/^[1-9]\d{0,15}$/.test(amountText)) throw new PlatformUsageError("peer request needs --amount MINOR_UNITS (a positive integer, e.g. 1250 for 12.50)");
    const currency = text(options, "currency") ?? "EUR";
    if (!/^[A-Z]{3}$/.test(currency)) throw new PlatformUsageError(`--currency must be three capital letters, got "${currency}"`);
    const ttlText = text(options, "ttl");
    if (ttlText !== undefined && !/^\d{1,4}$/.test(ttlText)) throw new PlatformUsageError(`--ttl must be seconds, got "${ttlText}"`);
    const r = await requestPayment(kc, platform, { amount: Number(amountText), currency, ...(ttlText ? { ttlSeconds: Number(ttlText) } : {}) }, { ...(confirm ? { confirm } : {}), ...(onStep ? { onStep } : {}) });
    if (json) io.stdout(JSON.stringify({ ok: true, request: r.request, requestDigest: r.requestDigest, expiresAt: r.registered.expiresAt, display: r.registered.display }) + "\n");
    else io.stdout(`request ${r.requestDigest} for ${formatAmount(r.registered.amount, r.registered.currency)} registered; hand the payer:\n  --request ${r.request}\n(or --digest ${r.requestDigest})\n`);
    return 0;
  }
  let request = text(options, "request");
  const digest = text(options, "digest");
  if ((request === undefined) === (digest === undefined)) throw new PlatformUsageError("peer pay needs exactly one of --request HEX or --digest HEX");
  if (request === undefined) request = (await platform.requestStatus(digest!)).request;
  if (!/^([0-9a-f]{2})+$/.test(request)) throw new PlatformUsageError("--request must be lowercase hex (what `peer request` printed)");
  const pin = text(options, "pin");
  const r = await payRequest(kc, platform, request, { pin: pin ?? (() => askPin()), ...(confirm ? { confirm } : {}), ...(onStep ? { onStep } : {}) });
  if (json) io.stdout(JSON.stringify({ ok: true, atc: r.atc, settlement: r.settlement }) + "\n");
  else io.stdout(`paid ${r.settlement.display} to ${r.settlement.payeeId}: settlement ${r.settlement.settlementId} (ATC ${r.atc})\n`);
  return 0;
}
