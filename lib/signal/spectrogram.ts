/**
 * SelfPAB's input pipeline (Logacjov et al.; spec `selfpab.md` §1, §3.2,
 * §3.4): STFT magnitude frames of 50 Hz accelerometer channels, HUNT4
 * normalisation, per-frame labels, 599-frame windows, and the test-time
 * re-assembly of window probabilities into per-sample probabilities.
 *
 * - **Features** ({@link spectrogramFeatures}): one {@link stft} per channel
 *   (n_fft 50 = 1 s, hop 25 = 0.5 s, periodic Hann, no padding), laid out
 *   **channel-major**: `feature = c·26 + f` (c in the given channel order,
 *   SelfPAB's is `Bx, By, Bz, Tx, Ty, Tz`; f = bin = f Hz). Six channels give
 *   156 features, one sensor 78.
 * - **Normalisation** ({@link readNormParams}, {@link normalise}):
 *   `(x − mean)/std` per feature with the HUNT4 statistics
 *   ({@link HUNT4_NORM}); `std == 0` becomes 1e-10.
 * - **Frame labels** ({@link frameLabels}): majority over the frame's 50
 *   samples, ties to the lowest class index (the reference's
 *   `argmax(bincount)`); unlabelled samples (label < 0) do not vote, and a
 *   frame whose labelled share is below `minLabelledFraction` (default ½) is
 *   masked (label −1).
 * - **Windows** ({@link cutWindows}): 599 frames every 12 frames;
 *   training: `max(1, ⌈(T + 1 − 599)/12⌉)` windows (a recording shorter than
 *   599 frames gives one window, zero-padded, with a padding mask);
 *   inference: the signal is zero-padded so the last frame is complete
 *   ({@link inferencePad}, T = ⌈S/25⌉), `⌈T/12⌉` windows, padded with 0 in
 *   normalised space.
 * - **Re-assembly** ({@link reassemble}): overlap-average window
 *   probabilities → frames (cut to T) → samples (cut to S).
 *
 * @example
 * const rec50 = resample(daphnetRun, 50, { method: "fourier" })[0];
 * const axes = SELFPAB_AXIS_ORDER.daphnet.dual.map((n) => rec50.axes[rec50.axisNames.indexOf(n)]);
 * const spec = spectrogramFeatures(axes, { sampleRateHz: 50, source: rec50.source });  // [T, 156]
 * const z = normalise(spec, await readNormParams(hunt4NormDir("HUNT4")));
 * const y = frameLabels(rec50.labels!);                                            // T labels
 * const w = cutWindows(z, { mode: "train", labels: y });                           // [n, 599, 156]
 */
import { join } from "node:path";
import type { Recording } from "../data/types.ts";
import { dataDir, exists, PROJECT_ROOT } from "../data/paths.ts";
import { ConfigError, DataFormatError, DatasetUnavailableError } from "../errors.ts";
import { fourierResample, resample } from "./resample.ts";
import { stftBins, stftFrameCount, stftInto, type StftWindow } from "./stft.ts";

/** The sample rate SelfPAB's features and the HUNT4 statistics assume (Hz). */
export const SELFPAB_RATE_HZ = 50;
/** SelfPAB's STFT frame length (samples; 1 s at 50 Hz). */
export const SELFPAB_N_FFT = 50;
/** SelfPAB's STFT hop (samples; 0.5 s at 50 Hz). */
export const SELFPAB_HOP = 25;
/** Frames per SelfPAB window (5 min: 15 000 samples → 599 frames). */
export const SELFPAB_WINDOW_FRAMES = 599;
/** Window shift (frames): `frame_shift 300 // 25 = 12` (6 s). */
export const SELFPAB_SHIFT_FRAMES = 12;
/** What a zero std is replaced with (the reference's `EPS`). */
export const STD_FLOOR = 1e-10;
/** SelfPAB's channel order (HUNT4 columns 0..5): back x/y/z, thigh x/y/z. */
export const SELFPAB_CHANNELS: readonly string[] = [
  "back_x",
  "back_y",
  "back_z",
  "thigh_x",
  "thigh_y",
  "thigh_z",
];

/**
 * Recording axes in SelfPAB order per dataset and sensor set (`dual` = back
 * + thigh, 156 features; `back` or `thigh`, 78). Daphnet's columns are
 * (fwd, vert, lat) per sensor; HUNT4's x is down (vertical), so the spec's
 * mapping is `[vert, lat, fwd]` with the trunk as the back sensor (§7.1).
 * Signs do not matter (magnitudes).
 */
export const SELFPAB_AXIS_ORDER: Readonly<
  Record<string, Readonly<Partial<Record<"dual" | "back" | "thigh", readonly string[]>>>>
> = {
  daphnet: {
    dual: ["trunk_y", "trunk_z", "trunk_x", "thigh_y", "thigh_z", "thigh_x"],
    back: ["trunk_y", "trunk_z", "trunk_x"],
    thigh: ["thigh_y", "thigh_z", "thigh_x"],
  },
  harth: {
    dual: SELFPAB_CHANNELS,
    back: SELFPAB_CHANNELS.slice(0, 3),
    thigh: SELFPAB_CHANNELS.slice(3),
  },
  har70plus: {
    dual: SELFPAB_CHANNELS,
    back: SELFPAB_CHANNELS.slice(0, 3),
    thigh: SELFPAB_CHANNELS.slice(3),
  },
};

/** The shared-data folder holding the three HUNT4 normalisation folders. */
export const HUNT4_NORM_DATASET = "selfpab-hunt4-norm-params";

/**
 * The released HUNT4 normalisation statistics (`params/norm_params/` of
 * ntnu-ai-lab/SelfPAB, MIT): folder below {@link HUNT4_NORM_DATASET} and
 * feature count. `HUNT4_T` equals lines 79–156 of `HUNT4`; `HUNT4_B` does
 * NOT equal lines 1–78 (computed separately; spec §1.4).
 */
export const HUNT4_NORM = {
  /** Back + thigh, 156 features; what every SelfPAB config uses. */
  HUNT4: { folder: "HUNT4/normalization_params_STFT_feats156_seqlen599", features: 156 },
  /** Thigh only, 78 features (MonoSelfPAB thigh configs). */
  HUNT4_T: { folder: "HUNT4_T/normalization_params_STFT_feats78_seqlen599", features: 78 },
  /** Back only, 78 features (MonoSelfPAB back configs). */
  HUNT4_B: { folder: "HUNT4_B/normalization_params_STFT_feats78_seqlen599", features: 78 },
} as const;

/** Name of a HUNT4 statistics folder. */
export type Hunt4Norm = keyof typeof HUNT4_NORM;

/**
 * The folder of one HUNT4 statistics set: below `dir` (default
 * `$HAR_DATA_DIR` or `./datasets`), falling back to the copy shipped in the
 * project's `datasets/` when `dir` lacks it.
 *
 * @example
 * await readNormParams(hunt4NormDir("HUNT4_T")); // 78 means and stds
 */
export function hunt4NormDir(name: Hunt4Norm, dir: string = dataDir()): string {
  const entry = HUNT4_NORM[name];
  if (!entry) {
    throw new ConfigError(
      `unknown HUNT4 normalisation "${name}" (${Object.keys(HUNT4_NORM).join(", ")})`,
    );
  }
  const p = join(dir, HUNT4_NORM_DATASET, entry.folder);
  if (exists(p)) return p;
  const shipped = join(PROJECT_ROOT, "datasets", HUNT4_NORM_DATASET, entry.folder);
  return exists(shipped) ? shipped : p;
}

/** Arguments of {@link spectrogramFeatures}. */
export interface SpectrogramArgs {
  /** STFT frame length (samples). Default 50 (1 s at 50 Hz). */
  nFft?: number;
  /** STFT hop (samples). Default 25 (0.5 s at 50 Hz). */
  hop?: number;
  /** STFT window. Default the periodic Hann (`torch.hann_window`). */
  window?: StftWindow;
  /** Declared sample rate of the channels (Hz); when given it must equal `expectedRateHz`. */
  sampleRateHz?: number;
  /** Rate the features are defined at (Hz). Default 50 ({@link SELFPAB_RATE_HZ}). */
  expectedRateHz?: number;
  /** Recording name used in error messages (e.g. the file). Default `"recording"`. */
  source?: string;
  /** Channel names used in error messages. Default `channel 0`, `channel 1`, … */
  channelNames?: readonly string[];
  /** Accept a channel whose samples are all equal (dead sensor). Default false: error. */
  allowDeadChannels?: boolean;
}

/** Spectrogram frames of several channels: row-major `[frames][features]`, channel-major features. */
export interface SpectrogramFrames {
  /** `data[t * features + c * bins + f]`. */
  data: Float32Array;
  /** Frames T. */
  frames: number;
  /** Features per frame, `channels · bins`. */
  features: number;
  /** Input channels C. */
  channels: number;
  /** Bins per channel (26 for n_fft 50). */
  bins: number;
}

/**
 * Check that `channels` are usable SelfPAB input: at least one, equal
 * lengths, finite, not dead, at the expected rate (when declared).
 *
 * @throws DataFormatError naming `args.source` and the channel (lengths, non-finite sample, dead channel)
 * @throws ConfigError on a declared rate that is not `expectedRateHz`
 */
export function checkChannels(
  channels: readonly ArrayLike<number>[],
  args: SpectrogramArgs = {},
): void {
  const source = args.source ?? "recording";
  const name = (c: number) => args.channelNames?.[c] ?? `channel ${c}`;
  if (channels.length === 0) throw new DataFormatError(source, "no channels");
  const expected = args.expectedRateHz ?? SELFPAB_RATE_HZ;
  if (args.sampleRateHz !== undefined && Math.abs(args.sampleRateHz - expected) > 1e-9) {
    throw new ConfigError(
      `${source}: sampled at ${args.sampleRateHz} Hz, but these spectrogram features are ` +
        `defined at ${expected} Hz (frames of ${args.nFft ?? SELFPAB_N_FFT} samples); resample ` +
        `first (resample(rec, ${expected}, { method: "fourier" }) or fourierResample)`,
    );
  }
  const S = channels[0].length;
  channels.forEach((ch, c) => {
    if (ch.length !== S) {
      throw new DataFormatError(
        source,
        `channels have different lengths: ${name(0)} has ${S} samples, ${name(c)} ${ch.length}`,
      );
    }
  });
  channels.forEach((ch, c) => {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < ch.length; i++) {
      const v = ch[i];
      if (!Number.isFinite(v)) {
        throw new DataFormatError(source, `${name(c)} sample ${i}: ${v} is not a finite number`);
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (S > 1 && lo === hi && !args.allowDeadChannels) {
      throw new DataFormatError(
        source,
        `${name(c)} is dead: all ${S} samples equal ${lo} (broken or missing sensor; drop ` +
          `this recording or this sensor)`,
      );
    }
  });
}

/**
 * SelfPAB spectrogram frames of C equally long channels: one STFT per
 * channel, features channel-major (`c·bins + f`). Six channels in
 * {@link SELFPAB_CHANNELS} order give the 156 features of SelfPAB, three give
 * the 78 of a single sensor. Channels shorter than `nFft` give 0 frames.
 *
 * @throws DataFormatError / ConfigError as {@link checkChannels}
 *
 * @example
 * const f = spectrogramFeatures([bx, by, bz, tx, ty, tz], { sampleRateHz: 50 });
 * f.features; // 156
 */
export function spectrogramFeatures(
  channels: readonly (Float32Array | Float64Array)[],
  args: SpectrogramArgs = {},
): SpectrogramFrames {
  checkChannels(channels, args);
  const nFft = args.nFft ?? SELFPAB_N_FFT, hop = args.hop ?? SELFPAB_HOP;
  const bins = stftBins(nFft);
  const C = channels.length;
  const frames = stftFrameCount(channels[0].length, nFft, hop);
  const features = C * bins;
  const data = new Float32Array(frames * features);
  const stftArgs = { nFft, hop, window: args.window ?? "hann-periodic" as StftWindow };
  channels.forEach((ch, c) => stftInto(ch, stftArgs, data, features, c * bins));
  return { data, frames, features, channels: C, bins };
}

/** HUNT4-style normalisation statistics, one value per feature. */
export interface NormParams {
  /** Per-feature mean. */
  mean: Float64Array;
  /** Per-feature std, zeros replaced by {@link STD_FLOOR}. */
  std: Float64Array;
  /** The folder they were read from. */
  dir: string;
}

/** Options of {@link readNormParams}. */
export interface ReadNormParamsOptions {
  /** Required feature count. Default: 156 or 78. */
  features?: number;
}

async function readValues(file: string): Promise<Float64Array> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetUnavailableError(
        `${file}: not found (HUNT4 normalisation statistics; the folder "${HUNT4_NORM_DATASET}" ` +
          `ships in datasets/ and in the shared data; set HAR_DATA_DIR or pass the folder)`,
      );
    }
    throw e;
  }
  const out: number[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const s = raw.trim();
    if (s === "") return;
    const v = Number(s);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) || !Number.isFinite(v)) {
      throw new DataFormatError(file, `"${s}" is not a finite number`, i + 1);
    }
    out.push(v);
  });
  return Float64Array.from(out);
}

/**
 * Read `mean.csv` and `std.csv` (plain text, one value per line, as
 * `np.loadtxt` reads them) from `dir`. Both must hold the same number of
 * finite values, 156 or 78 (or `opts.features`); a negative std is refused,
 * a zero std becomes {@link STD_FLOOR}.
 *
 * @throws DatasetUnavailableError when a file is missing; DataFormatError naming the file otherwise
 *
 * @example
 * const p = await readNormParams(hunt4NormDir("HUNT4"));
 * p.mean.length; // 156; p.mean[0] = 11.3909 (Bx bin 0)
 */
export async function readNormParams(
  dir: string,
  opts: ReadNormParamsOptions = {},
): Promise<NormParams> {
  const mf = join(dir, "mean.csv"), sf = join(dir, "std.csv");
  const mean = await readValues(mf);
  const std = await readValues(sf);
  const want = opts.features;
  for (const [f, v] of [[mf, mean], [sf, std]] as const) {
    const ok = want !== undefined ? v.length === want : v.length === 156 || v.length === 78;
    if (!ok) {
      throw new DataFormatError(
        f,
        `${v.length} values, expected ${want ?? "156 (back + thigh) or 78 (one sensor)"}`,
      );
    }
  }
  if (mean.length !== std.length) {
    throw new DataFormatError(sf, `${std.length} values but ${mf} has ${mean.length}`);
  }
  for (let i = 0; i < std.length; i++) {
    if (std[i] < 0) throw new DataFormatError(sf, `std ${std[i]} is negative`, i + 1);
    if (std[i] === 0) std[i] = STD_FLOOR;
  }
  return { mean, std, dir };
}

/**
 * `(x − mean)/std` per feature (float64 arithmetic, float32 result); a new
 * {@link SpectrogramFrames}.
 *
 * @throws ConfigError when the feature counts differ
 */
export function normalise(frames: SpectrogramFrames, params: NormParams): SpectrogramFrames {
  const F = frames.features;
  if (params.mean.length !== F || params.std.length !== F) {
    throw new ConfigError(
      `normalise: frames have ${F} features but the statistics in ${params.dir} have ` +
        `${params.mean.length} (156 = back + thigh: HUNT4; 78 = one sensor: HUNT4_T / HUNT4_B)`,
    );
  }
  const out = new Float32Array(frames.data.length);
  const { mean, std } = params;
  for (let t = 0; t < frames.frames; t++) {
    const o = t * F;
    for (let f = 0; f < F; f++) out[o + f] = (frames.data[o + f] - mean[f]) / std[f];
  }
  return { ...frames, data: out };
}

/** Arguments of {@link frameLabels}. */
export interface FrameLabelArgs {
  /** Frame length (samples). Default 50. */
  nFft?: number;
  /** Frame hop (samples). Default 25. */
  hop?: number;
  /**
   * Also label the incomplete frames at the end (the reference's
   * `pad_end=True`, used with {@link inferencePad}: ⌈S/hop⌉ frames). Default
   * false: frames = STFT frames.
   */
  padEnd?: boolean;
  /**
   * Smallest share (0..1] of a frame's samples that must be labelled
   * (label ≥ 0) for the frame to get a label; otherwise it is masked
   * (label −1). Default 0.5: a frame is masked when most of its samples are
   * unlabelled, and kept on a 25/25 tie.
   */
  minLabelledFraction?: number;
}

/** Per-frame labels. */
export interface FrameLabels {
  /** Class index per frame; −1 where masked. */
  labels: Int32Array;
  /** 1 = labelled frame (use in the loss / metric), 0 = masked. */
  mask: Uint8Array;
  /** Number of frames. */
  frames: number;
}

/**
 * Frame labels: the majority class among the labelled samples of each
 * frame, ties to the lowest class index (`argmax(bincount(…))` of the
 * reference, `windowed_labels(kind='argmax')`). Samples with label < 0
 * (unlabelled, e.g. Daphnet's 0 "outside the experiment") do not vote; a
 * frame with a labelled share below `minLabelledFraction` is masked.
 *
 * @example
 * frameLabels(Int32Array.from([...Array(25).fill(0), ...Array(50).fill(1), ...Array(25).fill(0)]));
 * // labels [0, 1, 0]
 */
export function frameLabels(labels: ArrayLike<number>, args: FrameLabelArgs = {}): FrameLabels {
  const nFft = args.nFft ?? SELFPAB_N_FFT, hop = args.hop ?? SELFPAB_HOP;
  const minFrac = args.minLabelledFraction ?? 0.5;
  if (!Number.isSafeInteger(nFft) || nFft < 1 || !Number.isSafeInteger(hop) || hop < 1) {
    throw new ConfigError(
      `frameLabels: nFft and hop must be positive integers, got ${nFft}, ${hop}`,
    );
  }
  if (!(minFrac > 0 && minFrac <= 1)) {
    throw new ConfigError(`frameLabels: minLabelledFraction must be in (0, 1], got ${minFrac}`);
  }
  const S = labels.length;
  let maxLabel = -1;
  for (let i = 0; i < S; i++) {
    const v = labels[i];
    if (!Number.isInteger(v)) {
      throw new ConfigError(`frameLabels: label ${i} is ${v}, not an integer class index`);
    }
    if (v > maxLabel) maxLabel = v;
  }
  const T = args.padEnd ? Math.ceil(S / hop) : stftFrameCount(S, nFft, hop);
  const out = new Int32Array(T).fill(-1), mask = new Uint8Array(T);
  const counts = new Int32Array(maxLabel + 1);
  for (let t = 0; t < T; t++) {
    const a = t * hop, b = Math.min(S, a + nFft);
    counts.fill(0);
    let labelled = 0;
    for (let i = a; i < b; i++) {
      const v = labels[i];
      if (v >= 0) {
        counts[v]++;
        labelled++;
      }
    }
    if (labelled === 0 || labelled < minFrac * (b - a)) continue;
    let best = 0;
    for (let k = 1; k < counts.length; k++) if (counts[k] > counts[best]) best = k;
    out[t] = best;
    mask[t] = 1;
  }
  return { labels: out, mask, frames: T };
}

/** Window geometry (frames). */
export interface FrameWindowArgs {
  /** Frames per window. Default 599. */
  windowFrames?: number;
  /** Frames between window starts. Default 12. */
  shiftFrames?: number;
}

function geometry(args: FrameWindowArgs): { W: number; shift: number } {
  const W = args.windowFrames ?? SELFPAB_WINDOW_FRAMES,
    shift = args.shiftFrames ?? SELFPAB_SHIFT_FRAMES;
  if (!Number.isSafeInteger(W) || W < 1 || !Number.isSafeInteger(shift) || shift < 1) {
    throw new ConfigError(
      `windows: windowFrames and shiftFrames must be positive integers, got ${W}, ${shift}`,
    );
  }
  return { W, shift };
}

/**
 * Training windows of a T-frame recording: `max(1, ⌈(T + 1 − W)/shift⌉)`
 * (the reference's `get_num_slices(padding=False)`).
 *
 * @example
 * trainingWindowCount(599); // 1
 * trainingWindowCount(611); // 2
 */
export function trainingWindowCount(frames: number, args: FrameWindowArgs = {}): number {
  const { W, shift } = geometry(args);
  return Math.max(1, Math.ceil((frames + 1 - W) / shift));
}

/**
 * Inference windows of a T-frame (padded) recording: `max(1, ⌈T/shift⌉)`
 * (`get_num_slices(padding=True)`).
 */
export function inferenceWindowCount(frames: number, args: FrameWindowArgs = {}): number {
  const { shift } = geometry(args);
  return Math.max(1, Math.ceil(frames / shift));
}

/** Arguments of {@link cutWindows}. */
export interface CutWindowsArgs extends FrameWindowArgs {
  /** `"train"`: {@link trainingWindowCount} windows; `"inference"`: {@link inferenceWindowCount}. */
  mode: "train" | "inference";
  /** Frame labels to cut alongside (same frame count). */
  labels?: FrameLabels;
  /** Value of padded frames (normalised units). Default 0 (= the HUNT4 mean). */
  padValue?: number;
}

/** Windows of spectrogram frames. */
export interface FrameWindows {
  /** `[n, length, features]` float32. */
  x: Float32Array;
  /** `[n, length]` frame labels, −1 on masked or padded frames (when labels were given). */
  y?: Int32Array;
  /** `[n, length]`: 1 = a real frame, 0 = padding (the reference's collate mask). */
  mask: Uint8Array;
  /** Window start frame per window. */
  starts: Int32Array;
  /** Number of windows. */
  n: number;
  /** Frames per window. */
  length: number;
  /** Features per frame. */
  features: number;
}

/**
 * Cut normalised frames into windows of `windowFrames` (default 599)
 * starting every `shiftFrames` (12). Frames past the end are `padValue`
 * with mask 0 and label −1. In `"train"` mode every window but that of a
 * recording shorter than W lies inside the recording.
 *
 * Note: for inference on a recording shorter than W the reference feeds the
 * first window unpadded (length T, not W); here every window has W frames.
 * The reference uses no attention mask, so with an attention model the
 * first window's outputs can differ slightly; the other windows are padded
 * in the reference too.
 *
 * @throws ConfigError when `labels` has another frame count
 */
export function cutWindows(frames: SpectrogramFrames, args: CutWindowsArgs): FrameWindows {
  const { W, shift } = geometry(args);
  const T = frames.frames, F = frames.features;
  if (args.labels && args.labels.frames !== T) {
    throw new ConfigError(`cutWindows: ${args.labels.frames} frame labels for ${T} frames`);
  }
  if (args.mode !== "train" && args.mode !== "inference") {
    throw new ConfigError(`cutWindows: mode must be "train" or "inference", got "${args.mode}"`);
  }
  const n = T === 0
    ? 0
    : args.mode === "train"
    ? trainingWindowCount(T, { windowFrames: W, shiftFrames: shift })
    : inferenceWindowCount(T, { windowFrames: W, shiftFrames: shift });
  const x = new Float32Array(n * W * F);
  const pad = args.padValue ?? 0;
  if (pad !== 0) x.fill(pad);
  const mask = new Uint8Array(n * W);
  const y = args.labels ? new Int32Array(n * W).fill(-1) : undefined;
  const starts = new Int32Array(n);
  for (let w = 0; w < n; w++) {
    const s = w * shift;
    starts[w] = s;
    const len = Math.max(0, Math.min(W, T - s));
    x.set(frames.data.subarray(s * F, (s + len) * F), w * W * F);
    mask.fill(1, w * W, w * W + len);
    if (y && args.labels) {
      for (let k = 0; k < len; k++) y[w * W + k] = args.labels.labels[s + k];
    }
  }
  return { x, y, mask, starts, n, length: W, features: F };
}

/**
 * Zeros to append (in g) so that the last STFT frame is complete at
 * inference: `max(0, ⌊(S − 1)/hop⌋·hop + nFft − S)`, giving `⌈S/hop⌉` frames.
 *
 * @example
 * inferencePadLength(15000); // 25 (→ 600 frames)
 */
export function inferencePadLength(
  samples: number,
  nFft = SELFPAB_N_FFT,
  hop = SELFPAB_HOP,
): number {
  if (samples <= 0) return 0;
  return Math.max(0, Math.floor((samples - 1) / hop) * hop + nFft - samples);
}

/** Channels zero-padded by {@link inferencePadLength} (copies; unchanged lengths when no pad is needed). */
export function inferencePad<T extends Float32Array | Float64Array>(
  channels: readonly T[],
  nFft = SELFPAB_N_FFT,
  hop = SELFPAB_HOP,
): T[] {
  if (channels.length === 0) return [];
  const S = channels[0].length;
  const pad = inferencePadLength(S, nFft, hop);
  return channels.map((ch) => {
    const out = new (ch.constructor as { new (n: number): T })(S + pad);
    out.set(ch);
    return out;
  });
}

/**
 * Overlap-average `n` blocks of `size` rows (block i starting at row
 * `i·shift`) onto `shift·(n − 1) + size` rows, each the mean of the blocks
 * covering it (the reference's `unfold_windows(…, 'mean')`), then cut to
 * `outRows` (default: all). `blocks` is `[n, size, k]`, or `[n, k]` for
 * blocks that are one row repeated `size` times (frames → samples).
 *
 * @example
 * overlapMean(Float32Array.from([1, 1, 1, 3, 3, 3]), 2, 3, 1, 1); // [1, 2, 2, 3]
 * overlapMean(Float32Array.from([1, 3]), 2, 3, 1, 1);             // the same
 */
export function overlapMean(
  blocks: Float32Array,
  n: number,
  size: number,
  shift: number,
  k: number,
  outRows?: number,
): Float32Array {
  const perRow = blocks.length === n * size * k;
  if (!perRow && blocks.length !== n * k) {
    throw new ConfigError(
      `overlapMean: ${blocks.length} values, expected ${n} × ${size} × ${k} = ${n * size * k} ` +
        `(or ${n} × ${k} for constant blocks)`,
    );
  }
  const rows = n === 0 ? 0 : shift * (n - 1) + size;
  const R = outRows ?? rows;
  if (R > rows) {
    throw new ConfigError(`overlapMean: ${n} blocks of ${size} cover ${rows} rows, ${R} requested`);
  }
  const sum = new Float64Array(rows * k), cnt = new Float64Array(rows);
  for (let i = 0; i < n; i++) {
    const r0 = i * shift;
    for (let r = 0; r < size; r++) {
      cnt[r0 + r]++;
      const src = perRow ? (i * size + r) * k : i * k, dst = (r0 + r) * k;
      for (let j = 0; j < k; j++) sum[dst + j] += blocks[src + j];
    }
  }
  const out = new Float32Array(R * k);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < k; j++) out[r * k + j] = sum[r * k + j] / cnt[r];
  }
  return out;
}

/** Arguments of {@link reassemble}. */
export interface ReassembleArgs extends FrameWindowArgs {
  /** Classes K (probabilities per frame). */
  classes: number;
  /** Frames T of the padded recording (⌈S/hop⌉). */
  frames: number;
  /** Samples S of the original (unpadded) recording. */
  samples: number;
  /** Frame length (samples). Default 50. */
  nFft?: number;
  /** Frame hop (samples). Default 25. */
  hop?: number;
}

/**
 * Test-time re-assembly (spec §3.4): window probabilities `[n, W, K]` →
 * overlap-average to frames (cut to T) → overlap-average the frames' `nFft`
 * samples (every sample gets the mean of the 1–2 frames covering it) → cut
 * to S. Returns `[S, K]` per-sample probabilities; argmax them with
 * {@link argmaxRows}.
 *
 * @throws ConfigError when the windows do not cover T frames or the frames do not cover S samples
 */
export function reassemble(
  windowProbs: Float32Array,
  n: number,
  args: ReassembleArgs,
): Float32Array {
  const { W, shift } = geometry(args);
  const nFft = args.nFft ?? SELFPAB_N_FFT, hop = args.hop ?? SELFPAB_HOP;
  const K = args.classes, T = args.frames, S = args.samples;
  if (shift * (n - 1) + W < T) {
    throw new ConfigError(`reassemble: ${n} windows of ${W} frames do not cover ${T} frames`);
  }
  if (T === 0 || hop * (T - 1) + nFft < S) {
    throw new ConfigError(
      `reassemble: ${T} frames (nFft ${nFft}, hop ${hop}) do not cover ${S} samples; ` +
        `pad the signal with inferencePad first`,
    );
  }
  const frameProbs = overlapMean(windowProbs, n, W, shift, K, T);
  return overlapMean(frameProbs, T, nFft, hop, K, S);
}

/** Index of the largest value per row of `[rows, k]` (ties to the lowest index). */
export function argmaxRows(values: Float32Array, k: number): Int32Array {
  const rows = Math.floor(values.length / k);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[r * k + j] > values[r * k + best]) best = j;
    out[r] = best;
  }
  return out;
}

/** Arguments of {@link recordingFeatures}. */
export interface RecordingFeatureArgs extends FrameLabelArgs {
  /** Axis names of `rec` in output channel order (e.g. `SELFPAB_AXIS_ORDER.daphnet.dual`). */
  axes: readonly string[];
  /** Statistics to normalise with; `null`: raw magnitudes. */
  norm: NormParams | null;
  /** Inference: zero-pad the signal first ({@link inferencePad}) and label with `padEnd`. Default false. */
  inference?: boolean;
  /** Accept dead channels. Default false. */
  allowDeadChannels?: boolean;
}

/** {@link recordingFeatures} result. */
export interface RecordingFeatures {
  /** Normalised (or raw) frames. */
  frames: SpectrogramFrames;
  /** Frame labels, when `rec` has labels. */
  labels?: FrameLabels;
  /** Samples S of the recording before any padding. */
  samples: number;
}

/**
 * A 50 Hz {@link Recording}'s SelfPAB frames: the named axes in order →
 * {@link spectrogramFeatures} → {@link normalise}, plus {@link frameLabels}.
 * The recording must be regular at 50 Hz (resample it first).
 *
 * @throws DataFormatError naming `rec.source` on a missing axis, dead channel, non-finite sample;
 *   ConfigError on another rate or irregular timestamps
 */
export function recordingFeatures(rec: Recording, args: RecordingFeatureArgs): RecordingFeatures {
  if (rec.timestampsMs) {
    throw new ConfigError(
      `${rec.source}: irregular timestamps; resample to ${SELFPAB_RATE_HZ} Hz first ` +
        `(resample(rec, ${SELFPAB_RATE_HZ}, { method: "fourier" }))`,
    );
  }
  const axes = args.axes.map((a) => {
    const i = rec.axisNames.indexOf(a);
    if (i < 0) {
      throw new DataFormatError(
        rec.source,
        `no axis "${a}" (axes: ${rec.axisNames.join(", ")}); missing sensor placement?`,
      );
    }
    return rec.axes[i];
  });
  const S = axes.length ? axes[0].length : 0;
  const common: SpectrogramArgs = {
    nFft: args.nFft,
    hop: args.hop,
    sampleRateHz: rec.rateHz,
    source: rec.source,
    channelNames: args.axes,
    allowDeadChannels: args.allowDeadChannels,
  };
  checkChannels(axes, common);
  const input = args.inference ? inferencePad(axes, args.nFft, args.hop) : axes;
  const raw = spectrogramFeatures(input, { ...common, allowDeadChannels: true });
  const frames = args.norm ? normalise(raw, args.norm) : raw;
  const labels = rec.labels
    ? frameLabels(rec.labels, { ...args, padEnd: args.inference === true })
    : undefined;
  return { frames, labels, samples: S };
}

/** Options of {@link resampleForSelfpab}. */
export interface SelfpabResampleArgs {
  /** Target rate (Hz). Default 50. */
  targetHz?: number;
  /**
   * Largest distance (ms) of any timestamp from the nominal grid
   * `t0 + i·1000/rateHz` for the samples to count as regular (ms-rounded
   * clocks such as Daphnet's 64 Hz). Default 1 ms.
   */
  gridToleranceMs?: number;
  /** Irregular recordings: gaps longer than this (s) split segments. Default 1. */
  maxGapSec?: number;
}

/** Python's `round` (half to even), as the reference's label index rule uses it. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Bring a recording to 50 Hz the way the SelfPAB reference does
 * (`src/resamplers.py`): FFT resampling (`scipy.signal.resample`, here
 * {@link fourierResample}) of the **whole** sample sequence to
 * `round(S·50/rate)` samples, labels by the nearest index
 * `round(i·S/S')`. A recording already at the target rate without
 * timestamps is returned as is. Timestamps within `gridToleranceMs` of the
 * nominal grid count as regular (the reference ignores them too);
 * genuinely irregular or gapped recordings go through
 * `resample(rec, 50, { method: "fourier" })` (linear onto the nominal grid
 * per segment, then FFT), one Recording per segment.
 *
 * @throws ConfigError on a non-positive or non-finite rate (naming the file)
 */
export function resampleForSelfpab(rec: Recording, args: SelfpabResampleArgs = {}): Recording[] {
  const target = args.targetHz ?? SELFPAB_RATE_HZ;
  if (!(rec.rateHz > 0) || !Number.isFinite(rec.rateHz)) {
    throw new ConfigError(`${rec.source}: sample rate ${rec.rateHz} Hz cannot be resampled`);
  }
  const S = rec.axes.length ? rec.axes[0].length : 0;
  const ts = rec.timestampsMs;
  let regular = true;
  if (ts) {
    const dt = 1000 / rec.rateHz, tol = args.gridToleranceMs ?? 1;
    for (let i = 0; i < ts.length && regular; i++) {
      if (!(Math.abs(ts[i] - ts[0] - i * dt) <= tol)) regular = false;
    }
  }
  if (!regular) {
    return resample(rec, target, { method: "fourier", maxGapSec: args.maxGapSec ?? 1 });
  }
  if (rec.rateHz === target) {
    const { timestampsMs: _drop, ...rest } = rec;
    return [rest];
  }
  const n = Math.max(1, Math.round((S * target) / rec.rateHz));
  const axes = rec.axes.map((a) => Float32Array.from(fourierResample(a, n)));
  let labels: Int32Array | undefined;
  if (rec.labels) {
    const lab = rec.labels;
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) labels[i] = lab[Math.min(S - 1, roundHalfEven((i * S) / n))];
  }
  const { timestampsMs: _t, labels: _l, ...rest } = rec;
  return [{
    ...rest,
    rateHz: target,
    axes,
    ...(labels ? { labels } : {}),
    meta: { ...(rec.meta ?? {}), resampledFromHz: rec.rateHz },
  }];
}
