/**
 * The dataset registry: where each dataset comes from (official URLs,
 * checksums when known, licence, citation), what it holds (classes,
 * placement, rate), how it is laid out on disk, and how to load it.
 *
 * Datasets live under {@link dataDir} (`$HAR_DATA_DIR` or `./datasets`), one
 * folder each (`wisdm-2019/raw/watch/accel/...`, `hmp-adl/<Activity>/...`).
 * Archives often unpack into an extra folder level; the loader finds the
 * dataset root up to three levels below the dataset folder.
 *
 * @example
 * const recs = await loadDataset("wisdm-watch", { subjects: ["1600", "1601"] });
 * const hmp = await loadDataset("hmp-adl", { classes: ["walk", "climb_stairs"] });
 */
import { join, relative } from "node:path";
import { ConfigError, DataFormatError, DatasetUnavailableError } from "../errors.ts";
import { checkRecordings, type RecordingChecks } from "./checks.ts";
import { readCwa } from "./cwa.ts";
import { DAPHNET_CLASSES, readDaphnet } from "./daphnet.ts";
import { HARTH_CODES, HARTH_LABELS, readHarthCsv } from "./harth.ts";
import { HMP_ACTIVITIES, readHmpAdl } from "./hmp.ts";
import { MOBIFALL_CODES, readMobiFall } from "./mobifall.ts";
import { readSslWearablesNpy } from "./npy.ts";
import { dataDir } from "./paths.ts";
import type { Recording, Windows } from "./types.ts";
import { readWisdm, WISDM_ACTIVITIES } from "./wisdm.ts";

/** Options passed to a dataset's own `load`. */
export interface DatasetLoadOptions {
  /** Keep only these subjects (as the dataset spells them: `"1600"`, `"f1"`, `"sub2"`, `"S01"`). */
  subjects?: string[];
  /** HMP only: also read the `*_MODEL` trials. Default false. */
  includeModel?: boolean;
}

/** Everything the project knows about one dataset. */
export interface DatasetInfo {
  /** Registry name (`"wisdm-watch"`). */
  name: string;
  /** Human-readable title. */
  title: string;
  /** Official download URL(s) of the archive; empty when it must be requested by hand. */
  urls: string[];
  /** SHA-256 of the archive at `urls[0]`, or null when not known (never guessed). */
  sha256: string | null;
  /** Where to get it by hand / landing page (and how, when there is no direct URL). */
  homepage: string;
  /** Manual download instructions when `urls` is empty or fails. */
  manual?: string;
  /** Licence / terms of use. */
  licence: string;
  /** Citation to give when using it. */
  citation: string;
  /** Class names, in label-index order (empty for unlabelled data). */
  classes: string[];
  /** Body placement(s). */
  placement: string;
  /** Nominal sample rate (Hz). */
  rateHz: number;
  /** Folder under {@link dataDir} (`"wisdm-2019"`). */
  folder: string;
  /** Expected layout below the dataset root. */
  layout: string;
  /** How the dataset root is recognised: a relative path, or a pattern an entry name matches. */
  marker: string | RegExp;
  /** What it yields: recordings (most) or ready-made windows (ssl-wearables reference). */
  kind: "recordings" | "windows";
  /** Read the dataset root found by {@link locateDataset} (recordings datasets). */
  load?: (root: string, opts: DatasetLoadOptions) => Promise<Recording[]>;
  /** Read the dataset root (windows datasets). */
  loadWindows?: (root: string) => Promise<Windows>;
}

/**
 * The files in `dir` whose names match `re`, sorted. No match at all is a
 * `DataFormatError` naming the folder, the expected pattern and a few of the
 * names found (a misnamed or misplaced file is otherwise silently skipped).
 */
async function listFiles(dir: string, re: RegExp, pattern: string): Promise<string[]> {
  const out: string[] = [], other: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && re.test(e.name)) out.push(e.name);
      else if (e.isFile && !e.name.startsWith(".")) other.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataFormatError(dir, "folder not found");
    throw e;
  }
  if (out.length === 0) {
    other.sort();
    throw new DataFormatError(
      dir,
      `no file matches ${pattern} (${
        other.length
          ? `found ${other.length} other file(s): ${other.slice(0, 5).join(", ")}${
            other.length > 5 ? ", ..." : ""
          }`
          : "the folder holds no files"
      })`,
    );
  }
  return out.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

function wantSubject(opts: DatasetLoadOptions, s: string): boolean {
  return !opts.subjects || opts.subjects.includes(s);
}

async function loadWisdm(root: string, device: "watch" | "phone", opts: DatasetLoadOptions) {
  const dir = join(root, "raw", device, "accel");
  const out: Recording[] = [];
  const re = new RegExp(`^data_\\d+_accel_${device}\\.txt(\\.gz)?$`);
  for (const f of await listFiles(dir, re, `data_<pid>_accel_${device}.txt[.gz]`)) {
    const pid = /^data_(\d+)_/.exec(f)![1];
    if (wantSubject(opts, pid)) out.push(await readWisdm(join(dir, f), { device }));
  }
  return out;
}

const UCI = "https://archive.ics.uci.edu/static/public";

/**
 * A WISDM 2019 entry: watch and phone come from the same archive and differ
 * only in the device folder and its placement. `layoutExtra` is appended to
 * the layout (files beside the device folder).
 */
function wisdmInfo(
  device: "watch" | "phone",
  placement: string,
  layoutExtra = "",
): DatasetInfo {
  return {
    name: `wisdm-${device}`,
    title:
      `WISDM Smartphone and Smartwatch Activity and Biometrics (2019), ${device} accelerometer`,
    urls: [`${UCI}/507/wisdm+smartphone+and+smartwatch+activity+and+biometrics+dataset.zip`],
    sha256: null,
    homepage: "https://archive.ics.uci.edu/dataset/507",
    licence: "CC BY 4.0 (UCI Machine Learning Repository)",
    citation:
      "Weiss, G. M. (2019). WISDM Smartphone and Smartwatch Activity and Biometrics Dataset. UCI Machine Learning Repository. https://doi.org/10.24432/C5HK59",
    classes: [...WISDM_ACTIVITIES],
    placement,
    rateHz: 20,
    folder: "wisdm-2019",
    layout: `raw/${device}/accel/data_<pid>_accel_${device}.txt[.gz]${layoutExtra}`,
    marker: `raw/${device}/accel`,
    kind: "recordings",
    load: (root, opts) => loadWisdm(root, device, opts),
  };
}

/** The registry. Keys are the names accepted by {@link loadDataset} and `har download`. */
export const DATASETS: Record<string, DatasetInfo> = {
  "wisdm-watch": wisdmInfo("watch", "wrist", ", activity_key.txt"),
  "wisdm-phone": wisdmInfo("phone", "pocket"),
  "hmp-adl": {
    name: "hmp-adl",
    title: "HMP: Dataset for ADL Recognition with Wrist-worn Accelerometer",
    urls: [`${UCI}/283/dataset+for+adl+recognition+with+wrist+worn+accelerometer.zip`],
    sha256: null,
    homepage: "https://archive.ics.uci.edu/dataset/283",
    licence: "CC BY 4.0 (UCI Machine Learning Repository)",
    citation:
      "Bruno, B., Mastrogiovanni, F., Sgorbissa, A., Vernazza, T., Zaccaria, R. (2014). Dataset for ADL Recognition with Wrist-worn Accelerometer. UCI Machine Learning Repository. https://doi.org/10.24432/C5PC99",
    classes: [...HMP_ACTIVITIES],
    placement: "wrist",
    rateHz: 32,
    folder: "hmp-adl",
    layout: "<Activity>[_MODEL]/Accelerometer-<date>-<activity>-<subject>.txt",
    marker: "Brush_teeth",
    kind: "recordings",
    load: async (root, opts) =>
      (await readHmpAdl(root, { includeModel: opts.includeModel })).filter((r) =>
        wantSubject(opts, r.subject)
      ),
  },
  // The small real default the quickstart runs on: every HMP trial file the
  // "adl5" benchmark reads (7 subjects, 5 activities and their _MODEL
  // folders), gzipped, committed in <project>/datasets/hmp-adl-sample/.
  "hmp-adl-sample": {
    name: "hmp-adl-sample",
    title:
      "HMP ADL sample shipped with the project: the adl5 subset (7 subjects, 5 activities, _MODEL trials included)",
    urls: [],
    sha256: null,
    homepage: "https://archive.ics.uci.edu/dataset/283",
    manual:
      "Ships with the repository in datasets/hmp-adl-sample/ (datasets/README.md: what it holds, how it was made, sha256 of every file); for the full dataset run: deno task har download hmp-adl",
    licence:
      "CC BY 4.0 (UCI Machine Learning Repository); the archive's README.txt asks that redistribution be arranged with the authors (see datasets/README.md)",
    citation:
      "Bruno, B., Mastrogiovanni, F., Sgorbissa, A., Vernazza, T., Zaccaria, R. (2014). Dataset for ADL Recognition with Wrist-worn Accelerometer. UCI Machine Learning Repository. https://doi.org/10.24432/C5PC99",
    classes: [...HMP_ACTIVITIES],
    placement: "wrist",
    rateHz: 32,
    folder: "hmp-adl-sample",
    layout: "<Activity>[_MODEL]/Accelerometer-<date>-<activity>-<subject>.txt.gz",
    marker: "Walk",
    kind: "recordings",
    load: async (root, opts) =>
      (await readHmpAdl(root, { includeModel: opts.includeModel })).filter((r) =>
        wantSubject(opts, r.subject)
      ),
  },
  "mobifall": {
    name: "mobifall",
    title: "MobiFall v2.0 (smartphone falls and ADL)",
    urls: [],
    sha256: null,
    homepage: "https://bmi.hmu.gr/the-mobifall-and-mobiact-datasets-2/",
    manual:
      "MobiFall is distributed by the BMI lab (Hellenic Mediterranean University) after a request form: fill it in at https://bmi.hmu.gr/the-mobifall-and-mobiact-datasets-2/, then unpack MobiFall_Dataset_v2.0 so that sub<N>/ folders sit in <dataDir>/mobifall-v2/.",
    licence: "Research use; request from the BMI lab (see homepage)",
    citation:
      "Vavoulas, G., Pediaditis, M., Chatzaki, C., Spanakis, E. G., Tsiknakis, M. (2014). The MobiFall dataset: fall detection and classification with a smartphone. IJMSTR 2(1):44-56.",
    classes: [...MOBIFALL_CODES],
    placement: "pocket",
    rateHz: 87,
    folder: "mobifall-v2",
    layout: "sub<N>/{ADL,FALLS}/<CODE>/<CODE>_acc_<N>_<trial>.txt[.gz], DataDescribe.txt",
    marker: /^sub\d+$/,
    kind: "recordings",
    load: async (root, opts) =>
      (await readMobiFall(root)).filter((r) => wantSubject(opts, r.subject)),
  },
  "daphnet": {
    name: "daphnet",
    title: "Daphnet Freezing of Gait",
    urls: [`${UCI}/245/daphnet+freezing+of+gait.zip`],
    sha256: null,
    homepage: "https://archive.ics.uci.edu/dataset/245",
    licence: "CC BY 4.0 (UCI Machine Learning Repository)",
    citation:
      "Bächlin, M., Plotnik, M., Roggen, D., Maidan, I., Hausdorff, J. M., Giladi, N., Tröster, G. (2010). Wearable assistant for Parkinson's disease patients with the freezing of gait symptom. IEEE TITB 14(2):436-446.",
    classes: [...DAPHNET_CLASSES],
    placement: "ankle+thigh+trunk",
    rateHz: 64,
    folder: "daphnet-fog",
    layout: "SxxRyy.txt[.gz] (possibly below dataset_fog_release/dataset/)",
    marker: /^S\d+R\d+\.txt(\.gz)?$/,
    kind: "recordings",
    load: async (root, opts) => {
      const out: Recording[] = [];
      for (const f of await listFiles(root, /^S\d+R\d+\.txt(\.gz)?$/, "SxxRyy.txt[.gz]")) {
        const subject = `S${/^S(\d+)/.exec(f)![1].padStart(2, "0")}`;
        if (wantSubject(opts, subject)) out.push(await readDaphnet(join(root, f)));
      }
      return out;
    },
  },
  "axivity-sample": {
    name: "axivity-sample",
    title: "Axivity AX3 sample recording (OxWearables stepcount test data)",
    urls: ["https://github.com/OxWearables/stepcount/raw/main/tests/data/tiny-sample.cwa.gz"],
    sha256: null,
    homepage: "https://github.com/OxWearables/stepcount",
    licence: "Oxford University academic use licence (see the stepcount repository)",
    citation:
      "Small, S. R., et al. (2024). Self-supervised machine learning to characterize step counts from wrist-worn accelerometers in the UK Biobank. Medicine & Science in Sports & Exercise.",
    classes: [],
    placement: "unknown",
    rateHz: 100,
    folder: "axivity-cwa-sample",
    layout: "*.cwa[.gz]",
    marker: /\.cwa(\.gz)?$/i,
    kind: "recordings",
    load: async (root, opts) => {
      const out: Recording[] = [];
      for (const f of await listFiles(root, /\.cwa(\.gz)?$/i, "*.cwa[.gz]")) {
        const rec = await readCwa(join(root, f), { dataset: "axivity-sample" });
        if (wantSubject(opts, rec.subject)) out.push(rec);
      }
      return out;
    },
  },
  "harth": {
    name: "harth",
    title: "HARTH: Human Activity Recognition Trondheim",
    urls: [`${UCI}/779/harth.zip`],
    sha256: null,
    homepage:
      "https://archive.ics.uci.edu/dataset/779 (also https://github.com/ntnu-ai-lab/harth-ml-experiments)",
    licence: "CC BY 4.0 (UCI Machine Learning Repository)",
    citation:
      "Logacjov, A., Bach, K., Kongsvold, A., Bårdstu, H. B., Mork, P. J. (2021). HARTH: A Human Activity Recognition Dataset for Machine Learning. Sensors 21(23):7853.",
    classes: HARTH_CODES.map((c) => HARTH_LABELS[c]),
    placement: "back+thigh",
    rateHz: 50,
    folder: "harth",
    layout: "S<NNN>.csv (possibly below harth/)",
    marker: /^S\d+\.csv(\.gz)?$/,
    kind: "recordings",
    load: (root, opts) =>
      loadCsvFolder(root, /^S\d+\.csv(\.gz)?$/, "S<NNN>.csv[.gz]", "harth", opts),
  },
  "har70plus": {
    name: "har70plus",
    title: "HAR70+: Human Activity Recognition 70+",
    urls: [`${UCI}/780/har70.zip`],
    sha256: null,
    homepage: "https://archive.ics.uci.edu/dataset/780",
    licence: "CC BY 4.0 (UCI Machine Learning Repository)",
    citation:
      "Ustad, A., Logacjov, A., Trollebø, S. Ø., Thingstad, P., Vereijken, B., Bach, K., Maroni, N. S. (2023). Validation of an Activity Type Recognition Model Classifying Daily Physical Behavior in Older Adults: The HAR70+ Model. Sensors 23(5):2368.",
    classes: HARTH_CODES.map((c) => HARTH_LABELS[c]),
    placement: "back+thigh",
    rateHz: 50,
    folder: "har70plus",
    layout: "<NNN>.csv (possibly below har70plus/)",
    marker: /^\d+\.csv(\.gz)?$/,
    kind: "recordings",
    load: (root, opts) =>
      loadCsvFolder(root, /^\d+\.csv(\.gz)?$/, "<NNN>.csv[.gz]", "har70plus", opts),
  },
  "ssl-wearables-adl": {
    name: "ssl-wearables-adl",
    title: "ssl-wearables preprocessed ADL (HMP) windows: Y.npy, pid.npy[, X.npy]",
    urls: [],
    sha256: null,
    homepage: "https://github.com/OxWearables/ssl-wearables",
    manual:
      "Produced by the ssl-wearables data preparation scripts from the HMP ADL dataset (see the repository's data_parsing/ folder); copy X.npy, Y.npy and pid.npy into <dataDir>/ssl-wearables-adl-reference/.",
    licence: "See the ssl-wearables repository (University of Oxford academic licence)",
    citation:
      "Yuan, H., Chan, S., Creagh, A. P., et al. (2024). Self-supervised learning for human activity recognition using 700,000 person-days of wearable data. npj Digital Medicine 7:91.",
    classes: ["climb_stairs", "drink_glass", "getup_bed", "pour_water", "walk"],
    placement: "wrist",
    rateHz: 30,
    folder: "ssl-wearables-adl-reference",
    layout: "Y.npy, pid.npy, optional X.npy ([n, 300, 3])",
    marker: "pid.npy",
    kind: "windows",
    loadWindows: (root) => readSslWearablesNpy(root, { rateHz: 30 }),
  },
};

async function loadCsvFolder(
  root: string,
  re: RegExp,
  pattern: string,
  dataset: string,
  opts: DatasetLoadOptions,
): Promise<Recording[]> {
  const out: Recording[] = [];
  for (const f of await listFiles(root, re, pattern)) {
    const subject = f.replace(/\.csv(\.gz)?$/, "");
    if (wantSubject(opts, subject)) out.push(await readHarthCsv(join(root, f), { dataset }));
  }
  return out;
}

/** Look up a registry entry or throw a `ConfigError` listing the known names. */
export function datasetInfo(name: string): DatasetInfo {
  const info = DATASETS[name];
  if (!info) {
    throw new ConfigError(
      `unknown dataset "${name}" (known: ${Object.keys(DATASETS).join(", ")})`,
    );
  }
  return info;
}

async function hasMarker(dir: string, marker: string | RegExp): Promise<boolean> {
  try {
    if (typeof marker === "string") {
      await Deno.stat(join(dir, marker));
      return true;
    }
    for await (const e of Deno.readDir(dir)) if (marker.test(e.name)) return true;
  } catch { /* absent */ }
  return false;
}

/**
 * Find a dataset's root: `<dir>/<folder>` itself or the first sub-folder (up
 * to 3 levels down, breadth first, sorted) holding its marker. Null when absent.
 *
 * @param dir the data folder; default {@link dataDir}
 */
export async function locateDataset(name: string, dir = dataDir()): Promise<string | null> {
  const info = datasetInfo(name);
  let level = [join(dir, info.folder)];
  for (let depth = 0; depth <= 3 && level.length; depth++) {
    const next: string[] = [];
    for (const d of level) {
      if (await hasMarker(d, info.marker)) return d;
      try {
        const subs: string[] = [];
        for await (const e of Deno.readDir(d)) {
          if (e.isDirectory && !e.name.startsWith(".") && e.name !== "__MACOSX") {
            subs.push(join(d, e.name));
          }
        }
        for (const sub of subs.sort()) next.push(sub);
      } catch { /* not a folder */ }
    }
    level = next;
  }
  return null;
}

/** The error thrown when a dataset is absent: names the folder and the download command. */
export function unavailable(name: string, dir = dataDir()): DatasetUnavailableError {
  const info = datasetInfo(name);
  const folder = join(dir, info.folder);
  const marker = typeof info.marker === "string" ? info.marker : `an entry matching ${info.marker}`;
  const how = info.urls.length
    ? `download it with: deno task har download ${name}${
      dir === dataDir() ? "" : ` --dir ${dir}`
    } (or by hand from ${info.urls[0]} and unpack into ${folder})`
    : (info.manual ?? `get it from ${info.homepage}`).replaceAll("<dataDir>", dir);
  return new DatasetUnavailableError(
    `dataset "${name}" not found: looked in ${folder} for ${marker} (layout: ${info.layout}); ${how}`,
  );
}

/** Options for {@link loadDataset}. */
export interface LoadDatasetOptions extends DatasetLoadOptions {
  /** Data folder; default {@link dataDir} (`$HAR_DATA_DIR` or `./datasets`). */
  dir?: string;
  /**
   * Keep only these classes: other samples become unlabelled (-1), label
   * indices are re-mapped to this order, and recordings left with no
   * labelled sample are dropped. Unknown names are a `ConfigError`.
   */
  classes?: string[];
  /**
   * Plausibility checks run on every recording read (lib/data/checks.ts):
   * gravity ≈ 1 g on still segments (`units`), no physically impossible
   * value (`range`, limit `maxAbsG`), no two recordings with identical
   * samples (`duplicates`). All on by default; `{ units: false }` etc. to
   * load such data anyway.
   */
  checks?: RecordingChecks;
}

/**
 * Restrict a recording's labels to `classes` (in that order); other samples → -1.
 * Returns null when no labelled sample remains.
 */
export function restrictClasses(rec: Recording, classes: string[]): Recording | null {
  if (!rec.labels || !rec.labelNames) return null;
  const map = new Int32Array(rec.labelNames.length).fill(-1);
  rec.labelNames.forEach((n, i) => map[i] = classes.indexOf(n));
  const labels = new Int32Array(rec.labels.length);
  let kept = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = rec.labels[i];
    labels[i] = l >= 0 ? map[l] : -1;
    if (labels[i] >= 0) kept++;
  }
  return kept ? { ...rec, labels, labelNames: [...classes] } : null;
}

/**
 * Load a registered dataset from the data folder as {@link Recording}s.
 *
 * @throws DatasetUnavailableError naming the folder looked in and the download command
 * @throws ConfigError for an unknown dataset or class name
 * @throws DataFormatError for a bad file, no file matching the dataset's name
 *   pattern, or a recording failing a plausibility check (see `checks`)
 */
export async function loadDataset(
  name: string,
  opts: LoadDatasetOptions = {},
): Promise<Recording[]> {
  const info = datasetInfo(name);
  if (info.kind !== "recordings" || !info.load) {
    throw new ConfigError(
      `dataset "${name}" holds windows, not recordings: use loadDatasetWindows`,
    );
  }
  if (opts.classes) {
    const bad = opts.classes.filter((c) => !info.classes.includes(c));
    if (bad.length) {
      throw new ConfigError(
        `dataset "${name}" has no class ${bad.map((b) => `"${b}"`).join(", ")} (classes: ${
          info.classes.join(", ")
        })`,
      );
    }
  }
  const dir = opts.dir ?? dataDir();
  const root = await locateDataset(name, dir);
  if (!root) throw unavailable(name, dir);
  let recs = await info.load(root, opts);
  checkRecordings(recs, opts.checks);
  if (opts.classes) {
    recs = recs.map((r) => restrictClasses(r, opts.classes!)).filter((r): r is Recording =>
      r !== null
    );
  }
  return recs;
}

/** Load a windows dataset (`"ssl-wearables-adl"`). */
export async function loadDatasetWindows(
  name: string,
  opts: { dir?: string } = {},
): Promise<Windows> {
  const info = datasetInfo(name);
  if (!info.loadWindows) {
    throw new ConfigError(`dataset "${name}" holds recordings: use loadDataset`);
  }
  const dir = opts.dir ?? dataDir();
  const root = await locateDataset(name, dir);
  if (!root) throw unavailable(name, dir);
  return await info.loadWindows(root);
}

/** Which registered datasets are present under `dir` (name → root path, relative to `dir`, or null). */
export async function datasetStatus(dir = dataDir()): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const name of Object.keys(DATASETS)) {
    const root = await locateDataset(name, dir);
    out[name] = root ? relative(dir, root) || "." : null;
  }
  return out;
}
