/**
 * MobiFall v2.0 (Vavoulas et al., BMI lab, TEI Crete): smartphone in a
 * trouser pocket, `sub<N>/{ADL,FALLS}/<CODE>/<CODE>_acc_<N>_<trial>.txt[.gz]`,
 * `#` header lines then `@DATA`, rows `timestamp_ns, x, y, z` in m/s².
 * Sampling is irregular (~87-100 Hz, slower for the first samples): the
 * reader keeps `timestampsMs` and reports the median rate as `rateHz`.
 *
 * @example
 * const recs = await readMobiFall("datasets/mobifall-v2");
 * recs[0].labelNames![recs[0].labels![0]]; // "FKL"; recs[0].meta!.fall === true
 */
import { basename, join } from "node:path";
import { DataFormatError } from "../errors.ts";
import { medianRateHz, timestampUnitHint } from "./rate.ts";
import { readText, TextScanner } from "./text.ts";
import type { Recording } from "./types.ts";
import { STANDARD_GRAVITY } from "./wisdm.ts";

/** MobiFall activity codes (ADL then falls, DataDescribe.txt order); labels index into this. */
export const MOBIFALL_CODES: readonly string[] = [
  "STD",
  "WAL",
  "JOG",
  "JUM",
  "STU",
  "STN",
  "SCH",
  "CSI",
  "CSO",
  "FOL",
  "FKL",
  "BSC",
  "SDL",
]; // deno-fmt-ignore

/** Activity names from DataDescribe.txt, by code. */
export const MOBIFALL_NAMES: Readonly<Record<string, string>> = {
  STD: "Standing",
  WAL: "Walking",
  JOG: "Jogging",
  JUM: "Jumping",
  STU: "Stairs up",
  STN: "Stairs down",
  SCH: "Sit chair",
  CSI: "Car-step in",
  CSO: "Car-step out",
  FOL: "Forward-lying",
  FKL: "Front-knees-lying",
  BSC: "Back-sitting-chair",
  SDL: "Sideward-lying",
};

/** Codes of the fall activities. */
export const MOBIFALL_FALLS: readonly string[] = ["FOL", "FKL", "BSC", "SDL"];

const NAME_RE = /^([A-Z]{3})_acc_(\d+)_(\d+)\.txt(?:\.gz)?$/;

/**
 * Read one MobiFall accelerometer file. Label = the activity code (constant
 * over the file, index into {@link MOBIFALL_CODES}); `meta.fall` is true for
 * fall codes, `meta.activity` is the DataDescribe name, `meta.trial` the
 * trial number. Axes in g; `timestampsMs` relative to the first sample.
 */
export async function readMobiFallFile(path: string): Promise<Recording> {
  const name = basename(path);
  const m = NAME_RE.exec(name);
  if (!m) {
    throw new DataFormatError(name, "file name does not match <CODE>_acc_<subject>_<trial>.txt");
  }
  const code = m[1];
  const li = MOBIFALL_CODES.indexOf(code);
  if (li < 0) throw new DataFormatError(name, `unknown activity code "${code}"`);
  const text = await readText(path);
  const sc: TextScanner = new TextScanner(text, path);
  // header: everything up to the @DATA line
  const at = text.indexOf("@DATA");
  if (at < 0) throw new DataFormatError(name, "no @DATA line (header not terminated)");
  let datetime = "";
  // kept verbatim: the header does not say whether it is dd/mm or mm/dd
  const dm = /#Datetime:[ \t]*([^\r\n]*)/.exec(text.slice(0, at));
  if (dm) datetime = dm[1].trim();
  while (sc.pos <= at) sc.skipLine();
  let cap = 1;
  for (let i = text.indexOf("\n", sc.pos); i >= 0; i = text.indexOf("\n", i + 1)) cap++;
  const axes = [new Float32Array(cap), new Float32Array(cap), new Float32Array(cap)];
  const t = new Float64Array(cap);
  const FIELDS = ["timestamp", "x", "y", "z"];
  let n = 0, t0 = 0, nan = 0;
  const g = 1 / STANDARD_GRAVITY;
  sc.skipBlankLines();
  while (!sc.atEnd()) {
    for (let f = 0; f < 4; f++) {
      const v = sc.tryNumber();
      if (v === undefined || (f < 3 && !sc.accept(44))) {
        const k = sc.fieldsInLine(44);
        if (k !== 4) sc.fail(`${k} fields, expected 4`);
        sc.fail(`${FIELDS[f]}: non-numeric value "${sc.badToken()}"`);
      }
      sc.finite(v as number, FIELDS[f], f > 0);
      if (f === 0) {
        if (n === 0) t0 = v as number;
        t[n] = ((v as number) - t0) / 1e6;
      } else {
        axes[f - 1][n] = (v as number) * g;
        if (Number.isNaN(v)) nan++;
      }
    }
    if (!sc.endLine()) sc.fail(`${sc.fieldsInLine(44)} fields, expected 4`);
    n++;
    sc.skipBlankLines();
  }
  if (n === 0) throw new DataFormatError(name, "no data rows after @DATA");
  const timestampsMs = t.slice(0, n);
  const rate = medianRateHz(timestampsMs);
  const unitHint = timestampUnitHint(rate, 87, "ns");
  if (unitHint) {
    throw new DataFormatError(
      name,
      `timestamps give ${rate.toPrecision(4)} Hz (median interval ${
        (1000 / rate).toPrecision(4)
      } ms), MobiFall runs at ~87-100 Hz: ${unitHint}`,
    );
  }
  return {
    dataset: "mobifall",
    subject: `sub${m[2]}`,
    placement: "pocket",
    device: "phone",
    rateHz: Number.isFinite(rate) ? rate : 87,
    axes: axes.map((a) => a.slice(0, n)),
    axisNames: ["x", "y", "z"],
    timestampsMs,
    labels: new Int32Array(n).fill(li),
    labelNames: [...MOBIFALL_CODES],
    source: path,
    meta: {
      code,
      activity: MOBIFALL_NAMES[code],
      fall: MOBIFALL_FALLS.includes(code),
      trial: Number(m[3]),
      firstTimestampNs: t0,
      ...(datetime ? { datetime } : {}),
      nanSamples: nan,
    },
  };
}

async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/**
 * Read every accelerometer file under a MobiFall v2.0 folder
 * (`sub<N>/{ADL,FALLS}/<CODE>/<CODE>_acc_<N>_<trial>.txt[.gz]`), sorted by
 * subject number, category, code and trial. Gyroscope/orientation files are ignored.
 */
export async function readMobiFall(dir: string): Promise<Recording[]> {
  const subs = (await listDir(dir)).filter((e) => e.isDirectory && /^sub\d+$/.test(e.name));
  if (subs.length === 0) throw new DataFormatError(dir, "no sub<N> folders found");
  const out: Recording[] = [];
  for (const s of subs) {
    for (const cat of ["ADL", "FALLS"]) {
      for (const c of await listDir(join(dir, s.name, cat))) {
        if (!c.isDirectory) continue;
        for (const f of await listDir(join(dir, s.name, cat, c.name))) {
          if (f.isFile && NAME_RE.test(f.name)) {
            out.push(await readMobiFallFile(join(dir, s.name, cat, c.name, f.name)));
          }
        }
      }
    }
  }
  if (out.length === 0) {
    throw new DataFormatError(
      dir,
      "no file matches sub<N>/{ADL,FALLS}/<CODE>/<CODE>_acc_<N>_<trial>.txt[.gz]",
    );
  }
  return out;
}
