/**
 * A throw-away PostgreSQL server for the tests and the bench: a private cluster in a fresh temp
 * dir (initdb), listening only on a Unix socket in that dir — no TCP port, so suites running at
 * once never collide — stopped and deleted by `stop()`. Uses the server binaries of the machine
 * (Debian's `postgresql` package: scripts/install-system-deps.sh installs it; or $KC_PG_BIN).
 * PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user (or
 * `nobody`), through spawn's uid/gid.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface PgServer {
  /** Connection URL of the cluster's `postgres` database (superuser `kc`, trust auth over the private socket). */
  url: string;
  dir: string;
  /** The postmaster's pid (its backends are its children). */
  pid: number;
  /** Stops the server (immediate shutdown) and deletes the cluster. */
  stop(): Promise<void>;
}

export interface PgServerOptions {
  /** fsync the server's WAL (default true: commits are durable as in production). */
  fsync?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

/** The directory holding initdb and postgres, or undefined. */
export function findPgBin(): string | undefined {
  const fromEnv = process.env.KC_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, "initdb")) ? fromEnv : undefined;
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path.replace(/\/initdb$/, "") : undefined;
}

/** uid/gid to run the server as: ourselves, or an unprivileged user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined | string {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const id = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (id.status === 0 && gid.status === 0) return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  return "running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as";
}

/** Why a PostgreSQL server cannot be started here (undefined: it can be tried). */
export function pgServerUnavailable(): string | undefined {
  if (!findPgBin()) return "no PostgreSQL server binaries (initdb, postgres): install Debian's postgresql package (scripts/install-system-deps.sh) or set KC_PG_BIN";
  const user = serverUser();
  return typeof user === "string" ? user : undefined;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}): ${log().trim()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 20 s: ${(e as Error).message}; ${log().trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** Creates and starts a private cluster; throws with the reason if it cannot (see pgServerUnavailable). */
export async function startPgServer(opts: PgServerOptions = {}): Promise<PgServer> {
  const why = pgServerUnavailable();
  if (why) throw new Error(why);
  const bin = findPgBin()!;
  const user = serverUser() as { uid: number; gid: number } | undefined;
  const dir = mkdtempSync(join(tmpdir(), "kc-pg-"));
  const data = join(dir, "data");
  try {
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(join(bin, "initdb"), ["-D", data, "-U", "kc", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], {
      encoding: "utf8", cwd: dir, ...(user ?? {}),
    });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout || init.error?.message}`);
    const settings: Record<string, string | number> = {
      listen_addresses: "''", unix_socket_directories: dir, port: 5432, fsync: opts.fsync === false ? "off" : "on",
      max_connections: 64, shared_buffers: "64MB", logging_collector: "off", ...opts.settings,
    };
    const args = ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${String(v).replace(/^''$/, "")}`])];
    const child = spawn(join(bin, "postgres"), args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], ...(user ?? {}) });
    let log = "";
    child.stderr!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    // The cluster must not outlive this process, whatever way it ends.
    const killOnExit = () => child.kill("SIGQUIT");
    process.once("exit", killOnExit);
    const url = `postgres://kc@localhost/postgres?host=${encodeURIComponent(dir)}`;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await waitReady(url, child, () => log);
    } catch (e) {
      child.kill("SIGQUIT");
      await exited;
      throw e;
    }
    return {
      url, dir, pid: child.pid!,
      async stop() {
        process.removeListener("exit", killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGQUIT");
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A fresh database on the server (each test its own): returns its URL. */
export async function createDatabase(server: PgServer, name: string): Promise<string> {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`database name ${name}: lowercase letters, digits and _`);
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.url.replace("/postgres?", `/${name}?`);
}
