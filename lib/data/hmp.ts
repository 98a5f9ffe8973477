/**
 * HMP "Dataset for ADL Recognition with Wrist-worn Accelerometer" (Bruno et
 * al. 2012/2013, UCI id 283): one trial per file
 * `<Activity>[_MODEL]/Accelerometer-<YYYY-MM-DD-hh-mm-ss>-<act>-<subj>[_k].txt`,
 * rows of three integer codes 0..63 (x y z), 32 Hz, right wrist.
 * Codes map to g by `g = -1.5 + 3 * code / 63` (the dataset's MANUAL.txt).
 *
 * @example
 * const recs = await readHmpAdl("datasets/hmp-adl");            // 14 activities, no _MODEL trials
 * const all = await readHmpAdl("datasets/hmp-adl", { includeModel: true });
 */
import { basename, dirname, join } from "node:path";
import { DataFormatError } from "../errors.ts";
import { readText, TextScanner } from "./text.ts";
import type { Recording } from "./types.ts";

/** HMP ADL activity names (folder names lower-cased, without `_MODEL`), sorted. */
export const HMP_ACTIVITIES: readonly string[] = [
  "brush_teeth",
  "climb_stairs",
  "comb_hair",
  "descend_stairs",
  "drink_glass",
  "eat_meat",
  "eat_soup",
  "getup_bed",
  "liedown_bed",
  "pour_water",
  "sitdown_chair",
  "standup_chair",
  "use_telephone",
  "walk",
];

/** HMP sample rate (Hz). */
export const HMP_RATE_HZ = 32;

/** Options for {@link readHmpAdl}. */
export interface ReadHmpOptions {
  /** Also read the authors' `*_MODEL` trials (flagged `meta.model = true`). Default false. */
  includeModel?: boolean;
}

const NAME_RE =
  /^Accelerometer-(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-([a-z_]+)-([a-z]+\d+)(?:_(\d+))?\.txt(?:\.gz)?$/i;

/**
 * Read one HMP trial file. Subject (`f1`, `m3`) and start time come from the
 * file name (the time is the recording's local clock, stored as if UTC in
 * `startMs`); the activity is the parent folder lower-cased without
 * `_MODEL` (`meta.model = true` for `_MODEL` folders). Labels are constant
 * over the trial and index into {@link HMP_ACTIVITIES}.
 *
 * @throws DataFormatError naming the file for a bad name, line or code outside 0..63
 */
export async function readHmpFile(path: string): Promise<Recording> {
  const name = basename(path);
  const m = NAME_RE.exec(name);
  if (!m) {
    throw new DataFormatError(
      name,
      "file name does not match Accelerometer-<date>-<activity>-<subject>.txt",
    );
  }
  const folder = basename(dirname(path));
  const model = /_MODEL$/i.test(folder);
  let activity = folder.replace(/_MODEL$/i, "").toLowerCase();
  if (!HMP_ACTIVITIES.includes(activity)) activity = m[7].toLowerCase();
  const text = await readText(path);
  const sc: TextScanner = new TextScanner(text, path);
  let cap = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) cap++;
  const axes = [new Float32Array(cap), new Float32Array(cap), new Float32Array(cap)];
  const AXIS = ["x", "y", "z"];
  let n = 0;
  sc.skipBlankLines();
  while (!sc.atEnd()) {
    for (let a = 0; a < 3; a++) {
      const v = sc.tryNumber();
      if (v === undefined) {
        const f = sc.fieldsInLine(32);
        if (f !== 3) sc.fail(`${f} fields, expected 3`);
        sc.fail(`${AXIS[a]}: non-numeric value "${sc.badToken()}"`);
      }
      if (!(v >= 0 && v <= 63 && Number.isInteger(v))) {
        sc.fail(`${AXIS[a]}: code ${v} outside 0..63`);
      }
      axes[a][n] = -1.5 + 3 * (v as number) / 63;
    }
    if (!sc.endLine()) sc.fail(`${sc.fieldsInLine(32)} fields, expected 3`);
    n++;
    sc.skipBlankLines();
  }
  if (n === 0) throw new DataFormatError(name, "no data rows");
  const li = HMP_ACTIVITIES.indexOf(activity);
  const labelNames = li >= 0 ? [...HMP_ACTIVITIES] : [activity];
  const [Y, Mo, D, h, mi, s] = m.slice(1, 7).map(Number);
  return {
    dataset: "hmp-adl",
    subject: m[8].toLowerCase(),
    placement: "wrist",
    device: "HMP",
    rateHz: HMP_RATE_HZ,
    axes: axes.map((a) => a.slice(0, n)),
    axisNames: ["x", "y", "z"],
    startMs: Date.UTC(Y, Mo - 1, D, h, mi, s),
    labels: new Int32Array(n).fill(li >= 0 ? li : 0),
    labelNames,
    source: path,
    meta: { activity, model, trial: m[9] ? Number(m[9]) : 0 },
  };
}

/**
 * Read every trial of the HMP ADL dataset folder (the 14 activity folders,
 * plus `*_MODEL` folders when `includeModel`), sorted by folder then file.
 * Files not named `Accelerometer-*.txt` (README, MANUAL) are ignored.
 */
export async function readHmpAdl(dir: string, opts: ReadHmpOptions = {}): Promise<Recording[]> {
  const folders: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory) continue;
      const model = /_MODEL$/i.test(e.name);
      if (model && !opts.includeModel) continue;
      if (!HMP_ACTIVITIES.includes(e.name.replace(/_MODEL$/i, "").toLowerCase())) continue;
      folders.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataFormatError(dir, "folder not found");
    throw e;
  }
  if (folders.length === 0) {
    throw new DataFormatError(dir, "no HMP activity folders (Brush_teeth, Walk, ...) found");
  }
  folders.sort();
  const out: Recording[] = [];
  for (const f of folders) {
    const files: string[] = [];
    for await (const e of Deno.readDir(join(dir, f))) {
      if (e.isFile && /^Accelerometer-.*\.txt(\.gz)?$/.test(e.name)) files.push(e.name);
    }
    files.sort();
    for (const file of files) out.push(await readHmpFile(join(dir, f, file)));
  }
  if (out.length === 0) {
    throw new DataFormatError(
      dir,
      `no file matches <Activity>/Accelerometer-<date>-<activity>-<subject>.txt[.gz] in ${
        folders.join(", ")
      }`,
    );
  }
  return out;
}
