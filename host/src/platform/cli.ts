/**
 * The platform-side CLI commands: `platform serve`, `merchant register|qr`, and the scan half of
 * `pay --qr` (decode the image, validate with the platform, create the order). The carrier
 * authorization step plugs in through `PayOptions.authorize`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { startPlatformServer } from "./http.ts";
import { PlatformClient } from "./client.ts";
import { adminKeyFile, writeKeyFile } from "./auth.ts";
import { platformKeyFromEnv, PLATFORM_KEY_ENV } from "./keystore.ts";
import { checkLedgerLocation, isPostgresUrl } from "./ledger.ts";
import { redact } from "./postgres.ts";
import type { AuthorizationRequest, OrderView, SettlementView } from "./service.ts";
import { parseAmount, formatAmount } from "../qr/currency.ts";
import { renderQrPng, renderQrTerminal, decodeQrImage } from "../qr/image.ts";
import { parsePaymentCode, PaymentCodeError } from "../qr/payload.ts";

export const DEFAULT_PLATFORM_PORT = 8787;
export const PLATFORM_URL_ENV = "KEYCARRIER_PLATFORM";
/** An API key given through the environment instead of --api-key-file. */
export const API_KEY_ENV = "KEYCARRIER_API_KEY";

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

/** Parsed command-line options: `--name value` → value, a bare `--flag` → true. */
export type Options = Record<string, string | true>;

/** An option's value; a bare `--name` is refused, and a missing one too when `required`. */
export function text(options: Options, name: string, required: true): string;
export function text(options: Options, name: string, required?: false): string | undefined;
export function text(options: Options, name: string, required = false): string | undefined {
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

function keycarrierHome(env: NodeJS.ProcessEnv): string {
  return env.KEYCARRIER_HOME || join(homedir(), ".keycarrier");
}

export function defaultLedgerFile(env: NodeJS.ProcessEnv): string {
  return join(keycarrierHome(env), "platform.sqlite");
}

/** Where `merchant register` keeps a merchant's API key and `merchant qr` finds it by default. */
export function defaultMerchantKeyFile(env: NodeJS.ProcessEnv, merchantId: number): string {
  return join(keycarrierHome(env), `merchant-${merchantId}.key`);
}

/**
 * The API key for a command: --api-key-file, else $KEYCARRIER_API_KEY, else the default file (when
 * it exists). `what` names the key in the error.
 */
function apiKey(options: Options, env: NodeJS.ProcessEnv, defaultFile: string, what: string): string {
  const file = text(options, "api-key-file");
  if (file === undefined && env[API_KEY_ENV]) return env[API_KEY_ENV]!.trim();
  const path = file ?? defaultFile;
  if (file === undefined && !existsSync(path)) {
    throw new PlatformUsageError(`this needs ${what}: pass --api-key-file FILE or set ${API_KEY_ENV} (looked for ${path})`);
  }
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    throw new PlatformUsageError(`cannot read the API key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * `platform serve`: runs until `stop` resolves (main.ts resolves it on SIGINT/SIGTERM).
 * `port` is the explicit --port (the global option), or undefined for the default.
 */
export async function cmdPlatformServe(port: string | undefined, options: Options, io: PlatformCliIo, json: boolean, stop: Promise<void>): Promise<number> {
  const portNumber = port === undefined ? DEFAULT_PLATFORM_PORT : /^\d+$/.test(port) && Number(port) <= 65535 ? Number(port) : undefined;
  if (portNumber === undefined) throw new PlatformUsageError(`--port needs a TCP port number 0 … 65535 for the platform, got "${port}"`);
  const db = text(options, "db") ?? defaultLedgerFile(io.env);
  checkLedgerLocation(db);
  const postgres = isPostgresUrl(db);
  if (!postgres) mkdirSync(dirname(db), { recursive: true });
  // A PostgreSQL ledger has no file to put the admin key next to: it goes where the client commands look for it.
  const keyFile = adminKeyFile(postgres ? defaultLedgerFile(io.env) : db);
  if (postgres) mkdirSync(dirname(keyFile), { recursive: true });
  const shown = postgres ? redact(db) : db;
  const platformKey = platformKeyFromEnv(io.env);
  const running = await startPlatformServer({ port: portNumber, db, adminKeyFile: keyFile, platformKey });
  const health = await running.platform.run((o) => o.health());
  if (json) io.stdout(JSON.stringify({ url: running.url, db: shown, engine: running.platform.engine.kind, schemaVersion: health.schemaVersion, keyProtection: health.keyProtection }) + "\n");
  else io.stdout(`platform listening on ${running.url} (ledger ${shown}, schema v${health.schemaVersion})\n`);
  if (!json) {
    io.stdout(running.platform.createdAdminKey !== undefined
      ? `admin API key created and written to ${keyFile} (mode 0600; only its hash is in the ledger)\n`
      : `admin API key: in ${keyFile} since the ledger was created\n`);
  }
  if (health.keyProtection === "dev-plaintext") {
    io.stderr(`WARNING: DEV mode — issuer master keys and merchant QR keys are stored in plaintext in ${shown}; set ${PLATFORM_KEY_ENV} (openssl rand -hex 32) to seal them\n`);
  }
  await stop;
  await running.close();
  if (!json) io.stdout("platform stopped\n");
  return 0;
}

/** `merchant register`: with the admin key; the merchant's own key goes to a 0600 file (--key-out). */
export async function cmdMerchantRegister(options: Options, io: PlatformCliIo, json: boolean): Promise<number> {
  const name = text(options, "name", true);
  const id = positiveInt("id", text(options, "id"), 0xffffffff);
  const key = apiKey(options, io.env, adminKeyFile(defaultLedgerFile(io.env)), "the admin API key (platform serve writes it next to its ledger as <ledger>.admin-key)");
  const client = new PlatformClient(platformUrl(options, io.env), { apiKey: key });
  const { apiKey: merchantKey, ...merchant } = await client.registerMerchant({ name, merchantId: id });
  let keyFile: string | null = null;
  if (merchantKey !== undefined) {
    keyFile = text(options, "key-out") ?? defaultMerchantKeyFile(io.env, merchant.merchantId);
    mkdirSync(dirname(keyFile), { recursive: true });
    writeKeyFile(keyFile, merchantKey);
  }
  if (json) io.stdout(JSON.stringify({ ...merchant, keyFile }) + "\n");
  else {
    io.stdout(`merchant ${merchant.merchantId} registered: ${merchant.name}\n`);
    if (keyFile !== null) {
      const byDefault = keyFile === defaultMerchantKeyFile(io.env, merchant.merchantId);
      io.stdout(`its API key is in ${keyFile} (mode 0600)${byDefault ? ": `merchant qr` uses it" : `: pass it to \`merchant qr --api-key-file ${keyFile}\``}\n`);
    }
  }
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
  const key = apiKey(options, io.env, defaultMerchantKeyFile(io.env, merchantId), `merchant ${merchantId}'s API key (merchant register writes it)`);
  const client = new PlatformClient(platformUrl(options, io.env), { apiKey: key });
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
