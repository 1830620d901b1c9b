/**
 * A small client of the platform's HTTP API (used by the CLI and by tests). Every POST carries an
 * Idempotency-Key (a fresh UUID unless the caller passes one), and a request that fails on the
 * network is retried with the same key, so a retry never acts twice. With `apiKey` every request
 * carries `Authorization: Bearer <key>` (admin and merchant routes need it: docs/PLATFORM.md).
 */
import { randomUUID } from "node:crypto";
import type { ChallengeView, VerdictView } from "./pin-verifier.ts";
import type { ClearingResult } from "./offline-clearing.ts";
import type { CarrierView, RegisteredMerchantView, OrderView, PaymentCodeView, SettlementView, ValidatedCodeView, AuditRow, AuthorizationRequest } from "./service.ts";

export class PlatformRequestError extends Error {
  constructor(readonly httpStatus: number, readonly reason: string, message: string) {
    super(message);
    this.name = "PlatformRequestError";
  }
}

export interface PlatformClientOptions {
  retries?: number;
  timeoutMs?: number;
  /** The admin's or a merchant's API key (`kc_a_…` / `kc_m_…`). */
  apiKey?: string;
}

export class PlatformClient {
  readonly baseUrl: string;
  constructor(baseUrl: string, private readonly opts: PlatformClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new PlatformRequestError(0, "bad-url", `platform address "${baseUrl}" is not a URL — pass e.g. http://127.0.0.1:8787`);
    }
    if (url.protocol !== "http:") throw new PlatformRequestError(0, "bad-url", `platform address must be http://… (loopback), got ${baseUrl}`);
    this.baseUrl = url.origin;
  }

  async request<T>(method: "GET" | "POST", path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    if (method === "POST") {
      headers["content-type"] = "application/json";
      headers["idempotency-key"] = idempotencyKey ?? randomUUID();
    }
    const attempts = 1 + (this.opts.retries ?? 2);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.baseUrl + path, {
          method, headers, body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
      } catch (e) {
        if (attempt < attempts) {
          await new Promise((r) => setTimeout(r, 100 * attempt));
          continue;
        }
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        throw new PlatformRequestError(0, "unreachable", `cannot reach the platform at ${this.baseUrl} (${cause ?? (e as Error).message}) — is \`keycarrier platform serve\` running?`);
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new PlatformRequestError(res.status, "bad-response", `the platform answered ${res.status} with non-JSON: ${text.slice(0, 80)}`);
      }
      if (!res.ok) {
        const err = (json as { error?: { reason?: string; message?: string } }).error;
        throw new PlatformRequestError(res.status, err?.reason ?? "error", err?.message ?? `HTTP ${res.status}`);
      }
      return json as T;
    }
  }

  health() { return this.request<{ ok: true; schemaVersion: number; keyProtection: string }>("GET", "/v1/health"); }
  issueCarrier(req: { issuerId?: string; limit?: number; currency?: string } = {}, key?: string) { return this.request<CarrierView>("POST", "/v1/carriers", req, key); }
  registerMerchant(req: { name: string; merchantId?: number }, key?: string) { return this.request<RegisteredMerchantView>("POST", "/v1/merchants", req, key); }
  rotateMerchantKey(merchantId: number) { return this.request<{ merchantId: number; apiKey: string }>("POST", `/v1/merchants/${merchantId}/keys`, {}); }
  issuePaymentCode(merchantId: number, req: { amount: number; currency: string; orderRef?: string; ttlSeconds?: number }, key?: string) {
    return this.request<PaymentCodeView>("POST", `/v1/merchants/${merchantId}/codes`, req, key);
  }
  validatePaymentCode(code: string) { return this.request<ValidatedCodeView>("POST", "/v1/codes/validate", { code }); }
  createOrder(code: string, key?: string) { return this.request<OrderView>("POST", "/v1/orders", { code }, key); }
  getOrder(orderId: string) { return this.request<OrderView>("GET", `/v1/orders/${encodeURIComponent(orderId)}`); }
  authorize(req: AuthorizationRequest, key?: string) { return this.request<SettlementView>("POST", "/v1/authorizations", req, key); }
  pinChallenge(req: { carrierId: string; orderId?: string; purpose: "pay" | "enrol" | "change" }) { return this.request<ChallengeView>("POST", "/v1/pin/challenges", req); }
  verifyOrderPin(req: { orderId: string; carrierId: string; challenge: string; pinBlock: string; sessionNonce: string; requestCounter: number }) {
    return this.request<VerdictView>("POST", "/v1/pin/verifications", req);
  }
  enrolPin(req: { carrierId: string; challenge: string; pinBlock: string }) { return this.request<{ triesLeft: number }>("POST", "/v1/pin/enrolments", req); }
  changePin(req: { carrierId: string; challenge: string; oldPinBlock: string; newPinBlock: string }) { return this.request<{ verdict: number; triesLeft: number }>("POST", "/v1/pin/changes", req); }
  audit(afterSeq = 0) { return this.request<{ rows: AuditRow[] }>("GET", `/v1/audit?after=${afterSeq}`); }
  // offline credit payments (docs/OFFLINE.md §Platform)
  offlineAuthority() { return this.request<{ publicKey: string; remainingSignatures: number }>("GET", "/v1/offline/authority"); }
  issueOfflineLicense(req: { carrierId: string; publicKey: string; currency: string; perTransactionLimit: number; cumulativeLimit: number; expiry?: number }) {
    return this.request<{ serial: number; carrierId: string; license: string; expiry: number }>("POST", "/v1/offline/licenses", req);
  }
  revokeOffline(req: { serial?: number; carrierId?: string; reason: string }) { return this.request<{ revoked: number[]; sequence: number; list: string }>("POST", "/v1/offline/revocations", req); }
  offlineRevocations() { return this.request<{ sequence: number; list: string; revoked: number[] }>("GET", "/v1/offline/revocations"); }
  clearOffline(records: unknown[], key?: string) { return this.request<{ results: ClearingResult[] }>("POST", "/v1/offline/clearing", { records }, key); }
}
