/**
 * WISDM 2019 (Smartphone and Smartwatch Activity and Biometrics, Weiss 2019,
 * UCI id 507) raw accelerometer files: `data_<pid>_accel_<watch|phone>.txt[.gz]`,
 * rows `pid,code,timestamp_ns,x,y,z;` with x/y/z in m/s².
 *
 * Timestamps: the raw `timestamp_ns` is a device clock (ns since boot, not Unix
 * time), so `startMs` is left unset and the raw first timestamp is kept in
 * `meta.firstTimestampNs`. Across activity segments the clock can jump
 * forwards (a gap of minutes) or backwards (garbled segments); the reader
 * KEEPS every sample and its time (`timestampsMs`, relative to the first
 * sample, possibly non-monotonic) and counts the backward jumps
 * (`meta.backwardJumps`) and gaps > 1 s (`meta.gaps`). The windowing layer
 * must cut windows where the label changes or where successive timestamps
 * are not ~1/rate apart.
 *
 * @example
 * const rec = await readWisdm("datasets/wisdm-2019/raw/watch/accel/data_1600_accel_watch.txt.gz");
 * rec.rateHz; // 20
 * rec.labelNames![rec.labels![0]]; // "walking"
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { checkRate, medianRateHz, timestampUnitHint } from "./rate.ts";
import { readText, TextScanner } from "./text.ts";
import type { Recording } from "./types.ts";

/** Standard gravity (m/s² per g). */
export const STANDARD_GRAVITY = 9.80665;

/**
 * WISDM 2019 activity codes (`activity_key.txt`: A..S without N) and their
 * names, in code order; `labels` index into {@link WISDM_ACTIVITIES}.
 */
export const WISDM_CODES: readonly string[] = [
  "A",
  "B",
  "C",
  "D",
  "E",
  "F",
  "G",
  "H",
  "I",
  "J",
  "K",
  "L",
  "M",
  "O",
  "P",
  "Q",
  "R",
  "S",
]; // deno-fmt-ignore

/** Activity names from `activity_key.txt`, snake_case, in {@link WISDM_CODES} order. */
export const WISDM_ACTIVITIES: readonly string[] = [
  "walking", "jogging", "stairs", "sitting", "standing", "typing", "teeth", "soup", "chips",
  "pasta", "drinking", "sandwich", "kicking", "catch", "dribbling", "writing", "clapping", "folding",
]; // deno-fmt-ignore

/** WISDM 2019's nominal sample rate (Hz). */
export const WISDM_NOMINAL_HZ = 20;

/** Options for {@link readWisdm}. */
export interface ReadWisdmOptions {
  /**
   * Claimed sample rate (Hz), checked against the timestamps: a mismatch
   * beyond `rateTolerance` is an error naming the file. Default: WISDM's
   * nominal 20 Hz when the timestamps agree, else the measured rate (some
   * phone files run at ~25 Hz), recorded in `meta.rateNote`.
   */
  rateHz?: number;
  /** Relative tolerance of the rate check (0.15 = ±15 %); `Infinity` disables it. Default 0.15. */
  rateTolerance?: number;
  /** Device override (`"watch"` / `"phone"`); default parsed from the file name. */
  device?: "watch" | "phone";
}

/**
 * Parse an `activity_key.txt` (`walking = A` lines) into code → snake_case name.
 *
 * @example
 * parseWisdmActivityKey("walking = A\nteeth = G\n"); // Map { "A" => "walking", "G" => "teeth" }
 */
export function parseWisdmActivityKey(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(.+?)\s*=\s*([A-Z])$/.exec(line);
    if (!m) continue;
    out.set(m[2], toSnakeCase(m[1]));
  }
  return out;
}

/** `"Brushing Teeth"` → `"brushing_teeth"`. */
export function toSnakeCase(s: string): string {
  return s.trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

const CODE_INDEX = new Int32Array(128).fill(-1);
WISDM_CODES.forEach((c, i) => CODE_INDEX[c.charCodeAt(0)] = i);

/**
 * Read one WISDM 2019 raw accelerometer file (plain or `.gz`) into a
 * {@link Recording} in g (m/s² / 9.80665) with per-sample activity labels.
 *
 * Errors name the file, line and fault, e.g.
 * `DataFormatError: data_1600_accel_watch.txt line 812: 5 fields, expected 6`.
 * Literal `NaN` values are kept (and counted in `meta.nanSamples`) for the
 * window quality checks to drop; `Infinity`, overflowing values (`1e400`),
 * a non-finite timestamp and other non-numeric text are errors.
 */
export async function readWisdm(path: string, opts: ReadWisdmOptions = {}): Promise<Recording> {
  const text = await readText(path);
  const name = basename(path);
  const device = opts.device ?? (/_phone\b/.test(name) ? "phone" : "watch");
  const sc: TextScanner = new TextScanner(text, path);

  let cap = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) cap++;
  const x = new Float32Array(cap), y = new Float32Array(cap), z = new Float32Array(cap);
  const t = new Float64Array(cap);
  const labels = new Int32Array(cap);
  let n = 0, pid = NaN, t0 = NaN, nan = 0;
  const g = 1 / STANDARD_GRAVITY;

  const fieldError = (field: string): never => {
    const f = sc.fieldsInLine(44, 59);
    if (f !== 6) sc.fail(`${f} fields, expected 6`);
    sc.skipSpaces();
    if (sc.peek() === 44) sc.pos++;
    return sc.fail(`${field}: non-numeric value "${sc.badToken()}"`);
  };

  sc.skipBlankLines();
  while (!sc.atEnd()) {
    const p = sc.tryNumber();
    if (p === undefined || !sc.accept(44)) fieldError("subject");
    if (Number.isNaN(pid)) pid = p as number;
    else if (p !== pid) sc.fail(`subject ${p} differs from the file's subject ${pid}`);
    sc.skipSpaces();
    const code = sc.text.charCodeAt(sc.pos);
    const li = code < 128 ? CODE_INDEX[code] : -1;
    if (li < 0) {
      if (code === 44 || sc.text.charCodeAt(sc.pos + 1) !== 44) fieldError("activity");
      sc.fail(`unknown activity code "${String.fromCharCode(code)}" (expected A-S without N)`);
    }
    sc.pos++;
    if (!sc.accept(44)) fieldError("activity");
    const ts = sc.tryNumber();
    if (ts === undefined) fieldError("timestamp");
    sc.finite(ts as number, "timestamp");
    if (!sc.accept(44)) fieldError("timestamp");
    const vx = sc.tryNumber();
    if (vx === undefined) fieldError("x");
    sc.finite(vx as number, "x", true);
    if (!sc.accept(44)) fieldError("x");
    const vy = sc.tryNumber();
    if (vy === undefined) fieldError("y");
    sc.finite(vy as number, "y", true);
    if (!sc.accept(44)) fieldError("y");
    const vz = sc.tryNumber();
    if (vz === undefined) fieldError("z");
    sc.finite(vz as number, "z", true);
    if (!sc.endLine(59)) fieldError("z");
    if (n === 0) t0 = ts as number;
    t[n] = ((ts as number) - t0) / 1e6;
    x[n] = (vx as number) * g;
    y[n] = (vy as number) * g;
    z[n] = (vz as number) * g;
    if (Number.isNaN(vx) || Number.isNaN(vy) || Number.isNaN(vz)) nan++;
    labels[n] = li;
    n++;
    sc.skipBlankLines();
  }
  if (n === 0) throw new DataFormatError(name, "no data rows");

  const timestampsMs = t.slice(0, n);
  let backwardJumps = 0, gaps = 0;
  for (let i = 1; i < n; i++) {
    const d = timestampsMs[i] - timestampsMs[i - 1];
    if (d < 0) backwardJumps++;
    else if (d > 1000) gaps++;
  }
  const tolerance = opts.rateTolerance ?? 0.15;
  let rateHz = opts.rateHz ?? WISDM_NOMINAL_HZ;
  let rateNote: string | undefined;
  const measured = opts.rateHz !== undefined
    ? checkRate(path, timestampsMs, opts.rateHz, tolerance, "ns")
    : medianRateHz(timestampsMs);
  // a measured rate off by about 1000× is a timestamp unit fault, not a phone running fast
  const unitHint = timestampUnitHint(measured, WISDM_NOMINAL_HZ, "ns");
  if (opts.rateHz === undefined && unitHint) {
    throw new DataFormatError(
      name,
      `timestamps give ${measured.toPrecision(4)} Hz (median interval ${
        (1000 / measured).toPrecision(4)
      } ms), WISDM's nominal rate is ${WISDM_NOMINAL_HZ} Hz: ${unitHint}`,
    );
  }
  if (
    opts.rateHz === undefined && Number.isFinite(measured) &&
    Math.abs(measured - WISDM_NOMINAL_HZ) > tolerance * WISDM_NOMINAL_HZ
  ) {
    rateHz = Math.round(measured * 100) / 100;
    rateNote = `timestamps give ${rateHz} Hz, not WISDM's nominal ${WISDM_NOMINAL_HZ} Hz`;
  }
  return {
    dataset: `wisdm-${device}`,
    subject: String(pid),
    placement: device === "watch" ? "wrist" : "pocket",
    device,
    rateHz,
    axes: [x.slice(0, n), y.slice(0, n), z.slice(0, n)],
    axisNames: ["x", "y", "z"],
    timestampsMs,
    labels: labels.slice(0, n),
    labelNames: [...WISDM_ACTIVITIES],
    source: path,
    meta: {
      firstTimestampNs: t0,
      measuredRateHz: measured,
      ...(rateNote ? { rateNote } : {}),
      backwardJumps,
      gaps,
      nanSamples: nan,
    },
  };
}
