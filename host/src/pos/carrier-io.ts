/**
 * The terminal's side of the carrier's offline commands over any transport (the KeyCarrier client):
 * reading the license in chunks, and an OFFLINE_PAY with its signature read back in chunks. Every
 * response field is checked; nothing here trusts the carrier — terminal.ts verifies what it got.
 */
import type { KeyCarrier } from "../client.ts";
import type { CborMap } from "../codec.ts";
import { DeviceError } from "../errors.ts";
import { OfflineError } from "../offline/errors.ts";
import { payRequestBody, type OfflinePayRequest } from "../offline/authorization.ts";
import { MAX_LICENSE_BYTES } from "../offline/license.ts";
import { MAX_CHUNK, OfflineCommand, OfflineStatus, PAY_DECLINED } from "./commands.ts";

/** Largest signature a terminal accepts (an 8-level HSS signature with W1 stays below). */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

function protocol(message: string): never {
  throw new OfflineError("bad-format", `carrier answer: ${message}`);
}

function bytesField(m: CborMap, key: number, what: string): Uint8Array {
  const v = m.get(key);
  if (!(v instanceof Uint8Array)) protocol(`${what} (field ${key}) is not a byte string`);
  if (v.length === 0 || v.length > MAX_CHUNK) protocol(`${what} chunk of ${v.length} bytes (must be 1–${MAX_CHUNK})`);
  return v;
}

function uintField(m: CborMap, key: number, what: string, max: number): number {
  const v = m.get(key);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) protocol(`${what} (field ${key}) is not an unsigned integer ≤ ${max}`);
  return v;
}

/** Maps the carrier's offline refusals to the terminal's reasons; other device errors pass through. */
async function carrierCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DeviceError) {
      const detail = e.detail ? `: ${e.detail}` : "";
      if (e.status === OfflineStatus.OFFLINE_LIMIT) throw new OfflineError("carrier-offline-limit", `the carrier refuses offline payment (offline limit reached${detail}) — pay online`);
      if (e.status === OfflineStatus.OFFLINE_KEYS_EXHAUSTED) throw new OfflineError("carrier-keys-exhausted", `the carrier has no one-time keys left${detail} — it must be re-issued`);
      if (e.status === OfflineStatus.NO_LICENSE) throw new OfflineError("carrier-no-license", `the carrier holds no offline license${detail}`);
      if (e.status === PAY_DECLINED) throw new OfflineError("declined", `the cardholder declined the payment on the carrier${detail}`);
    }
    throw e;
  }
}

/** OFFLINE_LICENSE, chunk by chunk until the announced total. */
export async function readLicense(kc: KeyCarrier): Promise<Uint8Array> {
  return carrierCall(async () => {
    const first = await kc.request(OfflineCommand.OFFLINE_LICENSE, new Map());
    const total = uintField(first, 2, "total license length", MAX_LICENSE_BYTES);
    if (total === 0) protocol("license length 0");
    const out = new Uint8Array(total);
    let chunk = bytesField(first, 1, "license");
    let at = 0;
    for (;;) {
      if (chunk.length > total - at) protocol(`license chunk overruns the announced ${total} bytes`);
      out.set(chunk, at);
      at += chunk.length;
      if (at === total) return out;
      const next = await kc.request(OfflineCommand.OFFLINE_LICENSE, new Map([[1, at]]));
      if (next.has(2) && next.get(2) !== total) protocol("license length changed between chunks");
      chunk = bytesField(next, 1, "license");
    }
  });
}

export interface PayAnswer {
  atc: number;
  signature: Uint8Array;
}

export interface PayOptions {
  /** How long the terminal waits for the cardholder's button press (ms). */
  deadlineMs?: number;
  onSent?: () => void;
}

/** OFFLINE_PAY (waits for the button), then OFFLINE_SIG_READ until the signature is complete. */
export async function offlinePay(kc: KeyCarrier, req: OfflinePayRequest, opts: PayOptions = {}): Promise<PayAnswer> {
  return carrierCall(async () => {
    const first = await kc.request(OfflineCommand.OFFLINE_PAY, payRequestBody(req), { deadlineMs: opts.deadlineMs ?? 35_000, ...(opts.onSent ? { onSent: opts.onSent } : {}) });
    const atc = uintField(first, 1, "offline ATC", 0xffffffff);
    const total = uintField(first, 2, "signature length", MAX_SIGNATURE_BYTES);
    if (total === 0) protocol("signature length 0");
    const signature = new Uint8Array(total);
    let chunk = bytesField(first, 3, "signature");
    let at = 0;
    for (;;) {
      if (chunk.length > total - at) protocol(`signature chunk overruns the announced ${total} bytes`);
      signature.set(chunk, at);
      at += chunk.length;
      if (at === total) return { atc, signature };
      const next = await kc.request(OfflineCommand.OFFLINE_SIG_READ, new Map([[1, at]]));
      chunk = bytesField(next, 1, "signature");
    }
  });
}
