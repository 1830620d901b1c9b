/**
 * The platform's HTTP face: JSON over HTTP/1.1 on 127.0.0.1 only. Routes and examples:
 * docs/PLATFORM.md. A request with an `Idempotency-Key` header gets the same answer when repeated.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Platform, PlatformError, type PlatformOptions } from "./service.ts";
import { LedgerError } from "./ledger.ts";
import { KeystoreError } from "./keystore.ts";

export const MAX_REQUEST_BYTES = 64 * 1024;
export const LOOPBACK = "127.0.0.1";

type Json = Record<string, unknown>;
type Handler = (ctx: { params: string[]; body: Json; query: URLSearchParams; idempotencyKey: string | undefined }) => { status: number; body: unknown };

function route(platform: Platform): Array<{ method: string; path: RegExp; handler: Handler }> {
  const ok = (body: unknown) => ({ status: 200, body });
  const created = (body: unknown) => ({ status: 201, body });
  return [
    { method: "GET", path: /^\/v1\/health$/, handler: () => ok(platform.health()) },
    { method: "POST", path: /^\/v1\/carriers$/, handler: ({ body, idempotencyKey }) => created(platform.issueCarrier(body, idempotencyKey)) },
    { method: "GET", path: /^\/v1\/carriers\/([^/]+)$/, handler: ({ params }) => ok(platform.getCarrier(params[0]!)) },
    { method: "POST", path: /^\/v1\/merchants$/, handler: ({ body, idempotencyKey }) => created(platform.registerMerchant(body, idempotencyKey)) },
    {
      method: "POST", path: /^\/v1\/merchants\/(\d{1,10})\/codes$/,
      handler: ({ params, body, idempotencyKey }) => created(platform.issuePaymentCode({ ...body, merchantId: Number(params[0]) }, idempotencyKey)),
    },
    { method: "POST", path: /^\/v1\/codes\/validate$/, handler: ({ body }) => ok(platform.validatePaymentCode(body)) },
    {
      method: "POST", path: /^\/v1\/orders$/,
      handler: ({ body, idempotencyKey }) => {
        const { created: isNew, ...order } = platform.createOrder(body, idempotencyKey);
        return { status: isNew ? 201 : 200, body: order };
      },
    },
    { method: "GET", path: /^\/v1\/orders\/([^/]+)$/, handler: ({ params }) => ok(platform.getOrder(params[0]!)) },
    { method: "POST", path: /^\/v1\/authorizations$/, handler: ({ body, idempotencyKey }) => created(platform.authorize(body, idempotencyKey)) },
    { method: "GET", path: /^\/v1\/settlements\/([^/]+)$/, handler: ({ params }) => ok(platform.getSettlement(params[0]!)) },
    {
      method: "GET", path: /^\/v1\/audit$/,
      handler: ({ query }) => {
        const after = Number(query.get("after") ?? 0);
        if (!Number.isInteger(after) || after < 0) throw new PlatformError(400, "bad-request", "after must be a non-negative integer (an audit seq)");
        return ok({ rows: platform.auditTrail({ afterSeq: after, entity: query.get("entity") ?? undefined, entityId: query.get("id") ?? undefined }) });
      },
    },
  ];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
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
  if (text.trim() === "") return {};
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    throw new PlatformError(415, "unsupported-media-type", "send the body as JSON with Content-Type: application/json");
  }
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
function errorReply(e: unknown): { status: number; body: unknown } {
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
 */
export function createPlatformHandler(platform: Platform, port: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = route(platform);
  platform.ledger.enableGroupCommit();
  return (req, res) => {
    void (async () => {
      let reply: { status: number; body: unknown };
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
        const body = req.method === "POST" ? await readJson(req) : {};
        const keyHeader = req.headers["idempotency-key"];
        reply = r.handler({
          params: r.path.exec(url.pathname)!.slice(1),
          body,
          query: url.searchParams,
          idempotencyKey: Array.isArray(keyHeader) ? keyHeader[0] : keyHeader,
        });
      } catch (e) {
        reply = errorReply(e);
      }
      try {
        await platform.ledger.durable();
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
    platform.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "EADDRINUSE" ? `port ${opts.port} on ${LOOPBACK} is in use — pick another with --port` : `cannot listen on ${LOOPBACK}:${opts.port}: ${(e as Error).message}`);
  }
  port = (server.address() as AddressInfo).port;
  return {
    platform, server, port, url: `http://${LOOPBACK}:${port}`,
    close: () => new Promise<void>((done) => {
      server.close(() => {
        platform.close();
        done();
      });
      server.closeAllConnections();
    }),
  };
}
