/**
 * Spectrogram figures for SelfPAB: STFT frames as time × frequency heatmaps
 * (one panel per channel), a TERA-masked crop next to the clean one, and a
 * masked reconstruction next to the truth. Every panel of a figure shares
 * one colour scale (one colour bar), time in seconds on a shared x axis and
 * frequency in Hz on each panel's y axis; altered time spans and frequency
 * bands are outlined on every panel.
 *
 * Frames are channel-major, as lib/signal/spectrogram.ts writes them:
 * `data[t * features + c * bins + f]`; frame `t` covers the samples
 * `[t·hop, t·hop + nFft)` with `nFft = 2 (bins − 1)`, and is drawn at its
 * centre, `startSec + t · hopSec + nFft / (2 rateHz)`; bin `f` is at
 * `f · rateHz / nFft` Hz.
 *
 * @example
 * const f = recordingFeatures(rec, { axes: DAPHNET_HUNT4_CHANNELS, norm }).frames;
 * plotSpectrogram(f, { channelNames: ["back x", "back y", "back z", "thigh x", "thigh y", "thigh z"] });
 * const ex = reconstructionExample(model, f, { cropFrames: 120, seed: 3 });
 * plotReconstruction(ex.target, ex.input, ex.reconstruction, ex.mask,
 *   { frames: ex.frames, features: ex.features, bins: 26, channel: 3 });
 */
import { ConfigError } from "../errors.ts";
import type { SpectrogramFrames } from "../signal/spectrogram.ts";
import {
  type Annotation,
  type Figure,
  fitTitle,
  type Layout,
  type Shape,
  type Trace,
} from "./plotly.ts";

/** Time and frequency axes of spectrogram panels. */
export interface SpectrogramAxesArgs {
  /** Seconds between frame starts (SelfPAB: hop 25 samples at 50 Hz = 0.5 s). Default 0.5. */
  hopSec?: number;
  /** Sample rate of the signal the frames came from (Hz); sets the bin frequencies. Default 50. */
  rateHz?: number;
  /** Time of the first frame's first sample (s), e.g. the crop's offset in the recording. Default 0. */
  startSec?: number;
}

/** Colour and size options shared by every spectrogram figure. */
export interface SpectrogramStyleArgs extends SpectrogramAxesArgs {
  /** Figure title. */
  title?: string;
  /** Colour-bar title (the unit of the values, e.g. `"z (HUNT4)"`). Default `"value"`. */
  zTitle?: string;
  /** Colour range `[min, max]`. Default: the 1st to 99th percentile of all shown values. */
  zRange?: [number, number];
  /** Plotly colour scale. Default `"Viridis"`. */
  colorscale?: string | [number, string][];
  /** Figure width (px). Default 900. */
  width?: number;
  /** Height of one panel (px). Default 150 (spectrograms) or 190 (masking, reconstruction). */
  panelHeightPx?: number;
}

/** Options of {@link plotSpectrogram}. */
export interface PlotSpectrogramOptions extends SpectrogramStyleArgs {
  /** Channels to draw, in order. Default: all. */
  channels?: number[];
  /** A name per channel of `frames` (all of them, not only the drawn ones). Default `channel 0`, …. */
  channelNames?: string[];
}

/** Where one channel of a flat `[frames · features]` crop is, for {@link plotMasking} / {@link plotReconstruction}. */
export interface MaskedCropOptions extends SpectrogramStyleArgs {
  /** Frames in the crop. */
  frames: number;
  /** Features per frame (`channels · bins`). */
  features: number;
  /** Bins per channel (26 for n_fft 50). */
  bins: number;
  /** Channel drawn (0-based). */
  channel: number;
  /** Name of the drawn channel, for the panel titles. Default `channel <n>`. */
  channelName?: string;
  /** Outline colour of the altered spans and bands. Default `"#ff3b30"`. */
  outlineColor?: string;
}

/** One heatmap panel: a title and `z[bin][frame]`. */
interface Panel {
  title: string;
  z: number[][];
}

/** Altered regions of one channel: runs of frames and runs of bins, inclusive. */
export interface MaskRegions {
  /** `[first, last]` frames altered in every bin of the channel (time spans). */
  timeSpans: [number, number][];
  /** `[first, last]` bins altered in most frames outside the time spans (frequency bands). */
  freqBands: [number, number][];
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new ConfigError(msg);
}

function positive(v: number | undefined, fallback: number, name: string, fn: string): number {
  const x = v ?? fallback;
  check(Number.isFinite(x) && x > 0, `${fn}: ${name} must be a finite number > 0, got ${v}`);
  return x;
}

/** Time (s) of each frame's centre and frequency (Hz) of each bin. */
function axesOf(frames: number, bins: number, a: SpectrogramAxesArgs, fn: string) {
  const hop = positive(a.hopSec, 0.5, "hopSec", fn);
  const rate = positive(a.rateHz, 50, "rateHz", fn);
  const start = a.startSec ?? 0;
  check(Number.isFinite(start), `${fn}: startSec must be finite, got ${a.startSec}`);
  check(Number.isInteger(bins) && bins >= 2, `${fn}: bins must be an integer >= 2, got ${bins}`);
  const nFft = 2 * (bins - 1);
  const half = nFft / (2 * rate);
  const t = Array.from({ length: frames }, (_, i) => start + i * hop + half);
  const hz = Array.from({ length: bins }, (_, f) => (f * rate) / nFft);
  return { t, hz, hop, df: rate / nFft };
}

/** `z[bin][frame]` of channel `c`, checking every value is finite. */
function channelImage(
  data: ArrayLike<number>,
  frames: number,
  features: number,
  bins: number,
  c: number,
  what: string,
  fn: string,
): number[][] {
  const z: number[][] = Array.from({ length: bins }, () => new Array<number>(frames));
  for (let t = 0; t < frames; t++) {
    const row = t * features + c * bins;
    for (let f = 0; f < bins; f++) {
      const v = data[row + f];
      if (!Number.isFinite(v)) {
        throw new ConfigError(
          `${fn}: ${what} has a non-finite value (${v}) at frame ${t}, channel ${c}, bin ${f}`,
        );
      }
      z[f][t] = v;
    }
  }
  return z;
}

/** The `q`-quantile (0..1) of sorted values (linear interpolation). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const p = q * (sorted.length - 1);
  const lo = Math.floor(p), hi = Math.ceil(p);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
}

function colourRange(
  panels: Panel[],
  given: [number, number] | undefined,
  fn: string,
): [number, number] {
  if (given) {
    check(
      given.length === 2 && Number.isFinite(given[0]) && Number.isFinite(given[1]) &&
        given[0] < given[1],
      `${fn}: zRange must be two finite numbers [min, max] with min < max, got ${
        JSON.stringify(given)
      }`,
    );
    return given;
  }
  let n = 0;
  for (const p of panels) for (const r of p.z) n += r.length;
  const all = new Float64Array(n);
  let k = 0;
  for (const p of panels) for (const r of p.z) for (const v of r) all[k++] = v;
  all.sort();
  const lo = quantile(all, 0.01), hi = quantile(all, 0.99);
  return hi > lo ? [lo, hi] : [lo - 0.5, lo + 0.5];
}

/**
 * The altered time spans and frequency bands of channel `channel` in a TERA
 * mask (`[frames · features]`, 1 = altered): a frame whose every bin is
 * altered belongs to a time span; a bin altered in at least half of the
 * remaining frames that have any altered bin belongs to a frequency band.
 *
 * @example
 * maskRegions(mask, { frames: 120, features: 156, bins: 26, channel: 3 });
 * // { timeSpans: [[4, 6], [30, 32]], freqBands: [[11, 13]] }
 */
export function maskRegions(
  mask: ArrayLike<number>,
  a: { frames: number; features: number; bins: number; channel: number },
): MaskRegions {
  const { frames, features, bins, channel } = a;
  const timeMasked = new Array<boolean>(frames).fill(false);
  const partial: number[] = [];
  for (let t = 0; t < frames; t++) {
    let n = 0;
    for (let f = 0; f < bins; f++) if (mask[t * features + channel * bins + f] > 0) n++;
    if (n === bins) timeMasked[t] = true;
    else if (n > 0) partial.push(t);
  }
  const runs = (flags: boolean[]): [number, number][] => {
    const out: [number, number][] = [];
    for (let i = 0; i < flags.length; i++) {
      if (!flags[i]) continue;
      let j = i;
      while (j + 1 < flags.length && flags[j + 1]) j++;
      out.push([i, j]);
      i = j;
    }
    return out;
  };
  const band = new Array<boolean>(bins).fill(false);
  if (partial.length > 0) {
    for (let f = 0; f < bins; f++) {
      let n = 0;
      for (const t of partial) if (mask[t * features + channel * bins + f] > 0) n++;
      band[f] = n >= partial.length / 2;
    }
  }
  return { timeSpans: runs(timeMasked), freqBands: runs(band) };
}

/** Outline shapes of `regions` on the panel whose axes are `x` / `yRef`. */
function outlines(
  regions: MaskRegions,
  ax: { t: number[]; hz: number[]; hop: number; df: number },
  yRef: string,
  color: string,
): Shape[] {
  const x0 = ax.t[0] - ax.hop / 2, x1 = ax.t[ax.t.length - 1] + ax.hop / 2;
  const y0 = ax.hz[0] - ax.df / 2, y1 = ax.hz[ax.hz.length - 1] + ax.df / 2;
  const line = { color, width: 1.5 };
  const shapes: Shape[] = [];
  for (const [a, b] of regions.timeSpans) {
    shapes.push({
      type: "rect",
      xref: "x",
      yref: yRef,
      x0: ax.t[a] - ax.hop / 2,
      x1: ax.t[b] + ax.hop / 2,
      y0,
      y1,
      line,
      layer: "above",
    });
  }
  for (const [a, b] of regions.freqBands) {
    shapes.push({
      type: "rect",
      xref: "x",
      yref: yRef,
      x0,
      x1,
      y0: ax.hz[a] - ax.df / 2,
      y1: ax.hz[b] + ax.df / 2,
      line: { ...line, dash: "dot" },
      layer: "above",
    });
  }
  return shapes;
}

/** Stack `panels` top to bottom on one time axis and one colour scale. */
function panelsFigure(
  panels: Panel[],
  ax: { t: number[]; hz: number[]; hop: number; df: number },
  style: SpectrogramStyleArgs,
  defaultPanelPx: number,
  fn: string,
  regions?: { regions: MaskRegions; color: string },
): Figure {
  const n = panels.length;
  const panelPx = positive(style.panelHeightPx, defaultPanelPx, "panelHeightPx", fn);
  const width = positive(style.width, 900, "width", fn);
  const [zmin, zmax] = colourRange(panels, style.zRange, fn);
  const gapPx = 34; // room for each panel's title
  const top = style.title ? 80 : 40, bottom = 60;
  const plotPx = n * panelPx + (n - 1) * gapPx;
  const height = Math.round(top + bottom + plotPx);
  const data: Trace[] = [];
  const layout: Layout = {
    width,
    height,
    margin: { l: 70, r: 30, t: top, b: bottom },
    coloraxis: {
      colorscale: style.colorscale ?? "Viridis",
      cmin: zmin,
      cmax: zmax,
      colorbar: {
        title: { text: style.zTitle ?? "value", side: "right" },
        len: Math.min(1, 360 / plotPx),
      },
    },
    xaxis: {
      title: { text: "time (s)" },
      anchor: `y${n === 1 ? "" : n}`,
      range: [ax.t[0] - ax.hop / 2, ax.t[ax.t.length - 1] + ax.hop / 2],
    },
  };
  if (style.title) layout.title = { text: style.title };
  const annotations: Annotation[] = [];
  const shapes: Shape[] = [];
  panels.forEach((p, i) => {
    const key = i === 0 ? "y" : `y${i + 1}`;
    const axisName = i === 0 ? "yaxis" : `yaxis${i + 1}`;
    const hi = 1 - (i * (panelPx + gapPx)) / plotPx;
    const lo = hi - panelPx / plotPx;
    layout[axisName] = {
      domain: [Math.max(0, lo), Math.min(1, hi)],
      title: { text: "Hz" },
      range: [ax.hz[0] - ax.df / 2, ax.hz[ax.hz.length - 1] + ax.df / 2],
    };
    data.push({
      type: "heatmap",
      name: p.title,
      x: ax.t,
      y: ax.hz,
      z: p.z,
      coloraxis: "coloraxis",
      yaxis: key,
      hovertemplate: `${p.title}<br>%{x:.1f} s, %{y:.0f} Hz: %{z:.3f}<extra></extra>`,
    });
    annotations.push({
      text: `<b>${p.title}</b>`,
      xref: "paper",
      yref: "paper",
      x: 0,
      y: Math.min(1, hi),
      xanchor: "left",
      yanchor: "bottom",
      showarrow: false,
      font: { size: 13 },
    });
    if (regions) {
      for (const s of outlines(regions.regions, ax, key, regions.color)) shapes.push(s);
    }
  });
  layout.annotations = annotations;
  if (shapes.length) layout.shapes = shapes;
  return fitTitle({ data, layout });
}

/**
 * STFT frames as one time × frequency heatmap per channel, stacked, on one
 * colour scale (the 1st–99th percentile by default, so a few large values do
 * not wash the rest out). Take `log10` of raw magnitudes first for a
 * readable raw spectrogram; z-scored frames plot as they are.
 *
 * @example
 * plotSpectrogram(frames, { channelNames, hopSec: 0.5, rateHz: 50, zTitle: "z (HUNT4)" });
 * @throws ConfigError on a size mismatch, a bad channel or a non-finite value
 */
export function plotSpectrogram(
  frames: SpectrogramFrames,
  options: PlotSpectrogramOptions = {},
): Figure {
  const fn = "plotSpectrogram";
  const { frames: T, features: F, channels: C, bins: B } = frames;
  check(Number.isInteger(T) && T >= 1, `${fn}: frames must be an integer >= 1, got ${T}`);
  check(F === C * B, `${fn}: features ${F} are not channels ${C} × bins ${B}`);
  check(
    frames.data.length === T * F,
    `${fn}: ${frames.data.length} values are not frames ${T} × features ${F}`,
  );
  const names = options.channelNames ?? Array.from({ length: C }, (_, c) => `channel ${c}`);
  check(names.length === C, `${fn}: ${names.length} channelNames for ${C} channels`);
  const chans = options.channels ?? Array.from({ length: C }, (_, c) => c);
  check(chans.length >= 1, `${fn}: no channels to draw`);
  for (const c of chans) {
    check(Number.isInteger(c) && c >= 0 && c < C, `${fn}: channel ${c} is not in 0..${C - 1}`);
  }
  const ax = axesOf(T, B, options, fn);
  const panels = chans.map((c) => ({
    title: names[c],
    z: channelImage(frames.data, T, F, B, c, names[c], fn),
  }));
  return panelsFigure(panels, ax, options, 150, fn);
}

function checkCrop(fn: string, o: MaskedCropOptions, arrays: [string, ArrayLike<number>][]): void {
  check(
    Number.isInteger(o.frames) && o.frames >= 1,
    `${fn}: frames must be an integer >= 1, got ${o.frames}`,
  );
  check(
    Number.isInteger(o.bins) && o.bins >= 2,
    `${fn}: bins must be an integer >= 2, got ${o.bins}`,
  );
  check(
    Number.isInteger(o.features) && o.features >= o.bins && o.features % o.bins === 0,
    `${fn}: features ${o.features} are not a multiple of bins ${o.bins}`,
  );
  const C = o.features / o.bins;
  check(
    Number.isInteger(o.channel) && o.channel >= 0 && o.channel < C,
    `${fn}: channel ${o.channel} is not in 0..${C - 1}`,
  );
  for (const [name, a] of arrays) {
    check(
      a.length === o.frames * o.features,
      `${fn}: ${name} has ${a.length} values, not frames ${o.frames} × features ${o.features}`,
    );
  }
}

/**
 * A TERA-masked crop of one channel: the clean frames above, the model's
 * input (zeroed / copied spans, zeroed band) below, on one colour scale, with
 * the altered time spans (solid) and frequency bands (dotted) outlined.
 *
 * @example
 * const a = teraAlter(clean, 120, rng(1));
 * plotMasking(clean, a.input, a.mask, { frames: 120, features: 156, bins: 26, channel: 3 });
 * @throws ConfigError on size mismatches, a bad channel or non-finite values
 */
export function plotMasking(
  clean: ArrayLike<number>,
  input: ArrayLike<number>,
  mask: ArrayLike<number>,
  options: MaskedCropOptions,
): Figure {
  const fn = "plotMasking";
  checkCrop(fn, options, [["clean", clean], ["input", input], ["mask", mask]]);
  const { frames: T, features: F, bins: B, channel: c } = options;
  const name = options.channelName ?? `channel ${c}`;
  const regions = maskRegions(mask, options);
  const altered = regions.timeSpans.reduce((s, [a, b]) => s + b - a + 1, 0);
  const panels = [
    { title: `clean, ${name}`, z: channelImage(clean, T, F, B, c, "clean", fn) },
    {
      title:
        `masked input (${altered} of ${T} frames in altered spans, ${regions.freqBands.length} band${
          regions.freqBands.length === 1 ? "" : "s"
        })`,
      z: channelImage(input, T, F, B, c, "input", fn),
    },
  ];
  return panelsFigure(panels, axesOf(T, B, options, fn), options, 190, fn, {
    regions,
    color: options.outlineColor ?? "#ff3b30",
  });
}

/**
 * Masked reconstruction of one channel: truth, masked input and the model's
 * reconstruction stacked on one colour scale, altered regions outlined; the
 * panel titles give the masked L1 of the reconstruction on this channel and
 * of the masked input (what the loss sees).
 *
 * @example
 * const ex = reconstructionExample(model, frames, { cropFrames: 120, seed: 3 });
 * plotReconstruction(ex.target, ex.input, ex.reconstruction, ex.mask,
 *   { frames: ex.frames, features: ex.features, bins: 26, channel: 3 });
 * @throws ConfigError on size mismatches, a bad channel or non-finite values
 */
export function plotReconstruction(
  target: ArrayLike<number>,
  input: ArrayLike<number>,
  reconstruction: ArrayLike<number>,
  mask: ArrayLike<number>,
  options: MaskedCropOptions,
): Figure {
  const fn = "plotReconstruction";
  checkCrop(fn, options, [
    ["target", target],
    ["input", input],
    ["reconstruction", reconstruction],
    ["mask", mask],
  ]);
  const { frames: T, features: F, bins: B, channel: c } = options;
  const name = options.channelName ?? `channel ${c}`;
  let n = 0, errRec = 0, errIn = 0;
  for (let t = 0; t < T; t++) {
    for (let f = 0; f < B; f++) {
      const k = t * F + c * B + f;
      if (mask[k] > 0) {
        n++;
        errRec += Math.abs(reconstruction[k] - target[k]);
        errIn += Math.abs(input[k] - target[k]);
      }
    }
  }
  const l1 = (e: number) => (n ? (e / n).toFixed(3) : "n/a");
  const panels = [
    { title: `truth, ${name}`, z: channelImage(target, T, F, B, c, "target", fn) },
    {
      title: `masked input (masked L1 ${l1(errIn)})`,
      z: channelImage(input, T, F, B, c, "input", fn),
    },
    {
      title: `reconstruction (masked L1 ${l1(errRec)})`,
      z: channelImage(reconstruction, T, F, B, c, "reconstruction", fn),
    },
  ];
  return panelsFigure(panels, axesOf(T, B, options, fn), options, 190, fn, {
    regions: maskRegions(mask, options),
    color: options.outlineColor ?? "#ff3b30",
  });
}
