/**
 * `keycarrier pos …`: the offline payment terminal's commands (docs/OFFLINE.md §Terminal).
 *
 *   pos init --log FILE (--authority HEX | --platform URL) [--terminal-id HEX]
 *   pos revocations --log FILE [--platform URL]
 *   pos pay --log FILE --port SPEC --amount 12.50 --currency EUR
 *   pos upload --log FILE [--platform URL] [--api-key-file FILE]   (the merchant's key)
 *   pos log --log FILE
 */
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { KeyCarrier } from "../client.ts";
import { PlatformClient } from "../platform/client.ts";
import { API_KEY_ENV, PlatformUsageError, platformUrl, text, type Options } from "../platform/cli.ts";
import { formatAmount, parseAmount, AmountError } from "../qr/currency.ts";
import { PosTerminal } from "./terminal.ts";

export interface PosIo { stdout: (t: string) => void; stderr: (t: string) => void; env: NodeJS.ProcessEnv }

export const POS_HELP = `Usage: keycarrier pos <init|revocations|pay|upload|log> --log FILE [options]

An offline payment terminal (docs/OFFLINE.md): it holds the credit authority's public key and the
signed revocation list, verifies a carrier's license and payment authorization without any network,
keeps its own log (SQLite, --log FILE), and uploads it for clearing later.

  pos init --log FILE --authority HEX      trust this authority HSS public key (or --platform URL:
                                           fetch it once and print its fingerprint to compare)
           [--terminal-id HEX]             8-byte terminal id (random by default)
  pos revocations --log FILE [--platform URL]
                                           download, verify and store the newest revocation list
  pos pay --log FILE --port SPEC --amount 12.50 --currency EUR
                                           one offline payment: license, request, button press, signature
  pos upload --log FILE [--platform URL] [--api-key-file FILE]
                                           upload records without a clearing answer (merchant API key,
                                           or $${API_KEY_ENV}); prints each record's status
  pos log --log FILE                       the terminal's payments, refusals and clearing status`;


function hexBytes(name: string, v: string, length?: number): Uint8Array {
  if (!/^([0-9a-fA-F]{2})+$/.test(v) || (length !== undefined && v.length !== length * 2)) throw new PlatformUsageError(`--${name} must be ${length ? `${length * 2}` : "an even number of"} hex digits`);
  return Uint8Array.from(Buffer.from(v, "hex"));
}

const fingerprint = (key: Uint8Array): string => createHash("sha256").update(key).digest("hex").slice(0, 16);

export const POS_OPTIONS: Record<string, string[]> = {
  init: ["log", "authority", "platform", "terminal-id"],
  revocations: ["log", "platform"],
  pay: ["log", "amount", "currency"],
  upload: ["log", "platform", "api-key-file"],
  log: ["log"],
};

export async function cmdPosInit(options: Options, io: PosIo, json: boolean): Promise<number> {
  const file = text(options, "log", true);
  const given = text(options, "authority");
  let key: Uint8Array;
  let client: PlatformClient | undefined;
  if (given !== undefined) key = hexBytes("authority", given);
  else {
    if (options.platform === undefined) throw new PlatformUsageError("pos init needs --authority HEX (the credit authority's HSS public key) or --platform URL to fetch it");
    client = new PlatformClient(platformUrl(options, io.env));
    key = Buffer.from((await client.offlineAuthority()).publicKey, "hex");
  }
  const id = text(options, "terminal-id");
  const terminal = PosTerminal.init(file, key, id === undefined ? {} : { terminalId: hexBytes("terminal-id", id, 8) });
  try {
    let sequence: number | undefined;
    if (client) sequence = terminal.setRevocationList(Buffer.from((await client.offlineRevocations()).list, "hex")).sequence;
    const out = { log: file, terminalId: Buffer.from(terminal.terminalId).toString("hex"), authorityFingerprint: fingerprint(key), revocationList: sequence ?? null };
    io.stdout(json ? JSON.stringify(out) + "\n" : `terminal ${out.terminalId} trusts authority key ${out.authorityFingerprint} (SHA-256, first 8 bytes: compare it with the issuer's)${sequence ? `; revocation list ${sequence} stored` : "; download a revocation list with `pos revocations` before taking payments"}\n`);
  } finally {
    terminal.close();
  }
  return 0;
}

export async function cmdPosRevocations(options: Options, io: PosIo, json: boolean): Promise<number> {
  const terminal = PosTerminal.open(text(options, "log", true));
  try {
    const client = new PlatformClient(platformUrl(options, io.env));
    const list = terminal.setRevocationList(Buffer.from((await client.offlineRevocations()).list, "hex"));
    io.stdout(json ? JSON.stringify({ sequence: list.sequence, revoked: list.revoked }) + "\n" : `revocation list ${list.sequence} verified and stored: ${list.revoked.length} revoked license(s)\n`);
  } finally {
    terminal.close();
  }
  return 0;
}

export async function cmdPosPay(kc: KeyCarrier, options: Options, io: PosIo, json: boolean): Promise<number> {
  const currency = text(options, "currency", true);
  let amount: number;
  try {
    amount = parseAmount(text(options, "amount", true), currency);
  } catch (e) {
    throw new PlatformUsageError(`--amount/--currency: ${(e as AmountError).message}`);
  }
  const terminal = PosTerminal.open(text(options, "log", true));
  try {
    const paid = await terminal.pay(kc, amount, currency, { onSent: () => { if (!json) io.stderr(`press the carrier's button to pay ${formatAmount(amount, currency)} offline…\n`); } });
    io.stdout(json ? JSON.stringify({ ok: true, ...paid }) + "\n" : `paid ${formatAmount(amount, currency)} offline: carrier ${paid.carrierId}, ATC ${paid.atc}, one-time key ${paid.leafIndex}, license ${paid.licenseSerial}; verified and logged as #${paid.id}\n`);
  } finally {
    terminal.close();
  }
  return 0;
}

function merchantKey(options: Options, env: NodeJS.ProcessEnv): string {
  const file = text(options, "api-key-file");
  if (file === undefined) {
    const k = env[API_KEY_ENV];
    if (!k) throw new PlatformUsageError(`pos upload needs the merchant's API key: --api-key-file FILE or $${API_KEY_ENV}`);
    return k.trim();
  }
  try {
    return readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new PlatformUsageError(`cannot read the API key file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function cmdPosUpload(options: Options, io: PosIo, json: boolean): Promise<number> {
  const terminal = PosTerminal.open(text(options, "log", true));
  try {
    const client = new PlatformClient(platformUrl(options, io.env), { apiKey: merchantKey(options, io.env) });
    const s = await terminal.upload(client);
    if (json) io.stdout(JSON.stringify(s) + "\n");
    else {
      io.stdout(`uploaded ${s.uploaded} record(s): ${s.cleared} cleared, ${s.alreadyCleared} already cleared, ${s.refused.length} refused\n`);
      for (const r of s.refused) io.stdout(`  #${r.id} refused [${r.reason}]: ${r.message}\n`);
    }
  } finally {
    terminal.close();
  }
  return 0;
}

export async function cmdPosLog(options: Options, io: PosIo, json: boolean): Promise<number> {
  const terminal = PosTerminal.open(text(options, "log", true));
  try {
    const payments = terminal.log.payments().map((p) => ({
      id: p.id, carrierId: p.carrierId, atc: p.atc, leaf: p.leafIndex, amount: p.amount, currency: p.currency, date: p.date,
      license: p.licenseSerial, clearing: p.uploadStatus ?? "pending", reason: p.uploadReason,
    }));
    const refusals = terminal.log.refusals();
    if (json) io.stdout(JSON.stringify({ payments, refusals }) + "\n");
    else {
      for (const p of payments) io.stdout(`#${p.id} ${p.date} ${formatAmount(p.amount, p.currency)} carrier ${p.carrierId} ATC ${p.atc} leaf ${p.leaf}: ${p.clearing}${p.reason ? ` [${p.reason}]` : ""}\n`);
      for (const r of refusals) io.stdout(`refused ${new Date(r.at).toISOString()} ${r.carrierId ?? ""} [${r.reason}] ${r.message}\n`);
      if (payments.length + refusals.length === 0) io.stdout("the log is empty\n");
    }
  } finally {
    terminal.close();
  }
  return 0;
}
