/**
 * One convention for every command-line entry point (`har <command>`,
 * `deno task quickstart|baseline|yuan|notebooks`):
 *
 * - `--help` / `-h` prints the usage on stdout and exits 0;
 * - a usage error (unknown flag, missing or bad value: {@link UsageError},
 *   or any `ConfigError` while parsing) prints ONE line on stderr,
 *   `<prog>: <message> (see <prog> --help)`, and exits 2;
 * - a user error (any error class of `lib/errors.ts`: bad data, bad
 *   checkpoint, missing dataset; or a missing file / permission) prints one
 *   line `<prog>: <message>` and exits 1;
 * - anything else prints `<prog>: <name>: <message> (run with --debug for
 *   the stack)` and exits 1;
 * - `--debug` (or `$HAR_DEBUG`) adds the stack trace to any error.
 *
 * Numeric flags go through {@link numberFlag} / {@link intFlag}: finite
 * decimal numbers only (no `Infinity`, `0x10`, empty), range-checked, with
 * an error naming the flag.
 *
 * @example
 * ```ts
 * import { cliMain, intFlag, parseFlags } from "../lib/cli.ts";
 * const USAGE = "usage: demo [--trees N]";
 * function parse(args: string[]) {
 *   const { values } = parseFlags("demo", args, { trees: { type: "string" } });
 *   return { trees: intFlag("trees", values.trees as string | undefined, { min: 1, default: 100 }) };
 * }
 * if (import.meta.main) {
 *   Deno.exit(await cliMain({ prog: "demo", usage: USAGE, parse, run: (a) => console.log(a.trees) }, Deno.args));
 * }
 * ```
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import * as errors from "./errors.ts";
import { ConfigError } from "./errors.ts";

/** A bad command line: unknown flag, missing or malformed value. Exit status 2. */
export class UsageError extends ConfigError {
  /** The program whose command line was wrong, when known (set by {@link parseFlags}). */
  prog?: string;
  constructor(message: string, prog?: string) {
    super(message);
    this.name = "UsageError";
    this.prog = prog;
  }
}

/** parseArgs option declarations (`node:util`). */
export type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flags: `values` by flag name, and the positional arguments. */
export interface ParsedFlags {
  /** Flag values (string, boolean, or arrays for `multiple`). */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments, in order. */
  positionals: string[];
}

/**
 * Strictly parse `args` with `node:util` parseArgs. `--help`/`-h` and
 * `--debug` are always accepted (and ignored here: {@link cliMain} handles
 * them). Unknown flags, missing values and unexpected positionals throw a
 * one-line {@link UsageError} naming the flag.
 *
 * @example
 * parseFlags("har datasets", ["--dir", "d", "--json"], { dir: { type: "string" }, json: { type: "boolean" } });
 * // { values: { dir: "d", json: true }, positionals: [] }
 */
export function parseFlags(
  prog: string,
  args: string[],
  options: FlagOptions,
  allowPositionals = false,
): ParsedFlags {
  try {
    const r = parseArgs({
      args,
      strict: true,
      allowPositionals,
      options: {
        ...options,
        help: { type: "boolean", short: "h" },
        debug: { type: "boolean" },
      },
    });
    const values = { ...r.values } as ParsedFlags["values"];
    delete values.help;
    delete values.debug;
    return { values, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(parseArgsMessage(e as Error & { code?: string }), prog);
  }
}

/** A node:util parseArgs error as one short line. */
function parseArgsMessage(e: Error & { code?: string }): string {
  const m = e.message;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `unknown flag ${m.match(/'([^']+)'/)?.[1] ?? m}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = m.match(/'(-[^ ']+)/)?.[1];
    if (flag && /argument missing/.test(m)) return `${flag} needs a value`;
    if (flag) return `${flag} takes no value`;
  }
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = m.match(/'([^']*)'/)?.[1] ?? "";
    return `unexpected argument '${arg}' (this command takes flags only)`;
  }
  return m.split("\n")[0];
}

/** Range of {@link numberFlag}. */
export interface NumberFlagOptions {
  /** Value when the flag is absent (undefined: the flag is required). */
  default?: number;
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  min?: number;
  /** `min` itself is not allowed (e.g. rate > 0). */
  minExclusive?: boolean;
  /** Largest allowed value (inclusive unless `maxExclusive`). */
  max?: number;
  /** `max` itself is not allowed. */
  maxExclusive?: boolean;
  /** Require an integer (seeds, counts). */
  integer?: boolean;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse and check a numeric flag value: a finite decimal number (not
 * `Infinity`, `NaN`, hex or empty) within the given range. Throws a
 * {@link UsageError} `--<flag>: expected …, got "<raw>"`.
 *
 * @example
 * numberFlag("rate", "30", { min: 0, minExclusive: true }); // 30
 * numberFlag("rate", "Infinity", { min: 0, minExclusive: true });
 * // UsageError: --rate: expected a finite number > 0, got "Infinity"
 */
export function numberFlag(
  flag: string,
  raw: string | undefined,
  opts: NumberFlagOptions = {},
): number {
  if (raw === undefined) {
    if (opts.default !== undefined) return opts.default;
    throw new UsageError(`--${flag} is required`);
  }
  const want = describeRange(opts);
  const x = Number(raw);
  const bad = !DECIMAL.test(raw.trim()) || !Number.isFinite(x) ||
    (opts.integer && !Number.isSafeInteger(x)) ||
    (opts.min !== undefined && (opts.minExclusive ? x <= opts.min : x < opts.min)) ||
    (opts.max !== undefined && (opts.maxExclusive ? x >= opts.max : x > opts.max));
  if (bad) throw new UsageError(`--${flag}: expected ${want}, got "${raw}"`);
  return x;
}

/** {@link numberFlag} for integers (seeds, counts, sizes). */
export function intFlag(
  flag: string,
  raw: string | undefined,
  opts: Omit<NumberFlagOptions, "integer"> = {},
): number {
  return numberFlag(flag, raw, { ...opts, integer: true });
}

function describeRange(o: NumberFlagOptions): string {
  const kind = o.integer ? "an integer" : "a finite number";
  const parts: string[] = [];
  if (o.min !== undefined) parts.push(`${o.minExclusive ? ">" : ">="} ${o.min}`);
  if (o.max !== undefined) parts.push(`${o.maxExclusive ? "<" : "<="} ${o.max}`);
  return parts.length ? `${kind} ${parts.join(" and ")}` : kind;
}

/**
 * Check a choice flag. Throws {@link UsageError}
 * `--<flag>: expected a | b, got "<raw>"`.
 *
 * @example
 * choiceFlag("layout", "nlc", ["ncl", "nlc"], "ncl"); // "nlc"
 */
export function choiceFlag<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
  dflt: T,
): T {
  if (raw === undefined) return dflt;
  if (!allowed.includes(raw as T)) {
    throw new UsageError(`--${flag}: expected ${allowed.join(" | ")}, got "${raw}"`);
  }
  return raw as T;
}

/**
 * Check that windows of `windowSec` at `rateHz` hold at least 2 samples
 * and that consecutive windows advance by at least one sample. Throws a
 * {@link UsageError} naming `--window` / `--overlap` and the numbers.
 *
 * @example
 * checkWindowFlags(10, 5, 30); // ok: 300 samples, step 150
 * checkWindowFlags(0.00001, 0, 30); // UsageError: --window: 0.00001 s at 30 Hz holds 0 samples; need at least 2
 */
export function checkWindowFlags(windowSec: number, overlapSec: number, rateHz: number): void {
  const samples = Math.round(windowSec * rateHz);
  if (samples < 2) {
    throw new UsageError(
      `--window: ${windowSec} s at ${rateHz} Hz holds ${samples} sample(s); need at least 2 ` +
        `(raise --window or --rate)`,
    );
  }
  if (overlapSec >= windowSec) {
    throw new UsageError(
      `--overlap (${overlapSec} s) must be smaller than --window (${windowSec} s)`,
    );
  }
  const step = Math.round((windowSec - overlapSec) * rateHz);
  if (step < 1) {
    throw new UsageError(
      `--overlap: windows of ${windowSec} s overlapping by ${overlapSec} s advance by less than ` +
        `one sample at ${rateHz} Hz`,
    );
  }
}

/** True when `args` ask for help (`--help` / `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/** True when `args` contain `--debug` (before `--`) or `$HAR_DEBUG` is set. */
export function wantsDebug(args: readonly string[]): boolean {
  let env: string | undefined;
  try {
    env = Deno.env.get("HAR_DEBUG");
  } catch { /* no env permission */ }
  if (env && env !== "0") return true;
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--debug") return true;
  }
  return false;
}

/** Error classes a user can fix (bad input, not a bug): every class of `lib/errors.ts`. */
const USER_ERRORS: (new (...a: never[]) => Error)[] = [
  ...(Object.values(errors) as unknown[]).filter((v): v is new (...a: never[]) => Error =>
    typeof v === "function" && v.prototype instanceof Error
  ),
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
];

/** Whether `e` is a user error (exit 1, no stack) rather than a bug. */
export function isUserError(e: unknown): boolean {
  return USER_ERRORS.some((C) => e instanceof C);
}

/** Exit status and stderr lines for an error (what {@link cliMain} prints). */
export function describeError(
  prog: string,
  e: unknown,
  opts: { usage?: boolean; debug?: boolean } = {},
): { code: number; lines: string[] } {
  const err = e instanceof Error ? e : new Error(String(e));
  const lines: string[] = [];
  let code = 1;
  if (opts.usage || err instanceof UsageError) {
    code = 2;
    lines.push(`${prog}: ${err.message} (see ${prog} --help)`);
  } else if (isUserError(err)) {
    const named = err instanceof ConfigError ? "" : `${err.name}: `;
    lines.push(`${prog}: ${named}${err.message}`);
  } else {
    lines.push(
      `${prog}: ${err.name}: ${err.message}${
        opts.debug ? "" : " (run with --debug for the stack)"
      }`,
    );
  }
  if (opts.debug && err.stack) lines.push(err.stack);
  return { code, lines };
}

/** An entry point for {@link cliMain}: parse the flags, then run. */
export interface CliCommand<T> {
  /** Program name in messages, e.g. `"har windows"`, `"quickstart"`. */
  prog: string;
  /** Usage text (`--help`). */
  usage: string;
  /**
   * Turn `args` (without `--debug`) into the command's arguments. Any
   * `ConfigError` thrown here is a usage error (exit 2).
   */
  parse: (args: string[]) => T;
  /** Do the work; a returned number is the exit status (default 0). */
  run: (parsed: T) => Promise<number | void> | number | void;
}

/**
 * Run an entry point under the convention above and return its exit status
 * (`Deno.exit(await cliMain(cmd, Deno.args))`).
 */
export async function cliMain<T>(cmd: CliCommand<T>, args: readonly string[]): Promise<number> {
  const debug = wantsDebug(args);
  if (wantsHelp(args)) {
    console.log(cmd.usage);
    return 0;
  }
  const rest = dropDebug(args);
  let parsed: T;
  try {
    parsed = cmd.parse(rest);
  } catch (e) {
    return report(cmd.prog, e, { usage: e instanceof ConfigError, debug });
  }
  try {
    const code = await cmd.run(parsed);
    return typeof code === "number" ? code : 0;
  } catch (e) {
    return report(cmd.prog, e, { debug });
  }
}

function report(prog: string, e: unknown, opts: { usage?: boolean; debug?: boolean }): number {
  const { code, lines } = describeError(prog, e, opts);
  for (const l of lines) console.error(l);
  return code;
}

/** `args` without `--debug` (before `--`). */
export function dropDebug(args: readonly string[]): string[] {
  const i = args.indexOf("--");
  const head = (i < 0 ? args : args.slice(0, i)).filter((a) => a !== "--debug");
  return i < 0 ? head : [...head, ...args.slice(i)];
}

/**
 * A progress reporter for long work: writes `\r<label> <done>/<total>` to
 * stderr at most every `intervalMs` (on a terminal; elsewhere one line per
 * 10 % step), and a final newline from `done()`.
 *
 * @example
 * const p = progressReporter("hmp-adl", { unit: "bytes" });
 * p.update(1_048_576, 10_485_760); // "hmp-adl 1.0 MB / 10.5 MB (10 %)"
 * p.done();
 */
export function progressReporter(
  label: string,
  opts: { unit?: "bytes" | "items"; intervalMs?: number; write?: (s: string) => void } = {},
): { update(done: number, total: number | null): void; done(): void } {
  const interval = opts.intervalMs ?? 250;
  const enc = new TextEncoder();
  let tty = false;
  try {
    tty = Deno.stderr.isTerminal();
  } catch { /* not available */ }
  const write = opts.write ?? ((s: string) => Deno.stderr.writeSync(enc.encode(s)));
  const fmt = (n: number) =>
    opts.unit === "bytes"
      ? n >= 1e9
        ? `${(n / 1e9).toFixed(2)} GB`
        : n >= 1e6
        ? `${(n / 1e6).toFixed(1)} MB`
        : `${(n / 1e3).toFixed(0)} kB`
      : String(n);
  let last = 0, lastStep = -1, shown = false, line = "";
  return {
    update(done: number, total: number | null) {
      const pct = total && total > 0 ? Math.floor((100 * done) / total) : null;
      line = `${label} ${fmt(done)}${total ? ` / ${fmt(total)}` : ""}${
        pct !== null ? ` (${pct} %)` : ""
      }`;
      const now = performance.now();
      if (tty) {
        if (now - last < interval && done !== total) return;
        last = now;
        write(`\r${line}\x1b[K`);
        shown = true;
      } else {
        const step = pct !== null ? Math.floor(pct / 10) : Math.floor(now / 10_000);
        if (step === lastStep) return;
        lastStep = step;
        write(`${line}\n`);
      }
    },
    done() {
      if (tty && shown) write(`\r${line}\x1b[K\n`);
    },
  };
}

/**
 * A comma-separated flag whose every item is one of `allowed` (undefined
 * when the flag is absent).
 *
 * @throws UsageError naming the flag for an empty list or an unknown item
 * @example
 * listFlag("stages", "dual,thigh", ["dual", "thigh", "amount"]); // ["dual", "thigh"]
 */
export function listFlag<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
): T[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(",").map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) {
    throw new UsageError(`--${flag} needs at least one of ${allowed.join(", ")}`);
  }
  for (const x of items) {
    if (!allowed.includes(x as T)) {
      throw new UsageError(`--${flag}: unknown "${x}" (${allowed.join(", ")})`);
    }
  }
  return items as T[];
}
