/**
 * The experiment scaffold: what every experiment does around its science —
 * resolve the data folder, cache prepared windows, resume finished pieces,
 * write a run record next to the results, and log progress with elapsed
 * time.
 *
 * Layout of `outDir`:
 * - `run.json`: the {@link RunRecord} (name, spec, git commit, Deno, OS, CPU,
 *   tfjs backend and threads, durations of stages and pieces, sha256 of the
 *   data files read, cache hits), written atomically at the start, after
 *   every piece and at {@link Experiment.finish} / {@link Experiment.fail}.
 * - `<key>.json` per finished piece (e.g. `folds/adl5/frozen/fold3.json`),
 *   the plain JSON value its `compute` returned, written atomically.
 * - `run.log`: every log line of every invocation (appended).
 * - `.cache/` (default `cacheDir` unless `$HAR_CACHE_DIR` is set): prepared
 *   windows, `<key>-<hash>.npy`
 *   (float32 `[n, channels, length]`) + `<key>-<hash>.json` sidecar.
 *
 * Policies (decided here, once, for every experiment):
 * - **Without `resume`** the previous run in `outDir` is discarded: the piece
 *   files its `run.json` lists are deleted and everything is recomputed,
 *   whatever its spec (other files in `outDir` are left alone). This is the
 *   safe default: a result never mixes pieces of two specs.
 * - **With `resume`** the previous run's spec (and name) must equal this
 *   one's, else a `ConfigError` lists the differing fields
 *   (`downstream.epochs: 5 → 10`). Pieces listed in its `run.json` are read
 *   back instead of recomputed; a piece file that exists but is not listed
 *   (the process died between writing it and recording it) is recomputed.
 *   Without a previous `run.json` the run starts fresh.
 * - **A corrupt piece** (a listed file that no longer parses, or whose sha256
 *   differs from the one recorded; atomic writes make this an outside edit
 *   or a broken copy) is a `DataFormatError` naming the file by default;
 *   `corrupt: "recompute"` recomputes it with a warning instead.
 * - **Windows caches** are content-keyed — by the key, the spec of what made
 *   them (default the whole experiment spec; pass a narrower `spec` to share
 *   them across experiments) and the sha256 of their input files — so they
 *   are reused with or without `resume`, and a shared `cacheDir` is safe. A
 *   damaged cache entry is rebuilt with a warning (it is only a cache).
 * - **A run that dies** keeps every finished piece; `run.json` then still
 *   says `"running"` (killed) or `"failed"` with the error ({@link Experiment.fail}).
 * - **Read-only** (`readOnly`: a notebook over a run in progress) reads the
 *   finished pieces of the recorded run and writes nothing into `outDir`; an
 *   unfinished piece is a `ConfigError` rather than a computation.
 *
 * @example
 * const exp = await startExperiment({ name: "toy", spec, outDir: "results/toy", resume: true });
 * const w = await exp.windows("adl", () => prepareAdl(...), ["hmp-adl"]); // inputs under dataDir
 * await exp.stage("downstream", async () => {
 *   for (const k of [0, 1, 2]) await exp.piece(`folds/adl/frozen/fold${k}`, () => runFold(w, k));
 * });
 * await exp.finish(); // run.json: status "done"
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { cpus } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { backendInfo } from "../backend/select.ts";
import { dataDir as defaultDataDir, PROJECT_ROOT } from "../data/paths.ts";
import { locateDataset, unavailable } from "../data/registry.ts";
import type { Windows } from "../data/types.ts";
import { cachedWindowFields, readWindowsCache, writeWindowsCache } from "../data/windows_cache.ts";
import { ConfigError, DataFormatError } from "../errors.ts";
import { writeTextAtomic } from "../fs.ts";

/** Options of {@link startExperiment}. */
export interface ExperimentArgs<S> {
  /** Experiment name, e.g. `"yuan"`; recorded, and checked on resume. */
  name: string;
  /** The typed configuration: plain JSON data (no `NaN`/`Infinity`, typed arrays, Maps or functions). */
  spec: S;
  /** Output folder of results, pieces and `run.json` (created). */
  outDir: string;
  /**
   * Reuse the pieces a previous run with the same spec finished (default
   * false: the previous run's pieces are deleted and recomputed). A spec
   * mismatch is a `ConfigError` naming the differing fields.
   */
  resume?: boolean;
  /**
   * Read a previous run without changing `outDir` (default false): implies
   * `resume` and needs that run's `run.json` (same name and spec). Nothing
   * is written there — no `run.json`, no `run.log` lines, no result files
   * (`writeText` / `writeJson` do nothing) — and a piece the run has not
   * finished is a `ConfigError` instead of being computed. For a notebook
   * over a run still in progress (the windows cache may still be filled).
   */
  readOnly?: boolean;
  /**
   * Folder of the windows caches. Default `$HAR_CACHE_DIR`, else
   * `<outDir>/.cache`; `null` disables caching. Entries are content-keyed,
   * so one folder can be shared by many experiments.
   */
  cacheDir?: string | null;
  /** Data folder; default `$HAR_DATA_DIR` or `<project>/datasets` (`dataDir()` of lib/data/paths.ts). */
  dataDir?: string;
  /**
   * Where log lines go, already prefixed with the elapsed time
   * (`[01:23] …`). Default `console.error`. Lines are also appended to
   * `<outDir>/run.log` unless `logFile` is null.
   */
  log?: (line: string) => void;
  /** Log file; default `<outDir>/run.log`; `null` for none. */
  logFile?: string | null;
  /** What to do with a corrupt piece file on resume: `"error"` (default) or `"recompute"` (with a warning). */
  corrupt?: "error" | "recompute";
  /** Folder whose git commit is recorded; default the project root. */
  gitDir?: string;
}

/** sha256 of one data input: a file, or a folder (all files below it). */
export interface InputChecksum {
  /** Absolute path hashed. */
  path: string;
  /** `"file"` or `"dir"`. */
  kind: "file" | "dir";
  /** Total bytes read. */
  bytes: number;
  /** Files hashed (1 for a file). */
  files: number;
  /**
   * Hex sha256: of the file's bytes, or for a folder of the lines
   * `<relative path>\t<bytes>\t<sha256>\n` of its files in sorted order.
   */
  sha256: string;
}

/** One finished piece in the run record. */
export interface PieceRecord {
  /** The file, relative to `outDir`. */
  file: string;
  /** Compute time (s). */
  seconds: number;
  /** When it was written (ISO 8601). */
  finishedAt: string;
  /** Bytes of the file. */
  bytes: number;
  /** Hex sha256 of the file (checked when it is reused). */
  sha256: string;
  /** Git commit of the code that computed it (null without git). */
  commit: string | null;
  /** True when this invocation read it back instead of computing it. */
  reused: boolean;
}

/** One windows cache lookup of this invocation. */
export interface CacheEntryRecord {
  /** Cache key given to {@link Experiment.windows}. */
  key: string;
  /** Hex spec hash (first 16 characters) in the file name. */
  hash: string;
  /** The `.npy` file (null without a cache folder). */
  file: string | null;
  /** True when read from the cache. */
  hit: boolean;
  /** Windows. */
  n: number;
  /** Time to load or build (s). */
  seconds: number;
}

/** The tfjs backend at the time of the last write of `run.json`. */
export interface BackendRecord {
  /** `tf.getBackend()`: `"wasm"`, `"tensorflow"`, `"cpu"`, or null before any backend. */
  name: string | null;
  /** The path chosen by `initBackend` (`"blas"`, `"wasm"`, …), or null when it was not called. */
  path: string | null;
  /** `initBackend`'s one-line summary, or null. */
  summary: string | null;
  /** BLAS threads (blas path), wasm threads (wasm), else null when unknown. */
  threads: number | null;
  /** Native kernel library, or why not (wasm paths). */
  native: string | null;
}

/** An earlier invocation of the same run (kept across resumes). */
export interface PreviousRun {
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  commit: string | null;
}

/** Status of a run. */
export type RunStatus = "running" | "done" | "failed";

/** `run.json`. */
export interface RunRecord<S = unknown> {
  /** Experiment name. */
  name: string;
  /** The spec. */
  spec: S;
  /** {@link specHash} of the spec. */
  specHash: string;
  /** Status. */
  status: RunStatus;
  /** Start of this invocation (ISO 8601). */
  startedAt: string;
  /** End of this invocation, or null while running. */
  finishedAt: string | null;
  /** True when this invocation resumed an earlier one. */
  resumed: boolean;
  /** The error of a failed run. */
  error:
    | { name: string; message: string; stack?: string; stage?: string; pieces?: string[] }
    | null;
  /** Git state of `gitDir`: commit and whether the work tree had changes (null without git). */
  git: {
    commit: string | null;
    dirty: boolean | null;
    changedFiles: number | null;
    error?: string;
  };
  /** Runtime and machine. */
  runtime: {
    deno: string;
    v8: string;
    typescript: string;
    os: string;
    arch: string;
    cpus: number;
    cpuModel: string | null;
  };
  /** tfjs backend and threads. */
  backend: BackendRecord;
  /** Data folder used. */
  dataDir: string;
  /** Windows cache folder (null: no cache). */
  cacheDir: string | null;
  /** Seconds: this invocation in total, per stage, per piece (reused pieces keep their compute time). */
  durations: {
    total: number | null;
    stages: Record<string, number>;
    pieces: Record<string, number>;
  };
  /** Finished pieces by key. */
  pieces: Record<string, PieceRecord>;
  /** sha256 of every input file/folder read, by path (relative to `dataDir` when inside it). */
  data: Record<string, InputChecksum>;
  /** Windows cache lookups and piece reuse of this invocation. */
  cache: {
    hits: number;
    misses: number;
    piecesReused: number;
    piecesComputed: number;
    windows: CacheEntryRecord[];
  };
  /** Free-form notes ({@link Experiment.note}), e.g. `{ workers: 2 }`. */
  notes: Record<string, unknown>;
  /** Earlier invocations of this run (resumes). */
  previousRuns: PreviousRun[];
}

/** Options of {@link Experiment.windows} beyond the input files. */
export interface WindowsCacheArgs {
  /**
   * Data files or folders the windows are made from; relative paths are
   * relative to `dataDir`. Their sha256 goes into the cache key and the run
   * record.
   */
  inputs?: string[];
  /**
   * What determines the windows (rate, window length, classes, …); default
   * the whole experiment spec. A narrower value lets runs with other
   * training settings (or other experiments) share the cache.
   */
  spec?: unknown;
}

/** The running experiment; see the module docs. */
export interface Experiment<S> {
  /** Name. */
  readonly name: string;
  /** The spec (as recorded: a JSON copy). */
  readonly spec: S;
  /** Output folder. */
  readonly outDir: string;
  /** Data folder. */
  readonly dataDir: string;
  /** Windows cache folder, or null. */
  readonly cacheDir: string | null;
  /** True when resuming. */
  readonly resume: boolean;
  /** True when reading a previous run without writing ({@link ExperimentArgs.readOnly}). */
  readonly readOnly: boolean;
  /** The run record as it stands (a copy). */
  readonly record: RunRecord<S>;
  /**
   * A resumable piece: with `resume` and a recorded file, its value is read
   * back; else `compute` runs and its value is written atomically to
   * `<outDir>/<key>.json` and recorded. The value returned is always the
   * JSON round trip (what a resumed run would read: non-finite numbers
   * become null). A second call with a finished key in the same run returns
   * the stored value without computing.
   *
   * @throws ConfigError for a bad key or a value that is not plain JSON
   * @throws DataFormatError for a corrupt piece file (unless `corrupt: "recompute"`)
   */
  piece<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * Prepared windows, cached in `cacheDir` (see {@link WindowsCacheArgs});
   * the input checksums go into the run record.
   */
  windows(
    key: string,
    make: () => Promise<Windows>,
    inputs?: string[] | WindowsCacheArgs,
  ): Promise<Windows>;
  /** sha256 of data files/folders (each hashed once per run), recorded in `record.data`. */
  checksums(paths: string[]): Promise<Record<string, InputChecksum>>;
  /** The root of a registered dataset under `dataDir` (throws `DatasetUnavailableError` naming the download). */
  locate(dataset: string): Promise<string>;
  /** Run `fn` as a named stage: logged, timed into `durations.stages` (accumulated when repeated). */
  stage<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Log a line (elapsed-time prefix); bound, so it can be passed as a callback. */
  readonly log: (msg: string) => void;
  /**
   * Log a line prefixed with the open stages and the pieces being computed
   * (`downstream › folds/adl/fold3: epoch 2 …`); bound, e.g. `fit({ log: exp.progress })`.
   */
  readonly progress: (msg: string) => void;
  /** Add a free-form note to the run record (saved with the next write). */
  note(key: string, value: unknown): void;
  /** Write a result file atomically, relative to `outDir` (text). */
  writeText(file: string, text: string): Promise<void>;
  /** Write a result file atomically, relative to `outDir` (JSON, non-finite numbers → null). */
  writeJson(file: string, value: unknown): Promise<void>;
  /** Mark the run done and write `run.json`. */
  finish(): Promise<RunRecord<S>>;
  /** Mark the run failed with `err` (finished pieces stay) and write `run.json`. */
  fail(err: unknown): Promise<RunRecord<S>>;
}

const RUN_FILE = "run.json";
const WINDOWS_FORMAT = 1;
const HASH_CHUNK = 4 << 20;

// ---------------------------------------------------------------- JSON

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}

/**
 * Check that `v` is plain JSON data (null, booleans, finite numbers unless
 * `nonFinite`, strings, arrays, plain objects; `toJSON` honoured), naming the
 * offending path.
 */
function checkJson(v: unknown, path: string, nonFinite: boolean): void {
  if (v === null || typeof v === "boolean" || typeof v === "string") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v) && !nonFinite) {
      throw new ConfigError(`${path}: ${v} is not JSON (use null or a finite number)`);
    }
    return;
  }
  if (typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
    return checkJson((v as { toJSON: () => unknown }).toJSON(), path, nonFinite);
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (x !== undefined) checkJson(x, `${path}[${i}]`, nonFinite);
    });
    return;
  }
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x !== undefined) checkJson(x, `${path}.${k}`, nonFinite);
      }
      return;
    }
  }
  const hint = ArrayBuffer.isView(v)
    ? " (convert with Array.from, or cache arrays with windows())"
    : "";
  throw new ConfigError(`${path}: a ${typeName(v)} is not plain JSON data${hint}`);
}

function canonical(v: unknown): string {
  if (
    v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function"
  ) {
    return canonical((v as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(v)) {
    return `[${v.map((x) => (x === undefined ? "null" : canonical(x))).join(",")}]`;
  }
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(
        ",",
      )
    }}`;
  }
  return JSON.stringify(v);
}

/**
 * Canonical JSON of `value` (object keys sorted at every level, no
 * whitespace, `undefined` fields dropped).
 *
 * @throws ConfigError when `value` is not plain JSON (NaN, typed arrays, Maps, …)
 * @example
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  checkJson(value, "value", false);
  return canonical(value);
}

/** Hex sha256 of a string or bytes. */
function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Hex sha256 (64 characters) of the canonical JSON of `value`: equal for
 * equal data whatever the key order; used for cache keys and spec checks.
 *
 * @throws ConfigError when `value` is not plain JSON
 * @example
 * specHash({ a: 1, b: [1, 2] }) === specHash({ b: [1, 2], a: 1 }); // true
 */
export function specHash(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Pieces whose indented JSON exceeds this many bytes are written without indentation. */
export const COMPACT_PIECE_BYTES = 256 << 10;

/**
 * JSON text of a piece value (non-finite numbers → null): one space indent,
 * or compact when the indented text would exceed `COMPACT_PIECE_BYTES`
 * (per-frame predictions: one number per line triples the size).
 */
function pieceText(value: unknown, key: string): string {
  if (value === undefined) {
    throw new ConfigError(
      `piece "${key}": compute returned undefined (return JSON data, e.g. null)`,
    );
  }
  checkJson(value, `piece "${key}"`, true);
  const finite = (
    _k: string,
    v: unknown,
  ) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
  const text = JSON.stringify(value, finite, 1);
  return text.length > COMPACT_PIECE_BYTES ? JSON.stringify(value, finite) : text;
}

function show(v: unknown): string {
  const s = v === undefined ? "(absent)" : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Paths (`a.b[2].c`) where two JSON values differ, with both values. */
export function jsonDiff(
  a: unknown,
  b: unknown,
  path = "",
): { path: string; old: unknown; new: unknown }[] {
  const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
    return keys.flatMap((k) => jsonDiff(ao[k], bo[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => jsonDiff(x, b[i], `${path}[${i}]`));
  }
  return canonical(a ?? null) === canonical(b ?? null) && (a === undefined) === (b === undefined)
    ? []
    : [{ path: path || "(root)", old: a, new: b }];
}

// ---------------------------------------------------------------- files

/** Validate a piece / cache key: `a/b-c_d.e` segments, no `..`, not absolute. */
function checkKey(key: string, what: string): void {
  const ok = /^[A-Za-z0-9][A-Za-z0-9._=+-]*(\/[A-Za-z0-9][A-Za-z0-9._=+-]*)*$/.test(key);
  if (!ok || key.split("/").includes("..")) {
    throw new ConfigError(
      `${what} key "${key}": use path segments of letters, digits and . _ = + - separated by / ` +
        `(e.g. "folds/adl5/frozen/fold3")`,
    );
  }
  if (key.endsWith(".json") || key.endsWith(".npy")) {
    throw new ConfigError(`${what} key "${key}": leave out the extension (it is added)`);
  }
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(HASH_CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    f.close();
  }
  return { sha256: h.digest("hex"), bytes };
}

async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(join(dir, rel))) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const st = e.isSymlink ? await Deno.stat(join(dir, r)) : null;
    if (e.isDirectory || st?.isDirectory) { for (const f of await listFiles(dir, r)) out.push(f); }
    else out.push(r);
  }
  return out;
}

/** sha256 of a file, or of a folder's files (see {@link InputChecksum}). */
async function checksumPath(path: string): Promise<InputChecksum> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataFormatError(path, "input file not found");
    throw e;
  }
  if (!st.isDirectory) {
    const h = await hashFile(path);
    return { path, kind: "file", bytes: h.bytes, files: 1, sha256: h.sha256 };
  }
  const files = await listFiles(path);
  let bytes = 0;
  const lines: string[] = [];
  for (const f of files) {
    const h = await hashFile(join(path, f));
    bytes += h.bytes;
    lines.push(`${f}\t${h.bytes}\t${h.sha256}\n`);
  }
  return { path, kind: "dir", bytes, files: files.length, sha256: sha256(lines.join("")) };
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr).trim().split("\n")[0]);
  return new TextDecoder().decode(r.stdout);
}

async function gitState(dir: string): Promise<RunRecord["git"]> {
  try {
    const commit = (await run("git", ["rev-parse", "HEAD"], dir)).trim();
    const changed = (await run("git", ["status", "--porcelain"], dir)).split("\n").filter((l) => l);
    return { commit, dirty: changed.length > 0, changedFiles: changed.length };
  } catch (e) {
    return { commit: null, dirty: null, changedFiles: null, error: (e as Error).message };
  }
}

function runtimeInfo(): RunRecord["runtime"] {
  let cpuModel: string | null = null;
  try {
    cpuModel = cpus()[0]?.model?.trim() || null;
  } catch { /* no --allow-sys */ }
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency ?? 1,
    cpuModel,
  };
}

function backendRecord(): BackendRecord {
  const info = backendInfo();
  const name = tf.getBackend() ?? null;
  let threads: number | null = info?.blas?.threads ?? null;
  if (threads === null && name === "cpu") threads = 1;
  const native = !info?.native
    ? null
    : "library" in info.native
    ? info.native.library
    : `none: ${info.native.reason}`;
  return { name, path: info?.path ?? null, summary: info?.summary ?? null, threads, native };
}

function fmtElapsed(ms: number): string {
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

const secs = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

// ---------------------------------------------------------------- windows cache

/** The scaffold's fields of a windows cache sidecar (lib/data/windows_cache.ts adds the windows'). */
interface WindowsEntry {
  format: number;
  key: string;
  hash: string;
  createdAt: string;
  inputs: Record<string, string>;
  spec: unknown;
  /** sha256 of the `.npy` file. */
  npySha256: string;
}

/**
 * Throw a ConfigError naming `key` unless `w` is consistent: a float32 `x`
 * of `n × channels × length` values and `n` entries in every per-window field.
 */
function checkWindows(w: Windows, key: string): void {
  const bad = (m: string) => new ConfigError(`windows "${key}": ${m}`);
  if (!(w.x instanceof Float32Array)) throw bad(`x is a ${typeName(w.x)}, expected Float32Array`);
  if (w.x.length !== w.n * w.channels * w.length) {
    throw bad(
      `x has ${w.x.length} values, [n, channels, length] = [${w.n}, ${w.channels}, ${w.length}]`,
    );
  }
  if (w.y.length !== w.n) throw bad(`y has ${w.y.length} entries, n = ${w.n}`);
  if (w.subject.length !== w.n) throw bad(`subject has ${w.subject.length} entries, n = ${w.n}`);
  if (w.startSec && w.startSec.length !== w.n) {
    throw bad(`startSec has ${w.startSec.length} entries`);
  }
  if (w.source && w.source.length !== w.n) throw bad(`source has ${w.source.length} entries`);
}

/** The cached windows at `base`, or null when absent; throws when format, hash or checksum differ. */
async function readEntry(base: string, hash: string): Promise<Windows | null> {
  const hit = await readWindowsCache<WindowsEntry>(base, "npy", (side, npy) => {
    if (side.format !== WINDOWS_FORMAT || side.hash !== hash) {
      throw new Error(`sidecar format ${side.format} / hash ${side.hash} do not match`);
    }
    if (sha256(npy) !== side.npySha256) {
      throw new Error(`${base}.npy: sha256 differs from the sidecar`);
    }
  });
  return hit?.windows ?? null;
}

// ---------------------------------------------------------------- run record

/** The previous `run.json` in `outDir`, or null. */
async function readRunRecord<S>(path: string): Promise<RunRecord<S> | null> {
  const text = await readTextOrNull(path);
  if (text === null) return null;
  try {
    const old = JSON.parse(text) as RunRecord<S>;
    if (typeof old !== "object" || old === null || typeof old.pieces !== "object") {
      throw new Error("not a run record");
    }
    return old;
  } catch (e) {
    throw new ConfigError(
      `${path}: unreadable run record (${(e as Error).message}); delete it to start over`,
    );
  }
}

/** Throw a ConfigError listing how `old` differs from this run's name and spec. */
function checkSameSpec(old: RunRecord, name: string, spec: unknown, path: string): void {
  const diffs = [
    ...(old.name !== name ? [{ path: "(name)", old: old.name, new: name }] : []),
    ...jsonDiff(old.spec, spec),
  ];
  if (!diffs.length) return;
  const list = diffs.slice(0, 12).map((d) => `${d.path}: ${show(d.old)} → ${show(d.new)}`);
  if (diffs.length > 12) list.push(`… and ${diffs.length - 12} more`);
  throw new ConfigError(
    `${path}: written for a different ${diffs[0].path === "(name)" ? "experiment" : "spec"} (${
      list.join("; ")
    }); resume with the same spec, or run without resume to start over`,
  );
}

/** Delete the piece files `old` lists (only inside `outDir`); returns how many existed. */
async function clearPieces(old: RunRecord, outDir: string): Promise<number> {
  let removed = 0;
  const root = resolve(outDir);
  for (const p of Object.values(old.pieces ?? {})) {
    const f = resolve(root, p.file);
    const rel = relative(root, f);
    if (!rel || rel.startsWith("..") || isAbsolute(rel)) continue;
    if (await removeIfPresent(f)) removed++;
  }
  return removed;
}

const jsonText = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1);

// ---------------------------------------------------------------- experiment

/** Where an error was raised: the open stages and the pieces being computed. */
interface Where {
  stage?: string;
  pieces?: string[];
}

/** The {@link Experiment} behind {@link startExperiment}. */
class Run<S> implements Experiment<S> {
  readonly name: string;
  readonly spec: S;
  readonly outDir: string;
  readonly dataDir: string;
  readonly cacheDir: string | null;
  readonly resume: boolean;
  readonly readOnly: boolean;
  private readonly rec: RunRecord<S>;
  private readonly old: RunRecord<S> | null;
  private readonly t0: number;
  private readonly sink: (line: string) => void;
  private readonly logFile: string | null;
  private readonly corrupt: "error" | "recompute";
  private readonly stages: string[] = [];
  private readonly running = new Set<string>();
  private readonly done = new Map<string, Promise<unknown>>();
  private readonly sums = new Map<string, Promise<InputChecksum>>();
  private saving: Promise<void> = Promise.resolve();
  private closed = false;
  /** The last error thrown through a stage or piece and where (for {@link fail}). */
  private failure: { err: unknown; where: Where } | null = null;

  constructor(
    args: ExperimentArgs<S>,
    init: { t0: number; rec: RunRecord<S>; old: RunRecord<S> | null; logFile: string | null },
  ) {
    this.name = args.name;
    this.spec = init.rec.spec;
    this.outDir = args.outDir;
    this.dataDir = init.rec.dataDir;
    this.cacheDir = init.rec.cacheDir;
    this.readOnly = args.readOnly ?? false;
    this.resume = this.readOnly || (args.resume ?? false);
    this.rec = init.rec;
    this.old = init.old;
    this.t0 = init.t0;
    this.sink = args.log ?? ((line: string) => console.error(line));
    this.logFile = init.logFile;
    this.corrupt = args.corrupt ?? "error";
  }

  get record(): RunRecord<S> {
    return structuredClone(this.rec);
  }

  log = (msg: string): void => {
    const line = `[${fmtElapsed(performance.now() - this.t0)}] ${msg}`;
    this.sink(line);
    if (this.logFile) Deno.writeTextFileSync(this.logFile, `${line}\n`, { append: true });
  };

  progress = (msg: string): void => {
    const ctx = [...this.stages, ...this.running].join(" › ");
    this.log(ctx ? `${ctx}: ${msg}` : msg);
  };

  /** Write run.json; writes are queued so the last one always holds the last state. */
  save(): Promise<void> {
    if (this.readOnly) return this.saving;
    this.saving = this.saving.then(async () => {
      this.rec.backend = backendRecord();
      await writeTextAtomic(join(this.outDir, RUN_FILE), JSON.stringify(this.rec, null, 1));
    });
    return this.saving;
  }

  private open(what: string): void {
    if (this.closed) throw new ConfigError(`${what}: experiment "${this.name}" already finished`);
  }

  private where(): Where {
    return {
      ...(this.stages.length ? { stage: this.stages.join(" › ") } : {}),
      ...(this.running.size ? { pieces: [...this.running] } : {}),
    };
  }

  private noteFailure(err: unknown): void {
    if (this.failure?.err !== err) this.failure = { err, where: this.where() };
  }

  piece<T>(key: string, compute: () => Promise<T>): Promise<T> {
    try {
      this.open(`piece "${key}"`);
      checkKey(key, "piece");
      if (key === "run") throw new ConfigError(`piece key "run" is reserved (run.json)`);
    } catch (e) {
      return Promise.reject(e);
    }
    const got = this.done.get(key);
    if (got) return got as Promise<T>;
    const p = this.computePiece(key, compute);
    this.done.set(key, p);
    p.catch(() => this.done.delete(key));
    return p;
  }

  /** The recorded piece's value, or null when it has to be recomputed. */
  private async readPiece(
    key: string,
    file: string,
    rec: PieceRecord,
  ): Promise<{ value: unknown } | null> {
    const text = await readTextOrNull(file);
    if (text === null) {
      this.log(`warning: piece ${key}: ${file} is recorded but missing; recomputing`);
      return null;
    }
    let fault: string;
    if (sha256(text) === rec.sha256) {
      try {
        return { value: JSON.parse(text) };
      } catch (e) {
        fault = `not valid JSON (${(e as Error).message})`;
      }
    } else {
      fault = `sha256 differs from the one recorded in ${RUN_FILE} (${
        new TextEncoder().encode(text).length
      } bytes, ${rec.bytes} recorded): truncated or edited`;
    }
    if (this.corrupt === "recompute") {
      this.log(`warning: piece ${key}: ${file}: ${fault}; recomputing`);
      return null;
    }
    throw new DataFormatError(
      file,
      `${fault}; delete the file to recompute this piece (or pass corrupt: "recompute")`,
    );
  }

  private async computePiece<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const rel = `${key}.json`;
    const file = join(this.outDir, rel);
    const prev = this.rec.pieces[key];
    if (this.resume && prev) {
      const got = await this.readPiece(key, file, prev);
      if (got) {
        prev.reused = true;
        this.rec.cache.piecesReused++;
        this.log(`piece ${key}: reused (computed in ${prev.seconds} s at ${prev.finishedAt})`);
        return got.value as T;
      }
    }
    if (this.readOnly) {
      throw new ConfigError(
        `piece ${key}: not finished in ${
          join(this.outDir, RUN_FILE)
        } (read-only: nothing is computed)`,
      );
    }
    const t = performance.now();
    this.running.add(key);
    let text: string;
    try {
      text = pieceText(await compute(), key);
    } catch (e) {
      this.noteFailure(e);
      throw e;
    } finally {
      this.running.delete(key);
    }
    const seconds = secs(t);
    await writeTextAtomic(file, text);
    this.rec.pieces[key] = {
      file: rel,
      seconds,
      finishedAt: new Date().toISOString(),
      bytes: new TextEncoder().encode(text).length,
      sha256: sha256(text),
      commit: this.rec.git.commit,
      reused: false,
    };
    this.rec.durations.pieces[key] = seconds;
    this.rec.cache.piecesComputed++;
    await this.save();
    this.log(`piece ${key}: done in ${seconds} s`);
    return JSON.parse(text) as T;
  }

  /** Record key of an input: relative to `dataDir` when inside it, else absolute. */
  private inputKey(abs: string): string {
    const r = relative(this.dataDir, abs);
    return r && !r.startsWith("..") && !isAbsolute(r) ? r : abs;
  }

  private hashInput(abs: string): Promise<InputChecksum> {
    let s = this.sums.get(abs);
    if (!s) {
      const t = performance.now();
      const k = this.inputKey(abs);
      s = checksumPath(abs).then((c) => {
        const before = this.old?.data?.[k];
        if (before && before.sha256 !== c.sha256) {
          this.log(
            `warning: ${k} changed since the previous run (sha256 ${before.sha256.slice(0, 12)} → ${
              c.sha256.slice(0, 12)
            })`,
          );
        }
        if (c.bytes > 64 << 20) {
          this.log(`sha256 ${k}: ${(c.bytes / 2 ** 20).toFixed(0)} MiB in ${secs(t)} s`);
        }
        this.rec.data[k] = c;
        return c;
      });
      this.sums.set(abs, s);
    }
    return s;
  }

  async checksums(paths: string[]): Promise<Record<string, InputChecksum>> {
    const out: Record<string, InputChecksum> = {};
    for (const p of paths) {
      const abs = resolve(this.dataDir, p);
      out[this.inputKey(abs)] = await this.hashInput(abs);
    }
    await this.save();
    return out;
  }

  async windows(
    key: string,
    make: () => Promise<Windows>,
    inputs?: string[] | WindowsCacheArgs,
  ): Promise<Windows> {
    this.open(`windows "${key}"`);
    checkKey(key, "windows");
    const o: WindowsCacheArgs = Array.isArray(inputs) ? { inputs } : inputs ?? {};
    const sums = await this.checksums(o.inputs ?? []);
    const inputHashes = Object.fromEntries(Object.entries(sums).map(([k, c]) => [k, c.sha256]));
    const wSpec = o.spec === undefined ? this.spec : o.spec;
    const hash = specHash({
      format: WINDOWS_FORMAT,
      key,
      spec: wSpec,
      inputs: Object.values(inputHashes),
    });
    const h = hash.slice(0, 16);
    const t = performance.now();
    const base = this.cacheDir ? join(this.cacheDir, `${key}-${h}`) : null;
    const file = base ? `${base}.npy` : null;
    const note = async (w: Windows, hit: boolean) => {
      this.rec.cache[hit ? "hits" : "misses"]++;
      this.rec.cache.windows.push({ key, hash: h, file, hit, n: w.n, seconds: secs(t) });
      await this.save();
    };
    if (base) {
      try {
        const w = await readEntry(base, hash);
        if (w) {
          await note(w, true);
          this.log(`windows ${key}: ${w.n} from cache ${file}`);
          return w;
        }
      } catch (e) {
        this.log(
          `warning: windows ${key}: cache ${base} unreadable (${(e as Error).message}); rebuilding`,
        );
      }
    }
    const w = await make();
    checkWindows(w, key);
    if (base) {
      const createdAt = new Date().toISOString();
      await writeWindowsCache(base, w, "npy", (npy): WindowsEntry => ({
        format: WINDOWS_FORMAT,
        key,
        hash,
        createdAt,
        inputs: inputHashes,
        spec: wSpec,
        npySha256: sha256(npy),
      }));
    }
    await note(w, false);
    this.log(`windows ${key}: ${w.n} built in ${secs(t)} s${file ? `, cached as ${file}` : ""}`);
    return cachedWindowFields(w);
  }

  async locate(dataset: string): Promise<string> {
    const root = await locateDataset(dataset, this.dataDir);
    if (!root) throw unavailable(dataset, this.dataDir);
    return root;
  }

  async stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.open(`stage "${name}"`);
    const t = performance.now();
    this.stages.push(name);
    this.log(`stage ${name}: started`);
    try {
      const r = await fn();
      this.log(`stage ${name}: done in ${secs(t)} s`);
      return r;
    } catch (e) {
      this.noteFailure(e);
      this.log(`stage ${name}: failed after ${secs(t)} s: ${(e as Error).message ?? e}`);
      throw e;
    } finally {
      this.stages.splice(this.stages.lastIndexOf(name), 1);
      const s = this.rec.durations.stages;
      s[name] = Math.round(((s[name] ?? 0) + secs(t)) * 100) / 100;
      await this.save();
    }
  }

  note(key: string, value: unknown): void {
    checkJson(value, `note "${key}"`, false);
    this.rec.notes[key] = JSON.parse(JSON.stringify(value));
  }

  writeText(file: string, text: string): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    return writeTextAtomic(join(this.outDir, file), text);
  }

  writeJson(file: string, value: unknown): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    return writeTextAtomic(join(this.outDir, file), jsonText(value));
  }

  async finish(): Promise<RunRecord<S>> {
    this.open("finish");
    this.closed = true;
    if (this.readOnly) {
      this.log(`${this.name}: read ${this.rec.cache.piecesReused} finished pieces (read-only)`);
      return this.record;
    }
    const r = this.rec;
    r.status = "done";
    r.finishedAt = new Date().toISOString();
    r.durations.total = secs(this.t0);
    await this.save();
    this.log(
      `${this.name}: done in ${r.durations.total} s (${r.cache.piecesComputed} pieces computed, ` +
        `${r.cache.piecesReused} reused; windows cache ${r.cache.hits} hits, ${r.cache.misses} misses)`,
    );
    return this.record;
  }

  async fail(err: unknown): Promise<RunRecord<S>> {
    this.closed = true;
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.readOnly) {
      this.log(`${this.name}: reading failed: ${e.message} (read-only: ${RUN_FILE} unchanged)`);
      return this.record;
    }
    const r = this.rec;
    r.status = "failed";
    r.finishedAt = new Date().toISOString();
    r.durations.total = secs(this.t0);
    r.error = {
      name: e.name,
      message: e.message,
      stack: e.stack,
      ...(this.failure && this.failure.err === err ? this.failure.where : this.where()),
    };
    await this.save();
    this.log(
      `${this.name}: FAILED after ${r.durations.total} s: ${e.message} ` +
        `(${Object.keys(r.pieces).length} finished pieces kept; resume to continue)`,
    );
    return this.record;
  }
}

/**
 * Start (or resume) an experiment in `args.outDir` and write the first
 * `run.json` (status `"running"`); see the module docs for the resume,
 * corruption and cache policies.
 *
 * @throws ConfigError for a spec that is not plain JSON, an unreadable
 *   `run.json`, or (with `resume`) a previous run of another name or spec
 */
export async function startExperiment<S>(args: ExperimentArgs<S>): Promise<Experiment<S>> {
  const t0 = performance.now();
  checkJson(args.spec, "spec", false);
  const spec = JSON.parse(JSON.stringify(args.spec)) as S;
  const readOnly = args.readOnly ?? false;
  const resume = readOnly || (args.resume ?? false);
  const runPath = join(args.outDir, RUN_FILE);
  const old = await readRunRecord<S>(runPath);
  if (readOnly && !old) {
    throw new ConfigError(`${runPath}: no run to read (read-only); run the experiment first`);
  }
  if (resume && old) checkSameSpec(old, args.name, spec, runPath);
  if (!readOnly) await Deno.mkdir(args.outDir, { recursive: true });
  const git = await gitState(args.gitDir ?? PROJECT_ROOT);
  const carried = resume && old;
  const pieces: Record<string, PieceRecord> = carried
    ? Object.fromEntries(Object.entries(old.pieces).map(([k, p]) => [k, { ...p, reused: false }]))
    : {};
  const rec: RunRecord<S> = {
    name: args.name,
    spec,
    specHash: specHash(spec),
    status: "running",
    startedAt: new Date().toISOString(),
    finishedAt: null,
    resumed: !!carried,
    error: null,
    git,
    runtime: runtimeInfo(),
    backend: backendRecord(),
    dataDir: resolve(args.dataDir ?? defaultDataDir()),
    cacheDir: args.cacheDir === null
      ? null
      : args.cacheDir ?? Deno.env.get("HAR_CACHE_DIR") ?? join(args.outDir, ".cache"),
    durations: {
      total: null,
      stages: {},
      pieces: Object.fromEntries(Object.entries(pieces).map(([k, p]) => [k, p.seconds])),
    },
    pieces,
    data: {},
    cache: { hits: 0, misses: 0, piecesReused: 0, piecesComputed: 0, windows: [] },
    notes: carried ? { ...(old.notes ?? {}) } : {},
    previousRuns: carried
      ? [...(old.previousRuns ?? []), {
        startedAt: old.startedAt,
        finishedAt: old.finishedAt,
        status: old.status,
        commit: old.git?.commit ?? null,
      }]
      : [],
  };
  if (readOnly) {
    rec.status = old!.status;
    rec.startedAt = old!.startedAt;
    rec.finishedAt = old!.finishedAt;
  }
  const logFile = readOnly
    ? null
    : args.logFile === undefined
    ? join(args.outDir, "run.log")
    : args.logFile;
  if (logFile) {
    Deno.writeTextFileSync(
      logFile,
      `\n=== ${args.name} ${rec.startedAt} ${resume ? "resume" : "fresh"} commit ${
        git.commit ?? "(no git)"
      }${git.dirty ? " (dirty)" : ""}\n`,
      { append: true },
    );
  }
  const run = new Run(args, { t0, rec, old, logFile });
  if (readOnly) {
    run.log(
      `${args.name}: reading ${args.outDir} (${Object.keys(pieces).length} finished pieces; ` +
        `run ${old!.status}, started ${old!.startedAt}; read-only)`,
    );
  } else if (carried) {
    run.log(
      `${args.name}: resuming ${args.outDir} (${Object.keys(pieces).length} finished pieces; ` +
        `previous run ${old.status}, started ${old.startedAt})`,
    );
  } else if (old) {
    const removed = await clearPieces(old, args.outDir);
    run.log(
      `${args.name}: starting over in ${args.outDir}: removed ${removed} pieces of the previous ` +
        `run (pass resume to reuse them)`,
    );
  } else {
    run.log(`${args.name}: ${resume ? "nothing to resume; " : ""}starting in ${args.outDir}`);
  }
  if (git.commit === null) run.log(`git: no commit recorded (${git.error})`);
  await run.save();
  return run;
}

/**
 * Start an experiment, run `body`, then {@link Experiment.finish} — or
 * {@link Experiment.fail} and rethrow when `body` throws.
 *
 * @example
 * const result = await runExperiment({ name: "toy", spec, outDir }, async (exp) => {
 *   return await exp.piece("summary", () => evaluate(spec));
 * });
 */
export async function runExperiment<S, T>(
  args: ExperimentArgs<S>,
  body: (exp: Experiment<S>) => Promise<T>,
): Promise<T> {
  const exp = await startExperiment(args);
  let out: T;
  try {
    out = await body(exp);
  } catch (e) {
    await exp.fail(e);
    throw e;
  }
  await exp.finish();
  return out;
}
