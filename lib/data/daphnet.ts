/**
 * Daphnet Freezing of Gait (Bächlin et al. 2010, UCI id 245): `SxxRyy.txt[.gz]`,
 * space separated `time_ms ankle_x ankle_y ankle_z thigh_x thigh_y thigh_z
 * trunk_x trunk_y trunk_z label`, accelerations in mg, 64 Hz.
 *
 * Labels: 1 → `"no_freeze"` (index 0), 2 → `"freeze"` (index 1); 0 ("not part
 * of the experiment": setup, debriefing) → -1, i.e. unlabelled, so the
 * windowing layer drops those samples by default. `meta.outsideExperiment`
 * counts them. Use {@link selectPlacement} to keep one sensor.
 *
 * @example
 * const rec = await readDaphnet("datasets/daphnet-fog/S01R02.txt.gz");
 * const ankle = selectPlacement(rec, "ankle"); // 3 axes: ankle_x, ankle_y, ankle_z
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { checkRate } from "./rate.ts";
import { readText, TextScanner } from "./text.ts";
import type { Recording } from "./types.ts";

/** Daphnet class names; file labels 1 and 2 map to indices 0 and 1, label 0 to -1. */
export const DAPHNET_CLASSES: readonly string[] = ["no_freeze", "freeze"];

/** Daphnet axis names in file column order (after the time column). */
export const DAPHNET_AXES: readonly string[] = [
  "ankle_x",
  "ankle_y",
  "ankle_z",
  "thigh_x",
  "thigh_y",
  "thigh_z",
  "trunk_x",
  "trunk_y",
  "trunk_z",
]; // deno-fmt-ignore

/** Options for {@link readDaphnet}. */
export interface ReadDaphnetOptions {
  /** Claimed sample rate (Hz), checked against the time column. Default 64. */
  rateHz?: number;
  /** Relative tolerance of the rate check. Default 0.15. */
  rateTolerance?: number;
}

/**
 * Read one Daphnet run as ONE 9-axis {@link Recording} (axes in g, placement
 * `"ankle+thigh+trunk"`, subject `"S01"`, `meta.run` = 2 for `S01R02`).
 */
export async function readDaphnet(path: string, opts: ReadDaphnetOptions = {}): Promise<Recording> {
  const name = basename(path);
  const m = /^S(\d+)R(\d+)\.txt(?:\.gz)?$/i.exec(name);
  const text = await readText(path);
  const sc: TextScanner = new TextScanner(text, path);
  let cap = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) cap++;
  const axes = DAPHNET_AXES.map(() => new Float32Array(cap));
  const t = new Float64Array(cap);
  const labels = new Int32Array(cap);
  let n = 0, outside = 0, nan = 0;
  sc.skipBlankLines();
  while (!sc.atEnd()) {
    for (let f = 0; f < 11; f++) {
      const v = sc.tryNumber();
      if (v === undefined) {
        const k = sc.fieldsInLine(32);
        if (k !== 11) sc.fail(`${k} fields, expected 11`);
        const col = f === 0 ? "time_ms" : f === 10 ? "label" : DAPHNET_AXES[f - 1];
        sc.fail(`${col}: non-numeric value "${sc.badToken()}"`);
      }
      if (f === 0) t[n] = sc.finite(v as number, "time_ms");
      else if (f < 10) {
        sc.finite(v as number, DAPHNET_AXES[f - 1], true);
        axes[f - 1][n] = (v as number) / 1000;
        if (Number.isNaN(v)) nan++;
      } else {
        if (v === 0) {
          labels[n] = -1;
          outside++;
        } else if (v === 1 || v === 2) labels[n] = (v as number) - 1;
        else sc.fail(`label: ${v} is not 0, 1 or 2`);
      }
    }
    if (!sc.endLine()) sc.fail(`${sc.fieldsInLine(32)} fields, expected 11`);
    n++;
    sc.skipBlankLines();
  }
  if (n === 0) throw new DataFormatError(name, "no data rows");
  const t0 = t[0];
  const timestampsMs = t.slice(0, n).map((v) => v - t0);
  const rateHz = opts.rateHz ?? 64;
  const measured = checkRate(path, timestampsMs, rateHz, opts.rateTolerance ?? 0.15, "ms");
  return {
    dataset: "daphnet",
    subject: m ? `S${m[1].padStart(2, "0")}` : name.replace(/\..*$/, ""),
    placement: "ankle+thigh+trunk",
    device: "daphnet",
    rateHz,
    axes: axes.map((a) => a.slice(0, n)),
    axisNames: [...DAPHNET_AXES],
    timestampsMs,
    labels: labels.slice(0, n),
    labelNames: [...DAPHNET_CLASSES],
    source: path,
    meta: {
      run: m ? Number(m[2]) : 0,
      firstTimeMs: t0,
      measuredRateHz: measured,
      outsideExperiment: outside,
      nanSamples: nan,
    },
  };
}

/**
 * Keep one sensor of a multi-sensor recording: the axes whose names start
 * with `<prefix>_` (or equal `prefix`), renamed to `x`, `y`, `z` when they
 * follow the `<prefix>_x|y|z` pattern. Works for Daphnet (`"ankle"`,
 * `"thigh"`, `"trunk"`) and HARTH (`"back"`, `"thigh"`). Samples are shared,
 * not copied.
 *
 * @throws DataFormatError naming the source and the available axes when none match
 */
export function selectPlacement(rec: Recording, prefix: string): Recording {
  const idx: number[] = [];
  rec.axisNames.forEach((a, i) => {
    if (a === prefix || a.startsWith(`${prefix}_`)) idx.push(i);
  });
  if (idx.length === 0) {
    throw new DataFormatError(
      basename(rec.source),
      `no axes for placement "${prefix}" (axes: ${rec.axisNames.join(", ")})`,
    );
  }
  const names = idx.map((i) => rec.axisNames[i].slice(prefix.length + 1) || rec.axisNames[i]);
  return {
    ...rec,
    placement: prefix,
    axes: idx.map((i) => rec.axes[i]),
    axisNames: names,
    meta: { ...(rec.meta ?? {}), sensorSet: rec.placement },
  };
}
