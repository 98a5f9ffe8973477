/**
 * `har spectrogram`: SelfPAB's spectrogram features as `.npy` for the Python
 * tools. Reads a registered dataset (`--dataset daphnet`) or one file
 * (`--file S01R02.txt.gz`: Daphnet `.txt[.gz]`, HARTH/HAR70+ `.csv`, or a
 * `[samples, channels]` float `.npy` in g with `--rate`), brings it to 50 Hz
 * by FFT resampling of each whole recording (the reference's
 * `scipy.signal.resample`; lib/signal/spectrogram.ts `resampleForSelfpab`),
 * computes the STFT magnitude frames (n_fft 50, hop 25, periodic Hann,
 * center=False; channel-major `c·26 + f`), HUNT4-normalises them and writes
 * one folder, atomically:
 *
 * - `--layout windows` (default): `X.npy` float32 `[n, 599, F]`, `Y.npy`
 *   int32 `[n, 599]` frame labels (class index, −1 = unlabelled or padding),
 *   `mask.npy` uint8 `[n, 599]` (1 = real frame, 0 = padding), `pid.npy`
 *   `[n]` subjects, `recording.npy` `[n]`, `start.npy` int32 `[n]` (first frame);
 * - `--layout frames`: every recording's frames one after the other:
 *   `X.npy` `[ΣT, F]`, `Y.npy` `[ΣT]`, `pid.npy`, `recording.npy` `[ΣT]`;
 * - `info.json`: nFft, hop, window, rate, the normalisation used, the
 *   channel order (source axes → SelfPAB channels), classes, label rule,
 *   recordings (samples, frames, windows, offsets) and what was skipped.
 *
 * `--mode inference` pads each signal so its last frame is complete
 * (T = ⌈S/25⌉) and cuts ⌈T/12⌉ windows (spec §3.4).
 *
 * @example
 * deno task har spectrogram --dataset daphnet --subjects S01,S02 --out out/daphnet-156
 * deno task har spectrogram --dataset daphnet --sensors thigh --layout frames --out out/thigh
 * deno task har spectrogram --file S01R02.txt.gz --out out/s01r02
 */
import { basename, join } from "node:path";
import {
  choiceFlag,
  type CliCommand,
  cliMain,
  intFlag,
  numberFlag,
  parseFlags,
  UsageError,
} from "../lib/cli.ts";
import { readDaphnet } from "../lib/data/daphnet.ts";
import { readHarthCsv } from "../lib/data/harth.ts";
import { npyToNumbers, readNpy, writeNpy } from "../lib/data/npy.ts";
import { datasetInfo, loadDataset } from "../lib/data/registry.ts";
import type { Recording } from "../lib/data/types.ts";
import { ConfigError, DataFormatError } from "../lib/errors.ts";
import { writeDirAtomic } from "../lib/fs.ts";
import {
  cutWindows,
  HUNT4_NORM,
  type Hunt4Norm,
  hunt4NormDir,
  type NormParams,
  readNormParams,
  recordingFeatures,
  resampleForSelfpab,
  SELFPAB_AXIS_ORDER,
  SELFPAB_CHANNELS,
  SELFPAB_HOP,
  SELFPAB_N_FFT,
  SELFPAB_RATE_HZ,
  SELFPAB_SHIFT_FRAMES,
  SELFPAB_WINDOW_FRAMES,
} from "../lib/signal/spectrogram.ts";

/** One-line description for `har --help`. */
export const summary =
  "SelfPAB STFT spectrogram features (156/78 per frame, HUNT4-normalised) as X/Y/mask/pid .npy";

/** Normalisation choices: the three HUNT4 folders, the back half of HUNT4, or none. */
const NORMS = ["HUNT4", "HUNT4_T", "HUNT4_B", "HUNT4-back", "none"] as const;
type NormChoice = typeof NORMS[number];

const USAGE = `usage: har spectrogram (--dataset <name> | --file <path>) --out <dir> [flags]

  --dataset <name>       registered dataset (daphnet, harth, har70plus, mobifall, wisdm-phone, ...)
  --file <path>          one recording: Daphnet SxxRyy.txt[.gz], HARTH/HAR70+ .csv, or a float
                         .npy [samples, channels] in g (needs --rate; channels named by --channels)
  --out <dir>            output folder (X.npy, Y.npy, mask.npy, pid.npy, recording.npy, start.npy,
                         info.json); written whole or not at all
  --sensors <s>          dual | back | thigh (default dual): SelfPAB axis order for daphnet, harth,
                         har70plus (daphnet dual: trunk vert, lat, fwd, thigh vert, lat, fwd)
  --channels a,b,c       source axis names in output channel order (overrides --sensors; needed for
                         other datasets, e.g. x,y,z)
  --norm <n>             HUNT4 | HUNT4_T | HUNT4_B | HUNT4-back (= HUNT4 lines 1-78) | none
                         (default: HUNT4 for 6 channels, HUNT4-back for --sensors back, else HUNT4_T)
  --norm-dir <dir>       folder with mean.csv / std.csv to normalise with instead (overrides --norm)
  --mode <m>             train (default) | inference (pad so the last frame is complete; ceil(T/12)
                         windows)
  --layout <l>           windows (default: [n, 599, F]) | frames (every recording's frames, [sum T, F])
  --window-frames <n>    frames per window (default ${SELFPAB_WINDOW_FRAMES})
  --shift-frames <n>     frames between window starts (default ${SELFPAB_SHIFT_FRAMES})
  --min-labelled <f>     share of a frame's samples that must be labelled, else its label is -1
                         (default 0.5)
  --subjects a,b         --dataset: keep only these subjects
  --skip-dead            skip recordings with a dead (constant) channel instead of failing; they
                         are listed in info.json
  --rate <Hz>            --file .npy: its sample rate (resampled to 50 Hz when different)
  --data-dir <dir>       data folder (default $HAR_DATA_DIR or ./datasets)`;

/** Parsed `har spectrogram` arguments. */
export interface SpectrogramCliArgs {
  /** Registered dataset name. */
  dataset?: string;
  /** One input file. */
  file?: string;
  /** Output folder. */
  out: string;
  /** Sensor set for the built-in axis orders. */
  sensors: "dual" | "back" | "thigh";
  /** Explicit source axis names in output order. */
  channels?: string[];
  /** Normalisation (undefined: by channel count). */
  norm?: NormChoice;
  /** Folder with custom mean.csv / std.csv. */
  normDir?: string;
  /** Training windows or the inference path. */
  mode: "train" | "inference";
  /** Output layout. */
  layout: "windows" | "frames";
  /** Frames per window. */
  windowFrames: number;
  /** Frames between window starts. */
  shiftFrames: number;
  /** Minimum labelled share of a frame (0..1]. */
  minLabelled: number;
  /** Subjects kept. */
  subjects?: string[];
  /** Skip recordings with a dead channel. */
  skipDead: boolean;
  /** Sample rate of a `.npy` file (Hz). */
  rateHz?: number;
  /** Data folder override. */
  dataDir?: string;
}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  return items.length ? items : undefined;
}

/** Parse and validate `har spectrogram` flags. @throws UsageError naming the flag. */
export function parseSpectrogramArgs(args: string[]): SpectrogramCliArgs {
  const values = parseFlags("har spectrogram", args, {
    dataset: { type: "string" },
    file: { type: "string" },
    out: { type: "string" },
    sensors: { type: "string" },
    channels: { type: "string" },
    norm: { type: "string" },
    "norm-dir": { type: "string" },
    mode: { type: "string" },
    layout: { type: "string" },
    "window-frames": { type: "string" },
    "shift-frames": { type: "string" },
    "min-labelled": { type: "string" },
    subjects: { type: "string" },
    "skip-dead": { type: "boolean" },
    rate: { type: "string" },
    "data-dir": { type: "string" },
  }).values as Record<string, string | boolean | undefined>;
  const s = (k: string) => values[k] as string | undefined;
  if (!s("dataset") === !s("file")) {
    throw new UsageError("give exactly one of --dataset <name> or --file <path>");
  }
  if (!s("out")) throw new UsageError("--out is required");
  if (s("file") && s("subjects")) throw new UsageError("--subjects: only with --dataset");
  const isNpy = /\.npy(\.gz)?$/i.test(s("file") ?? "");
  if (s("rate") !== undefined && !isNpy) {
    throw new UsageError("--rate: only for a --file .npy (other formats carry their rate)");
  }
  if (isNpy && s("rate") === undefined) {
    throw new UsageError("--rate is required with a --file .npy (its sample rate in Hz)");
  }
  const channels = list(s("channels"));
  if (s("channels") !== undefined && !channels) throw new UsageError("--channels: empty list");
  return {
    dataset: s("dataset"),
    file: s("file"),
    out: s("out")!,
    sensors: choiceFlag("sensors", s("sensors"), ["dual", "back", "thigh"], "dual"),
    channels,
    norm: s("norm") === undefined ? undefined : choiceFlag("norm", s("norm"), NORMS, "HUNT4"),
    normDir: s("norm-dir"),
    mode: choiceFlag("mode", s("mode"), ["train", "inference"], "train"),
    layout: choiceFlag("layout", s("layout"), ["windows", "frames"], "windows"),
    windowFrames: intFlag("window-frames", s("window-frames"), {
      default: SELFPAB_WINDOW_FRAMES,
      min: 1,
      max: 100_000,
    }),
    shiftFrames: intFlag("shift-frames", s("shift-frames"), {
      default: SELFPAB_SHIFT_FRAMES,
      min: 1,
      max: 100_000,
    }),
    minLabelled: numberFlag("min-labelled", s("min-labelled"), {
      default: 0.5,
      min: 0,
      minExclusive: true,
      max: 1,
    }),
    subjects: list(s("subjects")),
    skipDead: values["skip-dead"] === true,
    rateHz: s("rate") === undefined
      ? undefined
      : numberFlag("rate", s("rate"), { min: 0, minExclusive: true, max: 100_000 }),
    dataDir: s("data-dir"),
  };
}

/** A `[samples, channels]` float `.npy` in g as a Recording. */
async function readNpyRecording(
  path: string,
  rateHz: number,
  names?: string[],
): Promise<Recording> {
  const a = await readNpy(path);
  if (a.shape.length !== 2 || Array.isArray(a.data)) {
    throw new DataFormatError(
      path,
      `expected a numeric [samples, channels] array, got shape [${a.shape}] (${a.dtype})`,
    );
  }
  const [S, C] = a.shape;
  const v = npyToNumbers(a.data);
  const axisNames = names && names.length === C
    ? names
    : C === 6
    ? [...SELFPAB_CHANNELS]
    : C === 3
    ? ["x", "y", "z"]
    : Array.from({ length: C }, (_, c) => `ch${c}`);
  const axes = Array.from({ length: C }, (_, c) => {
    const o = new Float32Array(S);
    for (let i = 0; i < S; i++) o[i] = v[i * C + c];
    return o;
  });
  return {
    dataset: "file",
    subject: basename(path).replace(/\.npy(\.gz)?$/i, ""),
    placement: "unknown",
    rateHz,
    axes,
    axisNames,
    source: path,
  };
}

/** Read the input recordings and the dataset name their axis order is looked up under. */
async function readInput(a: SpectrogramCliArgs): Promise<{ recs: Recording[]; kind: string }> {
  if (a.dataset) {
    datasetInfo(a.dataset); // ConfigError for an unknown name
    const recs = await loadDataset(a.dataset, { dir: a.dataDir, subjects: a.subjects });
    if (a.subjects) {
      const found = new Set(recs.map((r) => r.subject));
      const missing = a.subjects.filter((s) => !found.has(s));
      if (missing.length) {
        throw new ConfigError(`--subjects: ${missing.join(", ")} not found in ${a.dataset}`);
      }
    }
    return { recs, kind: a.dataset };
  }
  const f = a.file!;
  const name = basename(f);
  if (/\.npy(\.gz)?$/i.test(name)) {
    return { recs: [await readNpyRecording(f, a.rateHz!, a.channels)], kind: "file" };
  }
  if (/^S\d+R\d+\.txt(\.gz)?$/i.test(name)) {
    return { recs: [await readDaphnet(f)], kind: "daphnet" };
  }
  if (/\.csv(\.gz)?$/i.test(name)) return { recs: [await readHarthCsv(f)], kind: "harth" };
  throw new ConfigError(
    `--file ${f}: unknown format (Daphnet SxxRyy.txt[.gz], HARTH/HAR70+ .csv, or .npy)`,
  );
}

/** Source axes in output order. */
function axesFor(a: SpectrogramCliArgs, kind: string, rec: Recording): string[] {
  if (a.channels) return a.channels;
  const order = SELFPAB_AXIS_ORDER[kind]?.[a.sensors];
  if (order) return [...order];
  if (rec.axisNames.length === 6 && SELFPAB_CHANNELS.every((c) => rec.axisNames.includes(c))) {
    const all = [...SELFPAB_CHANNELS];
    return a.sensors === "dual" ? all : a.sensors === "back" ? all.slice(0, 3) : all.slice(3);
  }
  // a .npy's columns are already in output order (named x, y, z / ch0… or by --channels)
  if (kind === "file") return [...rec.axisNames];
  throw new ConfigError(
    `${kind}: no built-in SelfPAB axis order (known: ${
      Object.keys(SELFPAB_AXIS_ORDER).join(", ")
    }); ` +
      `name the axes with --channels (this recording has ${rec.axisNames.join(", ")})`,
  );
}

/** The normalisation to use, its name and source folder. */
async function loadNorm(
  a: SpectrogramCliArgs,
  channels: number,
): Promise<{ params: NormParams | null; name: string }> {
  if (a.normDir) return { params: await readNormParams(a.normDir), name: `custom: ${a.normDir}` };
  const choice: NormChoice = a.norm ??
    (channels === 6 ? "HUNT4" : a.sensors === "back" && !a.channels ? "HUNT4-back" : "HUNT4_T");
  if (choice === "none") return { params: null, name: "none" };
  const dataDir = a.dataDir;
  if (choice === "HUNT4-back") {
    const full = await readNormParams(hunt4NormDir("HUNT4", dataDir), { features: 156 });
    return {
      params: { mean: full.mean.slice(0, 78), std: full.std.slice(0, 78), dir: full.dir },
      name: "HUNT4 lines 1-78 (back half of the 156 statistics)",
    };
  }
  const n = choice as Hunt4Norm;
  return {
    params: await readNormParams(hunt4NormDir(n, dataDir), { features: HUNT4_NORM[n].features }),
    name: n,
  };
}

/** Recording label used in outputs: file name, plus the segment when resampling split it. */
function recName(rec: Recording, segments: number): string {
  const base = basename(rec.source);
  return segments > 1 ? `${base}#${rec.meta?.segment ?? 0}` : base;
}

/** `har spectrogram` under the shared CLI convention (lib/cli.ts). */
export const command: CliCommand<SpectrogramCliArgs> = {
  prog: "har spectrogram",
  usage: USAGE,
  parse: parseSpectrogramArgs,
  run: runSpectrogram,
};

/** Run `har spectrogram` with command-line `args` (without the command name); errors are thrown. */
export async function run(args: string[]): Promise<void> {
  await runSpectrogram(parseSpectrogramArgs(args));
}

/** Largest X.npy written (float32 values): 2^30 = 4 GiB. */
const MAX_VALUES = 2 ** 30;

/** Run `har spectrogram` with parsed arguments. */
export async function runSpectrogram(a: SpectrogramCliArgs): Promise<void> {
  const t0 = performance.now();
  const { recs, kind } = await readInput(a);
  if (recs.length === 0) throw new ConfigError(`${a.dataset ?? a.file}: no recordings`);
  const axes0 = axesFor(a, kind, recs[0]);
  const norm = await loadNorm(a, axes0.length);
  const classes = recs.find((r) => r.labelNames)?.labelNames ?? [];
  const skipped: { recording: string; reason: string }[] = [];
  const done: {
    recording: string;
    subject: string;
    samples: number;
    frames: number;
    windows?: number;
    offset: number;
    features: { x: Float32Array; y?: Int32Array };
    windowed?: ReturnType<typeof cutWindows>;
  }[] = [];
  let F = 0, total = 0;
  for (const rec of recs) {
    const axes = axesFor(a, kind, rec);
    const segs = resampleForSelfpab(rec);
    for (const seg of segs) {
      const name = recName(seg, segs.length);
      let r;
      try {
        r = recordingFeatures(seg, {
          axes,
          norm: norm.params,
          inference: a.mode === "inference",
          minLabelledFraction: a.minLabelled,
        });
      } catch (e) {
        if (a.skipDead && e instanceof DataFormatError && / is dead: /.test(e.message)) {
          skipped.push({ recording: name, reason: e.message });
          continue;
        }
        throw e;
      }
      if (r.frames.frames === 0) {
        skipped.push({
          recording: name,
          reason: `${r.samples} samples at 50 Hz: shorter than one ${SELFPAB_N_FFT}-sample frame`,
        });
        continue;
      }
      F = r.frames.features;
      const entry: (typeof done)[number] = {
        recording: name,
        subject: seg.subject,
        samples: r.samples,
        frames: r.frames.frames,
        offset: 0,
        features: { x: r.frames.data, y: r.labels?.labels },
      };
      if (a.layout === "windows") {
        entry.windowed = cutWindows(r.frames, {
          mode: a.mode,
          labels: r.labels,
          windowFrames: a.windowFrames,
          shiftFrames: a.shiftFrames,
        });
        entry.windows = entry.windowed.n;
        entry.offset = total;
        total += entry.windowed.n;
      } else {
        entry.offset = total;
        total += r.frames.frames;
      }
      const values = a.layout === "windows" ? total * a.windowFrames * F : total * F;
      if (values > MAX_VALUES) {
        throw new ConfigError(
          `${a.dataset ?? a.file}: X.npy would exceed ${MAX_VALUES} values (4 GiB); use ` +
            `--layout frames, a larger --shift-frames or fewer --subjects`,
        );
      }
      done.push(entry);
    }
  }
  if (done.length === 0) {
    throw new ConfigError(
      `${a.dataset ?? a.file}: no recording gave features (${
        skipped.map((s) => `${s.recording}: ${s.reason}`).join("; ")
      })`,
    );
  }
  const W = a.windowFrames;
  const labelled = done.some((d) => d.features.y);
  const files: Record<
    string,
    { data: Float32Array | Int32Array | Uint8Array | string[]; shape: number[] }
  > = {};
  if (a.layout === "windows") {
    const X = new Float32Array(total * W * F), Y = new Int32Array(total * W).fill(-1);
    const mask = new Uint8Array(total * W), start = new Int32Array(total);
    const pid: string[] = [], recording: string[] = [];
    for (const d of done) {
      const w = d.windowed!;
      X.set(w.x, d.offset * W * F);
      if (w.y) Y.set(w.y, d.offset * W);
      mask.set(w.mask, d.offset * W);
      start.set(w.starts, d.offset);
      for (let i = 0; i < w.n; i++) (pid.push(d.subject), recording.push(d.recording));
    }
    files["X.npy"] = { data: X, shape: [total, W, F] };
    if (labelled) files["Y.npy"] = { data: Y, shape: [total, W] };
    files["mask.npy"] = { data: mask, shape: [total, W] };
    files["pid.npy"] = { data: pid, shape: [total] };
    files["recording.npy"] = { data: recording, shape: [total] };
    files["start.npy"] = { data: start, shape: [total] };
  } else {
    const X = new Float32Array(total * F), Y = new Int32Array(total).fill(-1);
    const pid: string[] = [], recording: string[] = [];
    for (const d of done) {
      X.set(d.features.x, d.offset * F);
      if (d.features.y) Y.set(d.features.y, d.offset);
      for (let i = 0; i < d.frames; i++) (pid.push(d.subject), recording.push(d.recording));
    }
    files["X.npy"] = { data: X, shape: [total, F] };
    if (labelled) files["Y.npy"] = { data: Y, shape: [total] };
    files["pid.npy"] = { data: pid, shape: [total] };
    files["recording.npy"] = { data: recording, shape: [total] };
  }
  const info = {
    input: a.dataset ? { dataset: a.dataset } : { file: a.file },
    rateHz: SELFPAB_RATE_HZ,
    resampling: "FFT (scipy.signal.resample) of each whole recording to 50 Hz; labels by nearest " +
      "index round(i·S/S')",
    nFft: SELFPAB_N_FFT,
    hop: SELFPAB_HOP,
    window: "hann-periodic",
    center: false,
    magnitude: "|X| (no power, no log)",
    featureLayout: "channel-major: feature = channel * 26 + bin (bin f = f Hz)",
    channels: axes0,
    selfpabChannels: axes0.length === 6 ? [...SELFPAB_CHANNELS] : undefined,
    features: F,
    norm: norm.name,
    normDir: norm.params?.dir ?? null,
    mode: a.mode,
    layout: a.layout,
    windowFrames: a.layout === "windows" ? W : undefined,
    shiftFrames: a.layout === "windows" ? a.shiftFrames : undefined,
    shape: files["X.npy"].shape,
    classes,
    labels: labelled
      ? `Y = class index into classes: majority over each frame's ${SELFPAB_N_FFT} samples, ties ` +
        `to the lowest index; -1 = unlabelled (labelled share < ${a.minLabelled}) or padding`
      : "none (the input has no labels)",
    mask: a.layout === "windows"
      ? "1 = real frame, 0 = padding past the recording's end"
      : undefined,
    recordings: done.map((d) => ({
      recording: d.recording,
      subject: d.subject,
      samples: d.samples,
      frames: d.frames,
      ...(d.windows !== undefined ? { windows: d.windows } : {}),
      offset: d.offset,
    })),
    skipped,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  };
  const owns = [
    "X.npy",
    "Y.npy",
    "mask.npy",
    "pid.npy",
    "recording.npy",
    "start.npy",
    "info.json",
  ];
  await writeDirAtomic(a.out, async (tmp) => {
    for (const [name, f] of Object.entries(files)) await writeNpy(join(tmp, name), f.data, f.shape);
    await Deno.writeTextFile(join(tmp, "info.json"), JSON.stringify(info, null, 2) + "\n");
  }, { owns });
  console.log(
    `${a.dataset ?? basename(a.file!)}: ${done.length} recordings -> X [${
      files["X.npy"].shape.join(", ")
    }] (${norm.name}) -> ${a.out}`,
  );
  if (skipped.length) {
    console.log(`skipped: ${skipped.map((s) => s.recording).join(", ")} (see info.json)`);
  }
}

if (import.meta.main) Deno.exit(await cliMain(command, Deno.args));
