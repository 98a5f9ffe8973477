/**
 * The unlabelled pre-training pool of the Yuan et al. experiment: every
 * wrist/pocket accelerometer recording available here — all WISDM watch and
 * phone files, HMP ADL including the `*_MODEL` trials, MobiFall, the Axivity
 * `.cwa` sample and Daphnet (each of its three placements, ankle / thigh /
 * trunk, as its own 3-axis stream) — labels dropped, resampled to 30 Hz
 * (linear interpolation, split at gaps > 1 s) and cut into 10-s windows
 * (`stepSec` apart, no window across a gap).
 *
 * Built once and cached as a raw float32 file plus a JSON sidecar in
 * `.cache/yuan/` (keyed by the options), so later runs load it in a second.
 * `subject` of each window is `<source>:<subject>` (so the per-subject
 * orientation augmentation never mixes datasets); `source` holds the source.
 *
 * @example
 * const pool = await loadPretrainWindows({ sources: ["hmp-adl", "daphnet"], seed: 0 });
 * pool.windows.n;            // windows, [n, 3, 300]
 * pool.perSource["daphnet"]; // { recordings, windows, hours }
 * const tenth = poolFraction(pool.windows, 0.1, 1);
 */
import { join } from "node:path";
import type { Recording, Windows } from "../../data/types.ts";
import { loadDataset } from "../../data/registry.ts";
import { selectPlacement } from "../../data/daphnet.ts";
import { dataDir } from "../../data/paths.ts";
import { ConfigError, DataFormatError } from "../../errors.ts";
import { rng } from "../../random.ts";
import { resample } from "../../signal/resample.ts";
import { makeWindows } from "../../signal/windows.ts";
import { selectWindows } from "../../signal/quality.ts";
import { atomicWrite } from "../../train/checkpoint.ts";
import { PRETRAIN_SOURCES, type PretrainSource } from "./spec.ts";

/** Options of {@link loadPretrainWindows}. */
export interface PretrainDataOptions {
  /** Sources to read (default all of {@link PRETRAIN_SOURCES}); absent datasets are skipped and reported. */
  sources?: readonly PretrainSource[];
  /** Window rate (Hz); default 30. */
  rateHz?: number;
  /** Window length (s); default 10. */
  windowSec?: number;
  /** Step between window starts (s); default 10 (no overlap). */
  stepSec?: number;
  /** Keep at most this many windows per source (seeded subset); default all. */
  maxWindowsPerSource?: number | null;
  /** Seed of the per-source subset. */
  seed: number;
  /** Data folder; default `dataDir()`. */
  dataDir?: string;
  /** Cache folder; default `.cache/yuan`; `null` disables the cache. */
  cacheDir?: string | null;
  /** Progress messages. */
  log?: (msg: string) => void;
}

/** What one source contributed. */
export interface SourceReport {
  /** Streams read (a Daphnet run counts once per placement). */
  recordings: number;
  /** Windows kept. */
  windows: number;
  /** Hours of data in the kept windows. */
  hours: number;
  /** Why the source is missing, when it is. */
  skipped?: string;
}

/** The pool and how it was made. */
export interface PretrainData {
  /** Unlabelled windows `[n, 3, windowSec * rateHz]` in g; `y` all -1. */
  windows: Windows;
  /** Per-source counts. */
  perSource: Record<string, SourceReport>;
  /** Cache file (null without cache). */
  cachePath: string | null;
  /** True when read from the cache. */
  fromCache: boolean;
}

/** The 3-axis streams of a source's recordings, labels dropped. */
export function pretrainStreams(source: PretrainSource, recs: Recording[]): Recording[] {
  const strip = (r: Recording): Recording => ({
    ...r,
    labels: undefined,
    labelNames: undefined,
    subject: `${source}:${r.subject}`,
  });
  if (source === "daphnet") {
    return recs.flatMap((r) =>
      ["ankle", "thigh", "trunk"].map((p) => {
        const s = strip(selectPlacement(r, p));
        return { ...s, subject: `${s.subject}:${p}`, placement: p };
      })
    );
  }
  return recs.map((r) => {
    if (r.axes.length !== 3) {
      throw new DataFormatError(r.source, `${r.axes.length} axes, expected 3 for pre-training`);
    }
    return strip(r);
  });
}

function cacheKey(o: Required<Omit<PretrainDataOptions, "log" | "cacheDir" | "dataDir">>): string {
  const s = JSON.stringify([
    [...o.sources],
    o.rateHz,
    o.windowSec,
    o.stepSec,
    o.maxWindowsPerSource,
    o.seed,
    1, // format version
  ]);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

interface Sidecar {
  n: number;
  channels: number;
  length: number;
  rateHz: number;
  subject: string[];
  source: string[];
  perSource: Record<string, SourceReport>;
  options: unknown;
}

/**
 * Load (or build and cache) the unlabelled pre-training pool.
 *
 * @throws ConfigError when no source is available or options are invalid.
 */
export async function loadPretrainWindows(opts: PretrainDataOptions): Promise<PretrainData> {
  const o = {
    sources: opts.sources ?? PRETRAIN_SOURCES,
    rateHz: opts.rateHz ?? 30,
    windowSec: opts.windowSec ?? 10,
    stepSec: opts.stepSec ?? opts.windowSec ?? 10,
    maxWindowsPerSource: opts.maxWindowsPerSource ?? null,
    seed: opts.seed,
  };
  for (const s of o.sources) {
    if (!PRETRAIN_SOURCES.includes(s)) {
      throw new ConfigError(
        `pretrain sources: unknown "${s}" (known: ${PRETRAIN_SOURCES.join(", ")})`,
      );
    }
  }
  const log = opts.log ?? (() => {});
  const dir = opts.dataDir ?? dataDir();
  const cacheDir = opts.cacheDir === undefined ? ".cache/yuan" : opts.cacheDir;
  const base = cacheDir ? join(cacheDir, `pretrain-${cacheKey(o)}`) : null;
  if (base) {
    try {
      const side = JSON.parse(await Deno.readTextFile(`${base}.json`)) as Sidecar;
      const bytes = await Deno.readFile(`${base}.f32`);
      const x = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      if (x.length !== side.n * side.channels * side.length) {
        throw new DataFormatError(
          `${base}.f32`,
          `${x.length} values, sidecar says ${side.n} windows`,
        );
      }
      log(`pre-training pool: ${side.n} windows from cache ${base}.f32`);
      return {
        windows: {
          x: x.slice(),
          n: side.n,
          channels: side.channels,
          length: side.length,
          y: new Int32Array(side.n).fill(-1),
          classes: [],
          subject: side.subject,
          source: side.source,
          rateHz: side.rateHz,
        },
        perSource: side.perSource,
        cachePath: `${base}.f32`,
        fromCache: true,
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  const parts: Windows[] = [];
  const perSource: Record<string, SourceReport> = {};
  for (const [si, source] of o.sources.entries()) {
    const t0 = performance.now();
    let recs: Recording[];
    try {
      recs = await loadDataset(source, { dir, includeModel: true });
    } catch (e) {
      if ((e as Error).name === "DatasetUnavailableError") {
        perSource[source] = { recordings: 0, windows: 0, hours: 0, skipped: (e as Error).message };
        log(`pre-training pool: ${source} skipped (${(e as Error).message})`);
        continue;
      }
      throw e;
    }
    const streams = pretrainStreams(source, recs);
    const resampled = streams.flatMap((r) => resample(r, o.rateHz, { maxGapSec: 1 }));
    let w = makeWindows(resampled, {
      windowSec: o.windowSec,
      stepSec: o.stepSec,
      rateHz: o.rateHz,
      dropUnlabelled: false,
      dropNonFinite: true,
    });
    if (o.maxWindowsPerSource !== null && w.n > o.maxWindowsPerSource) {
      const idx = rng(o.seed * 1000 + si).shuffle(Array.from({ length: w.n }, (_, i) => i))
        .slice(0, o.maxWindowsPerSource).sort((a, b) => a - b);
      w = selectWindows(w, idx);
    }
    w = { ...w, source: new Array(w.n).fill(source), y: new Int32Array(w.n).fill(-1) };
    parts.push(w);
    perSource[source] = {
      recordings: streams.length,
      windows: w.n,
      hours: (w.n * o.windowSec) / 3600,
    };
    log(
      `pre-training pool: ${source}: ${streams.length} streams → ${w.n} windows (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
  }
  const total = parts.reduce((a, p) => a + p.n, 0);
  if (total === 0) {
    throw new ConfigError(
      `pre-training pool: no windows from ${o.sources.join(", ")} in ${dir} (all absent?)`,
    );
  }
  const length = Math.round(o.windowSec * o.rateHz);
  const x = new Float32Array(total * 3 * length);
  const subject: string[] = [], source: string[] = [];
  let off = 0;
  for (const p of parts) {
    x.set(p.x, off);
    off += p.x.length;
    for (const s of p.subject) subject.push(s); // loops: a spread of > ~120 k overflows
    for (const s of p.source!) source.push(s);
  }
  const windows: Windows = {
    x,
    n: total,
    channels: 3,
    length,
    y: new Int32Array(total).fill(-1),
    classes: [],
    subject,
    source,
    rateHz: o.rateHz,
  };
  if (base) {
    await atomicWrite(`${base}.f32`, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    const side: Sidecar = {
      n: total,
      channels: 3,
      length,
      rateHz: o.rateHz,
      subject,
      source,
      perSource,
      options: o,
    };
    await atomicWrite(`${base}.json`, new TextEncoder().encode(JSON.stringify(side)));
  }
  return { windows, perSource, cachePath: base ? `${base}.f32` : null, fromCache: false };
}

/**
 * A seeded random `fraction` of the pool's windows (kept in pool order), for
 * the data-amount ablation. Nested: a smaller fraction with the same seed is
 * a subset of a larger one.
 */
export function poolFraction(w: Windows, fraction: number, seed: number): Windows {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new ConfigError(`poolFraction: fraction must be in (0, 1], got ${fraction}`);
  }
  if (fraction === 1) return w;
  const k = Math.max(1, Math.round(w.n * fraction));
  const order = rng(seed).shuffle(Array.from({ length: w.n }, (_, i) => i));
  const idx = order.slice(0, k).sort((a, b) => a - b);
  const out = selectWindows(w, idx);
  return w.source ? { ...out, source: idx.map((i) => w.source![i]) } : out;
}

/**
 * Split the pool into training windows and `nVal` held-out validation
 * windows (seeded).
 */
export function splitPool(
  w: Windows,
  nVal: number,
  seed: number,
): { train: Windows; val: Windows } {
  const n = Math.min(Math.max(0, Math.floor(nVal)), Math.floor(w.n / 2));
  const order = rng(seed).shuffle(Array.from({ length: w.n }, (_, i) => i));
  const val = order.slice(0, n).sort((a, b) => a - b);
  const train = order.slice(n).sort((a, b) => a - b);
  return { train: selectWindows(w, train), val: selectWindows(w, val) };
}
