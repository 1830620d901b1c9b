import { DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES } from "../link.ts";
/** A usage mistake: exit code 2, message printed with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface GlobalOptions {
  port: string | undefined;
  json: boolean;
  timeoutMs: number;
  retries: number;
  verbose: boolean;
  help: boolean;
  baudRate: number | undefined;
}

export interface ParsedArgs {
  command: string | undefined;
  globals: GlobalOptions;
  /** Command-specific `--name value` / `--flag` options, by name without dashes. */
  options: Record<string, string | true>;
  positionals: string[];
  /** Everything after the command name, untouched (for `emulate`, which parses its own). */
  rest: string[];
}

const GLOBAL_VALUE_FLAGS: Record<string, keyof GlobalOptions> = {
  "--port": "port",
  "-p": "port",
  "--timeout": "timeoutMs",
  "--retries": "retries",
  "--baud": "baudRate",
};
const GLOBAL_BOOL_FLAGS: Record<string, keyof GlobalOptions> = {
  "--json": "json",
  "--verbose": "verbose",
  "-v": "verbose",
  "--help": "help",
  "-h": "help",
};

export { DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES } from "../link.ts";


function nonNegativeInt(flag: string, text: string, min = 0): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${flag} needs an integer ≥ ${min}, got "${text}"`);
  return Number(text);
}

/**
 * Global options may appear before or after the command (`keycarrier --json info` and
 * `keycarrier info --json` mean the same). `--name=value` works for every value option.
 * Command options are collected loosely here; each command checks its own names.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): ParsedArgs {
  const globals: GlobalOptions = {
    port: env.KEYCARRIER_PORT || undefined,
    json: false,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    retries: DEFAULT_RETRIES,
    verbose: false,
    help: false,
    baudRate: undefined,
  };
  const options: Record<string, string | true> = {};
  const positionals: string[] = [];
  let command: string | undefined;
  let rest: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    if (command === "emulate") {
      // emulate owns the rest of the line (its own --port, --help, … included).
      rest = argv.slice(i);
      break;
    }
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("-") && next.length > 1)) throw new UsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    if (flag in GLOBAL_VALUE_FLAGS) {
      const key = GLOBAL_VALUE_FLAGS[flag]!;
      const value = takeValue();
      if (key === "port") globals.port = value;
      else if (key === "timeoutMs") globals.timeoutMs = nonNegativeInt(flag, value, 1);
      else if (key === "retries") globals.retries = nonNegativeInt(flag, value);
      else if (key === "baudRate") globals.baudRate = nonNegativeInt(flag, value, 1);
      continue;
    }
    if (flag in GLOBAL_BOOL_FLAGS) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      (globals as unknown as Record<string, boolean>)[GLOBAL_BOOL_FLAGS[flag]!] = true;
      continue;
    }
    if (flag.startsWith("--") && flag.length > 2) {
      const name = flag.slice(2);
      const next = argv[i + 1];
      if (inline !== undefined) options[name] = inline;
      else if (next !== undefined && !next.startsWith("-")) {
        options[name] = next;
        i++;
      } else options[name] = true;
      continue;
    }
    if (flag.startsWith("-") && flag.length > 1) throw new UsageError(`unknown option ${flag}`);
    if (command === undefined) command = raw;
    else positionals.push(raw);
  }
  return { command, globals, options, positionals, rest };
}

/** Rejects command options the command does not know, so a typo never silently does nothing. */
export function checkOptions(command: string, options: Record<string, string | true>, known: string[]): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw new UsageError(`unknown option --${name} for \`${command}\``);
  }
}
