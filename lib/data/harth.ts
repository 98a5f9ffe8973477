/**
 * HARTH (Logacjov et al. 2021, UCI id 779) and HAR70+ (Ustad et al. 2023,
 * UCI id 780) CSV files: one file per subject (`S006.csv`, `501.csv`),
 * header `timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label`
 * (some HARTH files have an extra leading index column, tolerated; columns
 * are found by name), two Axivity AX3 sensors in g at 50 Hz, integer
 * activity codes mapped to {@link HARTH_LABELS} names.
 *
 * @example
 * const rec = await readHarthCsv("datasets/harth/S006.csv");
 * rec.axisNames; // ["back_x", ..., "thigh_z"]
 * selectPlacement(rec, "thigh"); // 3 axes
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { checkRate } from "./rate.ts";
import { readText, TextScanner } from "./text.ts";
import type { Recording } from "./types.ts";

/**
 * HARTH / HAR70+ activity codes → names (snake_case of the dataset's
 * names: "stairs (ascending)" → `stairs_ascending`, "cycling (sit,
 * inactive)" → `cycling_sit_inactive`).
 */
export const HARTH_LABELS: Readonly<Record<number, string>> = {
  1: "walking",
  2: "running",
  3: "shuffling",
  4: "stairs_ascending",
  5: "stairs_descending",
  6: "standing",
  7: "sitting",
  8: "lying",
  13: "cycling_sit",
  14: "cycling_stand",
  130: "cycling_sit_inactive",
  140: "cycling_stand_inactive",
};

/** The codes of {@link HARTH_LABELS} in ascending order; `labels` index this list. */
export const HARTH_CODES: readonly number[] = Object.keys(HARTH_LABELS).map(Number).sort((a, b) =>
  a - b
);

/** The sensor axes, in output order. */
export const HARTH_AXES: readonly string[] = [
  "back_x",
  "back_y",
  "back_z",
  "thigh_x",
  "thigh_y",
  "thigh_z",
];

/** Options for {@link readHarthCsv}. */
export interface ReadHarthOptions {
  /** Claimed sample rate (Hz), checked against the timestamps. Default 50. */
  rateHz?: number;
  /** Relative tolerance of the rate check. Default 0.15. */
  rateTolerance?: number;
  /** Dataset name (`"harth"` or `"har70plus"`). Default `"harth"`. */
  dataset?: string;
}

/**
 * Parse `YYYY-MM-DD HH:MM:SS[.ffffff]` (or `T` separator) at `s[i..]` as UTC
 * ms; returns NaN when the text is not such a date-time.
 */
export function parseDateTimeMs(s: string): number {
  const d = (k: number) => s.charCodeAt(k) - 48;
  if (s.length < 19 || s[4] !== "-" || s[7] !== "-" || s[13] !== ":" || s[16] !== ":") {
    return NaN;
  }
  const Y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const Mo = d(5) * 10 + d(6), D = d(8) * 10 + d(9);
  const h = d(11) * 10 + d(12), mi = d(14) * 10 + d(15), se = d(17) * 10 + d(18);
  let ms = 0;
  if (s[19] === ".") {
    let scale = 100;
    for (let k = 20; k < s.length; k++) {
      const c = d(k);
      if (c < 0 || c > 9) return NaN;
      ms += c * scale;
      scale /= 10;
    }
  } else if (s.length > 19) return NaN;
  const v = Date.UTC(Y, Mo - 1, D, h, mi, se) + ms;
  return [Y, Mo, D, h, mi, se].some((x) => Number.isNaN(x)) ? NaN : v;
}

const COMMA = 44;

/**
 * Read one HARTH / HAR70+ CSV file. Timestamps (date-times, or plain numbers
 * taken as ms) become `startMs` + `timestampsMs`; the claimed rate is
 * checked (`readHarthCsv(p, {rateHz: 100})` on 50 Hz data throws naming the
 * file, the claimed and the measured rate).
 *
 * @throws DataFormatError `S006.csv: missing column "thigh_z"`,
 *   `S006.csv line 7: back_y: non-numeric value "abc"`, unknown label codes
 */
export async function readHarthCsv(path: string, opts: ReadHarthOptions = {}): Promise<Recording> {
  const name = basename(path);
  const text = await readText(path);
  const sc: TextScanner = new TextScanner(text, path);
  sc.skipBlankLines();
  const header = sc.restOfLine().split(",").map((h) => h.trim().replace(/^"|"$/g, ""));
  sc.skipLine();
  const need = ["timestamp", ...HARTH_AXES, "label"];
  const col = new Map<string, number>();
  for (const c of need) {
    const i = header.indexOf(c);
    if (i >= 0 && header.indexOf(c, i + 1) >= 0) {
      throw new DataFormatError(
        name,
        `column "${c}" appears twice (columns ${i + 1} and ${header.indexOf(c, i + 1) + 1})`,
      );
    }
    if (i < 0) {
      throw new DataFormatError(name, `missing column "${c}" (header: ${header.join(",")})`);
    }
    col.set(c, i);
  }
  // role of each column: -2 skip, -1 timestamp, 0..5 axis, 6 label
  const role = header.map((h) => {
    if (h === "timestamp") return -1;
    if (h === "label") return 6;
    const a = HARTH_AXES.indexOf(h);
    return a >= 0 ? a : -2;
  });
  const nCols = header.length;
  let cap = 1;
  for (let i = text.indexOf("\n", sc.pos); i >= 0; i = text.indexOf("\n", i + 1)) cap++;
  const axes = HARTH_AXES.map(() => new Float32Array(cap));
  const t = new Float64Array(cap);
  const labels = new Int32Array(cap);
  const codeIndex = new Map(HARTH_CODES.map((c, i) => [c, i]));
  let n = 0, nan = 0;
  sc.skipBlankLines();
  while (!sc.atEnd()) {
    for (let c = 0; c < nCols; c++) {
      const r = role[c];
      if (c > 0 && !sc.accept(COMMA)) {
        sc.fail(`${sc.fieldsInLine(COMMA)} fields, expected ${nCols}`);
      }
      if (r === -2) {
        sc.token(COMMA);
        continue;
      }
      if (r === -1) {
        const tok = sc.token(COMMA);
        let v = parseDateTimeMs(tok);
        if (Number.isNaN(v)) {
          v = Number(tok);
          if (tok === "" || !Number.isFinite(v)) sc.fail(`timestamp: not a date-time "${tok}"`);
        }
        t[n] = v;
        continue;
      }
      const v = sc.tryNumber();
      if (v === undefined) {
        const f = sc.fieldsInLine(COMMA);
        if (f !== nCols) sc.fail(`${f} fields, expected ${nCols}`);
        sc.fail(`${header[c]}: non-numeric value "${sc.badToken()}"`);
      }
      if (r === 6) {
        const li = codeIndex.get(v as number);
        if (li === undefined) sc.fail(`label: unknown activity code ${v}`);
        labels[n] = li as number;
      } else {
        axes[r][n] = sc.finite(v as number, header[c], true);
        if (Number.isNaN(v)) nan++;
      }
    }
    if (!sc.endLine()) sc.fail(`${sc.fieldsInLine(COMMA)} fields, expected ${nCols}`);
    n++;
    sc.skipBlankLines();
  }
  if (n === 0) throw new DataFormatError(name, "no data rows");
  const startMs = t[0];
  const timestampsMs = t.slice(0, n).map((v) => v - startMs);
  const rateHz = opts.rateHz ?? 50;
  const measured = checkRate(path, timestampsMs, rateHz, opts.rateTolerance ?? 0.15);
  return {
    dataset: opts.dataset ?? "harth",
    subject: name.replace(/\.csv(\.gz)?$/i, ""),
    placement: "back+thigh",
    device: "AX3",
    rateHz,
    axes: axes.map((a) => a.slice(0, n)),
    axisNames: [...HARTH_AXES],
    timestampsMs,
    startMs,
    labels: labels.slice(0, n),
    labelNames: HARTH_CODES.map((c) => HARTH_LABELS[c]),
    source: path,
    meta: { measuredRateHz: measured, nanSamples: nan, indexColumn: role[0] === -2 },
  };
}
