/**
 * The platform's HTTP face: JSON over HTTP/1.1 on 127.0.0.1 only. Routes and examples:
 * docs/PLATFORM.md. A request with an `Idempotency-Key` header gets the same answer when repeated.
 *
 * Every POST must be `Content-Type: application/json` with a JSON object body, and the admin and
 * merchant routes need `Authorization: Bearer <API key>` (auth.ts): a browser on another origin can
 * send neither without a CORS preflight, which this server never grants, so a cross-site form or
 * text/plain post is refused before it reaches the ledger. Refusals are counted in memory and reach
 * the audit trail aggregated (refusal-audit.ts), never as one ledger write per refused request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Platform, PlatformError, type PlatformOps, type PlatformOptions } from "./service.ts";
import type { Work } from "./work.ts";
import { LedgerError } from "./ledger.ts";
import { KeystoreError } from "./keystore.ts";
import type { Principal } from "./auth.ts";
import { peerRoutes } from "./peer.ts";

export const MAX_REQUEST_BYTES = 64 * 1024;
export const LOOPBACK = "127.0.0.1";

type Json = Record<string, unknown>;
type Ctx = { params: string[]; body: Json; query: URLSearchParams; idempotencyKey: string | undefined; who: Principal | undefined };
type Reply = { status: number; body: unknown };
type Handler = (ctx: Ctx) => Promise<Reply>;
/**
 * Who may call a route: anyone ("payer": the payment code or the carrier's cryptogram in the body is
 * the authentication, and JSON-only still rules out cross-site posts), the admin, or a merchant (the
 * handler checks it is the merchant the route names or owns; the admin passes "merchant" routes only
 * where the handler says so).
 */
type Access = "public" | "payer" | "admin" | "merchant";

/** Refuses unless `who` is the admin or the merchant `merchantId`. */
function ownerOrAdmin(who: Principal | undefined, merchantId: number, what: string): void {
  if (who?.role === "admin" || (who?.role === "merchant" && who.merchantId === merchantId)) return;
  throw new PlatformError(403, "forbidden", `this API key may not read ${what}: it belongs to another merchant`);
}

function route(platform: Platform): Array<{ method: string; path: RegExp; access: Access; handler: Handler }> {
  const ok = async (body: unknown): Promise<Reply> => ({ status: 200, body });
  const created = async (body: unknown): Promise<Reply> => ({ status: 201, body });
  const run = <T>(op: (o: PlatformOps) => Work<T>): Promise<T> => platform.run(op);
  return [
    { method: "GET", path: /^\/v1\/health$/, access: "public", handler: async () => ok(await run((o) => o.health())) },
    { method: "POST", path: /^\/v1\/carriers$/, access: "admin", handler: async ({ body, idempotencyKey }) => created(await run((o) => o.issueCarrier(body, idempotencyKey))) },
    { method: "GET", path: /^\/v1\/carriers\/([^/]+)$/, access: "admin", handler: async ({ params }) => ok(await run((o) => o.getCarrier(params[0]!))) },
    { method: "POST", path: /^\/v1\/merchants$/, access: "admin", handler: async ({ body, idempotencyKey }) => created(await run((o) => o.registerMerchant(body, idempotencyKey))) },
    { method: "POST", path: /^\/v1\/merchants\/(\d{1,10})\/keys$/, access: "admin", handler: async ({ params }) => created(await run((o) => o.rotateMerchantKey(Number(params[0])))) },
    {
      method: "POST", path: /^\/v1\/merchants\/(\d{1,10})\/codes$/, access: "merchant",
      handler: async ({ params, body, idempotencyKey, who }) => {
        const merchantId = Number(params[0]);
        // Only the merchant itself mints its codes (not even the admin: least privilege).
        if (who?.role !== "merchant" || who.merchantId !== merchantId) {
          throw new PlatformError(403, "forbidden", `this API key may not issue payment codes for merchant ${merchantId}: only that merchant's own key can`);
        }
        return created(await run((o) => o.issuePaymentCode({ ...body, merchantId }, idempotencyKey)));
      },
    },
    { method: "POST", path: /^\/v1\/codes\/validate$/, access: "payer", handler: async ({ body }) => ok(await run((o) => o.validatePaymentCode(body))) },
    {
      method: "POST", path: /^\/v1\/orders$/, access: "payer",
      handler: async ({ body, idempotencyKey }) => {
        const { created: isNew, ...order } = await run((o) => o.createOrder(body, idempotencyKey));
        return { status: isNew ? 201 : 200, body: order };
      },
    },
    {
      method: "GET", path: /^\/v1\/orders\/([^/]+)$/, access: "merchant",
      handler: async ({ params, who }) => {
        const order = await run((o) => o.getOrder(params[0]!));
        ownerOrAdmin(who, order.merchantId, `order ${order.orderId}`);
        return ok(order);
      },
    },
    { method: "POST", path: /^\/v1\/authorizations$/, access: "payer", handler: async ({ body, idempotencyKey }) => created(await run((o) => o.authorize(body, idempotencyKey))) },
    // online PIN (docs/PLATFORM.md "Online PIN"): PIN blocks are encrypted to the platform; no PIN in
    // clear. Challenges, verifications and changes are the cardholder's steps (payer routes, like
    // authorizations: the PIN block is the credential); enrolment is the issuer's personalisation step.
    { method: "POST", path: /^\/v1\/pin\/challenges$/, access: "payer", handler: async ({ body }) => created(await run((o) => o.pinChallenge(body))) },
    { method: "POST", path: /^\/v1\/pin\/verifications$/, access: "payer", handler: async ({ body }) => ok(await run((o) => o.verifyOrderPin(body))) },
    { method: "POST", path: /^\/v1\/pin\/enrolments$/, access: "admin", handler: async ({ body }) => created(await run((o) => o.enrolPin(body))) },
    { method: "POST", path: /^\/v1\/pin\/changes$/, access: "payer", handler: async ({ body }) => ok(await run((o) => o.changePin(body))) },
    {
      method: "GET", path: /^\/v1\/settlements\/([^/]+)$/, access: "merchant",
      handler: async ({ params, who }) => {
        const settlement = await run((o) => o.getSettlement(params[0]!));
        ownerOrAdmin(who, settlement.merchantId, `settlement ${settlement.settlementId}`);
        return ok(settlement);
      },
    },
    // offline credit payments (docs/OFFLINE.md §Platform)
    { method: "GET", path: /^\/v1\/offline\/authority$/, access: "public", handler: async () => ok(await run((o) => o.offlineAuthority())) },
    { method: "POST", path: /^\/v1\/offline\/licenses$/, access: "admin", handler: async ({ body }) => created(await run((o) => o.issueOfflineLicense(body))) },
    { method: "GET", path: /^\/v1\/offline\/revocations$/, access: "public", handler: async () => ok(await run((o) => o.offlineRevocations())) },
    { method: "POST", path: /^\/v1\/offline\/revocations$/, access: "admin", handler: async ({ body }) => created(await run((o) => o.revokeOffline(body))) },
    {
      method: "POST", path: /^\/v1\/offline\/clearing$/, access: "merchant",
      handler: async ({ body, who }) => {
        // The uploading terminal's merchant is credited: only a merchant key clears.
        if (who?.role !== "merchant") throw new PlatformError(403, "forbidden", "offline clearing needs the merchant's own API key (the merchant is credited)");
        return ok(await run((o) => o.clearOffline(who.merchantId, body)));
      },
    },
    // peer payments (docs/PEER.md): the carriers' seals and the PIN block are the credentials
    ...peerRoutes(platform),
    {
      method: "GET", path: /^\/v1\/audit$/, access: "admin",
      handler: async ({ query }) => {
        const after = Number(query.get("after") ?? 0);
        if (!Number.isInteger(after) || after < 0) throw new PlatformError(400, "bad-request", "after must be a non-negative integer (an audit seq)");
        return ok({ rows: await run((o) => o.auditTrail({ afterSeq: after, entity: query.get("entity") ?? undefined, entityId: query.get("id") ?? undefined })) });
      },
    },
  ];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

/** Refused before the body is read: a cross-site simple request (form, text/plain, no type) never gets further. */
function requireJsonType(req: IncomingMessage): void {
  if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
    throw new PlatformError(415, "unsupported-media-type", "send the body as a JSON object with Content-Type: application/json ({} when there is nothing to send)");
  }
}

/** The route's access rule against the request's API key (reads the ledger, never writes it). */
async function authorizeRequest(platform: Platform, access: Access, header: string | undefined): Promise<Principal | undefined> {
  if (access === "public" || access === "payer") return header === undefined ? undefined : platform.run((o) => o.authenticate(header));
  if (header === undefined) throw new PlatformError(401, "unauthenticated", "this endpoint needs an API key: send Authorization: Bearer <key> (docs/PLATFORM.md §\"API keys\")");
  const who = await platform.run((o) => o.authenticate(header));
  if (!who) throw new PlatformError(401, "unauthenticated", "the API key is unknown, revoked or malformed");
  if (access === "admin" && who.role !== "admin") throw new PlatformError(403, "forbidden", "this endpoint needs the admin API key");
  return who;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) throw new PlatformError(413, "too-large", `request body is over ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PlatformError(400, "bad-json", `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new PlatformError(400, "bad-request", "request body must be a JSON object");
  return value as Json;
}

/** The JSON error answer for anything a handler (or the ledger's fsync) threw. */
function errorReply(e: unknown): Reply {
  const error = (status: number, reason: string, message: string) => ({ status, body: { error: { reason, message } } });
  if (e instanceof PlatformError) return error(e.httpStatus, e.reason, e.message);
  if (e instanceof LedgerError || e instanceof KeystoreError) return error(503, "ledger-unavailable", e.message);
  return error(500, "internal", `internal error: ${(e as Error).message}`);
}

/**
 * Node's request listener for a Platform; exported so tests can mount it on their own server.
 * It turns on the ledger's group commit: a handler's commits return before their fsync, and every
 * reply — success or refusal, which may reveal a commit as well — waits for `ledger.durable()`, so
 * nothing is acknowledged before it is on disk, and the requests of one event-loop turn share one fsync.
 * On PostgreSQL a commit is durable when it returns; requests run concurrently (engine.ts).
 */
export function createPlatformHandler(platform: Platform, port: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = route(platform);
  platform.engine.enableGroupCommit();
  return (req, res) => {
    void (async () => {
      let reply: Reply;
      try {
        // A browser page on another origin can reach loopback; a foreign Host header (DNS rebinding) is refused.
        const host = req.headers.host ?? "";
        if (host !== `${LOOPBACK}:${port()}` && host !== `localhost:${port()}`) {
          throw new PlatformError(421, "wrong-host", `Host "${host}" is not this platform (use http://${LOOPBACK}:${port()})`);
        }
        const url = new URL(req.url ?? "/", `http://${LOOPBACK}`);
        const matches = routes.filter((r) => r.path.test(url.pathname));
        if (matches.length === 0) throw new PlatformError(404, "no-route", `no endpoint ${url.pathname} — see docs/PLATFORM.md`);
        const r = matches.find((m) => m.method === req.method);
        if (!r) throw new PlatformError(405, "method-not-allowed", `${req.method} is not allowed on ${url.pathname} (use ${matches.map((m) => m.method).join(", ")})`);
        if (req.method === "POST") requireJsonType(req);
        const who = await authorizeRequest(platform, r.access, req.headers.authorization);
        const body = req.method === "POST" ? await readJson(req) : {};
        const keyHeader = req.headers["idempotency-key"];
        reply = await r.handler({
          params: r.path.exec(url.pathname)!.slice(1),
          body,
          query: url.searchParams,
          idempotencyKey: Array.isArray(keyHeader) ? keyHeader[0] : keyHeader,
          who,
        });
      } catch (e) {
        if (e instanceof PlatformError) {
          // Counted in memory (no ledger write); the service already counted its own refusals.
          platform.noteRefusal("http", `${req.method ?? "?"} ${(req.url ?? "").slice(0, 48)}`, e);
          if (e.httpStatus === 401) res.setHeader("www-authenticate", "Bearer");
        }
        reply = errorReply(e);
      }
      try {
        await platform.engine.durable();
      } catch (e) {
        reply = errorReply(e);
      }
      send(res, reply.status, reply.body);
    })();
  };
}

export interface RunningPlatform {
  platform: Platform;
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Opens the ledger and listens on 127.0.0.1:`port` (0 = any free port). */
export async function startPlatformServer(opts: PlatformOptions & { port?: number; platform?: Platform } = {}): Promise<RunningPlatform> {
  const platform = opts.platform ?? (await Platform.open(opts));
  let port = 0;
  const server = createServer(createPlatformHandler(platform, () => port));
  server.keepAliveTimeout = 2000;
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once("error", rejectListen);
      server.listen(opts.port ?? 0, LOOPBACK, () => resolveListen());
    });
  } catch (e) {
    await platform.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "EADDRINUSE" ? `port ${opts.port} on ${LOOPBACK} is in use — pick another with --port` : `cannot listen on ${LOOPBACK}:${opts.port}: ${(e as Error).message}`);
  }
  port = (server.address() as AddressInfo).port;
  return {
    platform, server, port, url: `http://${LOOPBACK}:${port}`,
    close: () => new Promise<void>((done) => {
      server.close(() => {
        void platform.close().then(done, done);
      });
      server.closeAllConnections();
    }),
  };
}
