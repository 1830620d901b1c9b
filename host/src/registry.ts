import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Running virtual boards announce themselves here so `keycarrier devices` can list them:
 * one file per emulator, `~/.keycarrier/emulators/<pid>.json` = {pid, tcp, pty, board}.
 * `keycarrier emulate` calls `registerEmulator` on start and the returned `unregister` on exit;
 * files whose pid is gone (a crash, kill -9) are pruned by `listEmulators`.
 */
export interface EmulatorEntry {
  pid: number;
  /** `tcp://host:port` when the emulator listens on TCP, else null. */
  tcp: string | null;
  /** The PTY path a serial client can open, else null. */
  pty: string | null;
  /** Board profile name, e.g. "puckjs". */
  board: string;
}

/** `$KEYCARRIER_HOME/emulators`, default `~/.keycarrier/emulators` (tests point KEYCARRIER_HOME elsewhere). */
export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KEYCARRIER_HOME || join(homedir(), ".keycarrier"), "emulators");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isEntry(v: unknown): v is EmulatorEntry {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return (
    Number.isInteger(o.pid) &&
    (o.pid as number) > 0 &&
    (o.tcp === null || typeof o.tcp === "string") &&
    (o.pty === null || typeof o.pty === "string") &&
    typeof o.board === "string"
  );
}

/** Writes the entry atomically (temp file + rename) and returns a function that removes it. */
export function registerEmulator(entry: EmulatorEntry, dir: string = registryDir()): () => void {
  if (!isEntry(entry)) throw new Error(`registerEmulator: bad entry ${JSON.stringify(entry)} — need {pid, tcp, pty, board}`);
  if (entry.tcp === null && entry.pty === null) throw new Error("registerEmulator: give at least one of tcp or pty, or clients cannot reach it");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${entry.pid}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(entry) + "\n");
  renameSync(tmp, file);
  return () => rmSync(file, { force: true });
}

/** Live emulators, oldest pid first. Stale and unreadable files are deleted as a side effect. */
export function listEmulators(dir: string = registryDir()): EmulatorEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const live: EmulatorEntry[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const file = join(dir, name);
    let entry: unknown;
    try {
      entry = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      entry = undefined;
    }
    if (isEntry(entry) && isAlive(entry.pid)) live.push(entry);
    else rmSync(file, { force: true });
  }
  return live.sort((a, b) => a.pid - b.pid);
}
