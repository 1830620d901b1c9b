/**
 * The platform-side CLI commands: `platform serve`, `merchant register|qr`, and the scan half of
 * `pay --qr` (decode the image, validate with the platform, create the order). The carrier
 * authorization step plugs in through `PayOptions.authorize`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { startPlatformServer } from "./http.ts";
import { PlatformClient } from "./client.ts";
import { platformKeyFromEnv, PLATFORM_KEY_ENV } from "./keystore.ts";
import { checkLedgerLocation } from "./ledger.ts";
import type { AuthorizationRequest, OrderView, SettlementView } from "./service.ts";
import { parseAmount, formatAmount } from "../qr/currency.ts";
import { renderQrPng, renderQrTerminal, decodeQrImage } from "../qr/image.ts";
import { parsePaymentCode, PaymentCodeError } from "../qr/payload.ts";

export const DEFAULT_PLATFORM_PORT = 8787;
export const PLATFORM_URL_ENV = "KEYCARRIER_PLATFORM";

/** What the CLI prints through (the same shape as cli/main.ts's CliIo). */
export interface PlatformCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A usage mistake (exit 2); main.ts maps it to its own UsageError. */
export class PlatformUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlatformUsageError";
  }
}

type Options = Record<string, string | true>;

function text(options: Options, name: string, required: true): string;
function text(options: Options, name: string, required?: false): string | undefined;
function text(options: Options, name: string, required = false): string | undefined {
  const v = options[name];
  if (v === true) throw new PlatformUsageError(`--${name} needs a value`);
  if (v === undefined && required) throw new PlatformUsageError(`--${name} is required`);
  return v;
}

function positiveInt(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new PlatformUsageError(`--${name} needs an integer 1 … ${max}, got "${v}"`);
  return Number(v);
}

export function platformUrl(options: Options, env: NodeJS.ProcessEnv): string {
  return text(options, "platform") ?? (env[PLATFORM_URL_ENV] || `http://127.0.0.1:${DEFAULT_PLATFORM_PORT}`);
}

export function defaultLedgerFile(env: NodeJS.ProcessEnv): string {
  return join(env.KEYCARRIER_HOME || join(homedir(), ".keycarrier"), "platform.sqlite");
}

/**
 * `platform serve`: runs until `stop` resolves (main.ts resolves it on SIGINT/SIGTERM).
 * `port` is the explicit --port (the global option), or undefined for the default.
 */
export async function cmdPlatformServe(port: string | undefined, options: Options, io: PlatformCliIo, json: boolean, stop: Promise<void>): Promise<number> {
  const portNumber = port === undefined ? DEFAULT_PLATFORM_PORT : /^\d+$/.test(port) && Number(port) <= 65535 ? Number(port) : undefined;
  if (portNumber === undefined) throw new PlatformUsageError(`--port needs a TCP port number 0 … 65535 for the platform, got "${port}"`);
  const dbFile = text(options, "db") ?? defaultLedgerFile(io.env);
  checkLedgerLocation(dbFile);
  mkdirSync(dirname(dbFile), { recursive: true });
  const platformKey = platformKeyFromEnv(io.env);
  const running = await startPlatformServer({ port: portNumber, dbFile, platformKey });
  const health = running.platform.health();
  if (json) io.stdout(JSON.stringify({ url: running.url, db: dbFile, schemaVersion: health.schemaVersion, keyProtection: health.keyProtection }) + "\n");
  else io.stdout(`platform listening on ${running.url} (ledger ${dbFile}, schema v${health.schemaVersion})\n`);
  if (health.keyProtection === "dev-plaintext") {
    io.stderr(`WARNING: DEV mode — issuer master keys and merchant QR keys are stored in plaintext in ${dbFile}; set ${PLATFORM_KEY_ENV} (openssl rand -hex 32) to seal them\n`);
  }
  await stop;
  await running.close();
  if (!json) io.stdout("platform stopped\n");
  return 0;
}

export async function cmdMerchantRegister(options: Options, io: PlatformCliIo, json: boolean): Promise<number> {
  const client = new PlatformClient(platformUrl(options, io.env));
  const merchant = await client.registerMerchant({ name: text(options, "name", true), merchantId: positiveInt("id", text(options, "id"), 0xffffffff) });
  io.stdout(json ? JSON.stringify(merchant) + "\n" : `merchant ${merchant.merchantId} registered: ${merchant.name}\n`);
  return 0;
}

export async function cmdMerchantQr(options: Options, io: PlatformCliIo, json: boolean): Promise<number> {
  const merchantId = positiveInt("merchant", text(options, "merchant", true), 0xffffffff)!;
  const currency = text(options, "currency", true).toUpperCase();
  let amount: number;
  try {
    amount = parseAmount(text(options, "amount", true), currency);
  } catch (e) {
    throw new PlatformUsageError((e as Error).message);
  }
  const orderRef = text(options, "order-ref");
  const client = new PlatformClient(platformUrl(options, io.env));
  const code = await client.issuePaymentCode(merchantId, { amount, currency, orderRef, ttlSeconds: positiveInt("ttl", text(options, "ttl"), 7 * 24 * 3600) });
  const out = text(options, "out");
  if (out !== undefined) writeFileSync(out, await renderImage(code.code, out));
  if (json) {
    io.stdout(JSON.stringify({ ...code, out: out ?? null }) + "\n");
    return 0;
  }
  io.stdout(await renderQrTerminal(code.code));
  io.stdout(`merchant ${code.merchantId} asks ${code.display} (order ref ${code.orderRef}), valid until ${new Date(code.expiresAt * 1000).toISOString()}\n`);
  io.stdout(`code: ${code.code}\n`);
  if (out !== undefined) io.stdout(`image written to ${out}\n`);
  return 0;
}

async function renderImage(codeText: string, file: string): Promise<Buffer> {
  const png = await renderQrPng(codeText);
  if (!/\.jpe?g$/i.test(file)) return png;
  const pixels = PNG.sync.read(png);
  return jpeg.encode({ width: pixels.width, height: pixels.height, data: pixels.data }, 90).data;
}

export interface PayOptions {
  /**
   * The carrier step: given the order, obtain the carrier's authorization (through the secure
   * channel, with the user's confirmation and PIN). Not given: pay stops after creating the order.
   */
  authorize?: (order: OrderView) => Promise<AuthorizationRequest>;
}

export interface PayResult { order: OrderView; settlement?: SettlementView }

/** `pay --qr image.png` (or `--code TEXT`): scan → validate with the platform → order [→ authorize → settle]. */
export async function cmdPay(options: Options, io: PlatformCliIo, json: boolean, pay: PayOptions = {}): Promise<number> {
  const image = text(options, "qr");
  const given = text(options, "code");
  if ((image === undefined) === (given === undefined)) throw new PlatformUsageError("pay needs exactly one of --qr <image.png|.jpg> or --code <text>");
  let codeText: string;
  if (image !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(image);
    } catch (e) {
      throw new PlatformUsageError(`cannot read ${image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    codeText = decodeQrImage(bytes);
  } else codeText = given!;
  // Refuse codes that are structurally not ours before asking the platform (no network for junk).
  try {
    parsePaymentCode(codeText);
  } catch (e) {
    if (e instanceof PaymentCodeError) throw new PaymentRefused(e.reason, e.message);
    throw e;
  }
  const client = new PlatformClient(platformUrl(options, io.env));
  const validated = await client.validatePaymentCode(codeText);
  if (!json) io.stdout(`payment code valid: ${validated.merchantName} (merchant ${validated.merchantId}) asks ${validated.display}\n`);
  const order = await client.createOrder(codeText);
  const result: PayResult = { order };
  if (!json) io.stdout(`order ${order.orderId} created: ${order.display} to ${order.merchantName}\n`);
  if (pay.authorize) {
    const auth = await pay.authorize(order);
    result.settlement = await client.authorize(auth);
  }
  if (json) {
    io.stdout(JSON.stringify(result) + "\n");
    return 0;
  }
  if (result.settlement) io.stdout(`settled ${formatAmount(result.settlement.amount, result.settlement.currency)} as ${result.settlement.settlementId} (carrier ${result.settlement.carrierId}, ATC ${result.settlement.atc})\n`);
  else io.stdout(`the order is open (state ${order.state}); a carrier authorizes it with: keycarrier pay --code … --port <carrier> --db <ledger>\n`);
  return 0;
}

/** A code the platform or the scanner refused; `reason` is the stable id (expired, forged, truncated, not-ours, …). */
export class PaymentRefused extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "PaymentRefused";
  }
}
