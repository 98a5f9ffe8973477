/**
 * Prepared {@link Windows} on disk: the one storage format behind the windows
 * caches of `benchmarkWindows` (lib/data/benchmarks.ts) and
 * `Experiment.windows` (lib/experiments/scaffold.ts).
 *
 * An entry is two files next to each other under a base path:
 * - `<base>.<encoding>`: the samples `x` `[n, channels, length]` as float32,
 *   either a `.npy` file (`"npy"`, readable by numpy) or the raw
 *   little-endian bytes (`"f32"`);
 * - `<base>.json`: the sidecar, the other {@link Windows} fields as JSON
 *   ({@link WindowsSidecarFields}) plus whatever the caller records about
 *   the entry (its key, what it was made from, a checksum).
 *
 * Both are written atomically, the sidecar last, so its presence means the
 * entry is complete. Naming entries, keying them and deciding what a damaged
 * one means (an error, or a rebuild) are the caller's.
 *
 * @example
 * await writeWindowsCache(".cache/adl-1f2e", w, "npy", () => ({ spec }));
 * const hit = await readWindowsCache(".cache/adl-1f2e", "npy"); // { windows, sidecar } | null
 */
import { ConfigError, DataFormatError } from "../errors.ts";
import { atomicWrite, writeTextAtomic } from "../fs.ts";
import { decodeNpy, encodeNpy } from "./npy.ts";
import type { Windows } from "./types.ts";

/** How the samples of an entry are stored: a float32 `.npy` file, or raw float32 bytes (`.f32`). */
export type WindowsEncoding = "npy" | "f32";

/**
 * The {@link Windows} fields a sidecar holds, as JSON: typed arrays as
 * lists, non-finite `startSec` values as null.
 */
export interface WindowsSidecarFields {
  /** Windows. */
  n: number;
  /** Channels per window. */
  channels: number;
  /** Samples per window. */
  length: number;
  /** Sample rate (Hz). */
  rateHz: number;
  /** Class names. */
  classes: string[];
  /** Class index per window. */
  y: number[];
  /** Subject per window. */
  subject: string[];
  /** Window start (s) per window, when the windows have them. */
  startSec?: (number | null)[];
  /** Source per window, when the windows have them. */
  source?: string[];
}

/** A cache entry read back: the windows and the whole sidecar (the caller's fields included). */
export interface CachedWindows<M> {
  /** The windows (the fields of {@link cachedWindowFields}). */
  windows: Windows;
  /** The sidecar as written. */
  sidecar: M & WindowsSidecarFields;
}

/** The samples file of the entry at `base`: `<base>.npy` or `<base>.f32`. */
export function windowsDataFile(base: string, encoding: WindowsEncoding): string {
  return `${base}.${encoding}`;
}

/**
 * The fields of {@link Windows} an entry stores (a new object, same arrays):
 * what a cache hit returns, so a miss can return the same.
 */
export function cachedWindowFields(w: Windows): Windows {
  const out: Windows = {
    x: w.x,
    n: w.n,
    channels: w.channels,
    length: w.length,
    y: w.y,
    classes: w.classes,
    subject: w.subject,
    rateHz: w.rateHz,
  };
  if (w.startSec) out.startSec = w.startSec;
  if (w.source) out.source = w.source;
  return out;
}

function encodeSamples(w: Windows, encoding: WindowsEncoding): Uint8Array {
  if (encoding === "npy") return encodeNpy(w.x, [w.n, w.channels, w.length]);
  return new Uint8Array(w.x.buffer, w.x.byteOffset, w.x.byteLength);
}

function decodeSamples(
  bytes: Uint8Array,
  side: WindowsSidecarFields,
  file: string,
  encoding: WindowsEncoding,
): Float32Array {
  if (encoding === "f32") {
    const per = side.channels * side.length;
    if (bytes.byteLength !== side.n * per * 4) {
      throw new DataFormatError(
        file,
        `${bytes.byteLength} bytes, the sidecar says ${side.n} windows of ${per} float32; delete both files`,
      );
    }
    return new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
  }
  const arr = decodeNpy(bytes, file);
  if (!(arr.data instanceof Float32Array)) {
    throw new DataFormatError(file, `dtype ${arr.dtype}, expected <f4`);
  }
  const shape = [side.n, side.channels, side.length];
  if (arr.shape.join(",") !== shape.join(",")) {
    throw new DataFormatError(file, `shape [${arr.shape}], sidecar says [${shape}]`);
  }
  return arr.data;
}

/**
 * Write `w` as the entry at `base`: the samples (`<base>.npy` or
 * `<base>.f32`), then the sidecar `<base>.json` holding `meta(samples)` (the
 * caller's fields, given the encoded samples file, e.g. to record its
 * checksum) and the {@link WindowsSidecarFields} of `w`. `startSec` and
 * `source` are stored when `w` has them.
 *
 * @throws ConfigError when `meta` returns a field of {@link WindowsSidecarFields}
 */
export async function writeWindowsCache(
  base: string,
  w: Windows,
  encoding: WindowsEncoding,
  meta: (samples: Uint8Array) => object = () => ({}),
): Promise<void> {
  const samples = encodeSamples(w, encoding);
  await atomicWrite(windowsDataFile(base, encoding), samples);
  const fields: WindowsSidecarFields = {
    n: w.n,
    channels: w.channels,
    length: w.length,
    rateHz: w.rateHz,
    classes: w.classes,
    y: Array.from(w.y),
    subject: w.subject,
  };
  if (w.startSec) fields.startSec = Array.from(w.startSec, (v) => (Number.isFinite(v) ? v : null));
  if (w.source) fields.source = w.source;
  const extra = meta(samples);
  const clash = Object.keys(extra).find((k) => k in fields);
  if (clash) {
    throw new ConfigError(`windows cache ${base}: meta field "${clash}" is a windows field`);
  }
  // the sidecar last: its presence means the entry is complete
  await writeTextAtomic(`${base}.json`, JSON.stringify({ ...extra, ...fields }));
}

/**
 * Read the entry at `base`; null when it has no sidecar (never written, or
 * not finished). `verify(sidecar, samples)` runs on the sidecar and the raw
 * samples file before they are decoded; it throws to reject the entry (e.g.
 * a key or checksum that does not match).
 *
 * @throws Deno.errors.NotFound when the sidecar exists but the samples file does not
 * @throws SyntaxError for a sidecar that is not JSON
 * @throws DataFormatError for a samples file that does not match the sidecar
 *   (size; for `.npy` also dtype and shape, or a broken file)
 */
export async function readWindowsCache<M = Record<string, unknown>>(
  base: string,
  encoding: WindowsEncoding,
  verify?: (sidecar: M & WindowsSidecarFields, samples: Uint8Array) => void,
): Promise<CachedWindows<M> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${base}.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const side = JSON.parse(text) as M & WindowsSidecarFields;
  const file = windowsDataFile(base, encoding);
  const bytes = await Deno.readFile(file);
  verify?.(side, bytes);
  const w: Windows = {
    x: decodeSamples(bytes, side, file, encoding),
    n: side.n,
    channels: side.channels,
    length: side.length,
    y: Int32Array.from(side.y),
    classes: side.classes,
    subject: side.subject,
    rateHz: side.rateHz,
  };
  if (side.startSec) w.startSec = Float64Array.from(side.startSec, (v) => v ?? NaN);
  if (side.source) w.source = side.source;
  return { windows: w, sidecar: side };
}
