// Shared by the attack tests: a platform served on an ephemeral loopback port over a ledger file in
// its own temp dir, and a raw HTTP client that sends exactly the bytes and headers an attacker
// (or a browser page on another origin) would.
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPlatformServer, type RunningPlatform } from "../../host/src/platform/http.ts";
import type { PlatformOptions } from "../../host/src/platform/service.ts";

export interface ServedPlatform extends RunningPlatform {
  dir: string;
  ledgerFile: string;
  dispose(): Promise<void>;
}

export async function servedPlatform(opts: PlatformOptions = {}): Promise<ServedPlatform> {
  const dir = mkdtempSync(join(tmpdir(), "kc-attack-"));
  const ledgerFile = join(dir, "platform.sqlite");
  const running = await startPlatformServer({ ...opts, dbFile: ledgerFile, port: 0 });
  return {
    ...running, dir, ledgerFile,
    dispose: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawReply { status: number; json: { error?: { reason: string; message: string } } & Record<string, unknown> }

/** One HTTP request with exactly these headers and body (Host is always the platform's own). */
export function raw(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode!, json: JSON.parse(text) });
        } catch (e) {
          reject(new Error(`non-JSON answer ${res.statusCode}: ${text.slice(0, 80)} (${(e as Error).message})`));
        }
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

export const json = (extra: Record<string, string> = {}) => ({ "content-type": "application/json", ...extra });
export const bearer = (key: string | undefined) => ({ "content-type": "application/json", authorization: `Bearer ${key}` });

export function count(p: RunningPlatform, table: string): number {
  return Number(p.platform.ledger.get(`SELECT count(*) AS n FROM ${table}`)!.n);
}
