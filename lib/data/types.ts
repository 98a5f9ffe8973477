/**
 * Core data types: every reader returns {@link Recording}s, every model
 * consumes {@link Windows}.
 */

/**
 * One subject × one device (or sensor set) session, as read from a file.
 *
 * Axes are in g. Multi-sensor recordings (Daphnet ankle/thigh/trunk, HARTH
 * back/thigh) keep all sensors as separate axes, named in `axisNames`
 * (e.g. `["back_x","back_y","back_z","thigh_x","thigh_y","thigh_z"]`).
 *
 * @example
 * const rec: Recording = {
 *   dataset: "wisdm-watch", subject: "1600", placement: "wrist", device: "watch",
 *   rateHz: 20, axes: [x, y, z], axisNames: ["x", "y", "z"],
 *   labels: codes, labelNames: ["walking", ...], source: "data_1600_accel_watch.txt.gz",
 * };
 */
export interface Recording {
  /** Registry name of the dataset, e.g. `"wisdm-watch"`, `"hmp-adl"`. */
  dataset: string;
  /** Subject identifier as the dataset spells it (`"1600"`, `"f1"`, `"sub3"`). */
  subject: string;
  /** Body placement: `"wrist"`, `"pocket"`, `"ankle"`, `"thigh"`, `"back"`, `"unknown"`, or `"a+b"` for several. */
  placement: string;
  /** Device, e.g. `"watch"`, `"phone"`, `"AX3"`. */
  device?: string;
  /** Nominal sample rate (Hz). For irregular data, the median rate; see `timestampsMs`. */
  rateHz: number;
  /** Per-axis samples in g; all the same length. */
  axes: Float32Array[];
  /** Axis names, same length as `axes` (`["x","y","z"]` for a single sensor). */
  axisNames: string[];
  /** Per-sample times in ms (relative to `startMs` when given), for irregular data. */
  timestampsMs?: Float64Array;
  /** Absolute start time (ms since Unix epoch), when the format records it. */
  startMs?: number;
  /** Per-sample label index into `labelNames`; -1 = unlabelled/ignored. */
  labels?: Int32Array;
  /** Class names indexed by `labels`. */
  labelNames?: string[];
  /** The file it came from (path as read). */
  source: string;
  /** Free-form extra metadata (trial, session, range, …). */
  meta?: Record<string, string | number | boolean>;
}

/**
 * Fixed-length windows, what every model consumes; row-major
 * `[n, channels, length]`, the ssl-wearables `X.npy` layout.
 */
export interface Windows {
  /** Samples, row-major `[n, channels, length]`, in g. */
  x: Float32Array;
  /** Number of windows. */
  n: number;
  /** Channels per window (3 for one tri-axial sensor). */
  channels: number;
  /** Samples per window (`windowSec * rateHz`). */
  length: number;
  /** Class index into `classes` per window; -1 = unlabelled. */
  y: Int32Array;
  /** Class names. */
  classes: string[];
  /** Subject per window. */
  subject: string[];
  /** Sample rate of the windows (Hz). */
  rateHz: number;
  /** Window start time (s from recording start) per window, when known. */
  startSec?: Float64Array;
  /** Source recording index/file per window, when known. */
  source?: string[];
}

/** Number of samples in one recording. */
export function recordingLength(rec: Recording): number {
  return rec.axes.length ? rec.axes[0].length : 0;
}
