/**
 * lib/data: file readers, the dataset registry and downloads. Every reader
 * returns {@link Recording}s (axes in g); the ssl-wearables `.npy` triple
 * reads as {@link Windows}.
 *
 * @example
 * import { loadDataset, readWisdm } from "./lib/data/mod.ts";
 * const recs = await loadDataset("hmp-adl", { subjects: ["f1", "m1"] });
 */
export * from "./types.ts";
export * from "./paths.ts";
export { gunzip, isGzip, readBytes, readText, TextScanner } from "./text.ts";
export { checkRate, medianRateHz, timestampUnitHint } from "./rate.ts";
export {
  checkDuplicates,
  checkRange,
  checkRecordings,
  checkUnits,
  DEFAULT_MAX_ABS_G,
  FILE_UNITS,
  GRAVITY_MAX_G,
  GRAVITY_MIN_G,
  likelyUnit,
  type RecordingChecks,
  sampleFingerprint,
  sensorGroups,
  type StillMagnitude,
  stillMagnitudes,
} from "./checks.ts";
export {
  parseWisdmActivityKey,
  readWisdm,
  type ReadWisdmOptions,
  STANDARD_GRAVITY,
  toSnakeCase,
  WISDM_ACTIVITIES,
  WISDM_CODES,
} from "./wisdm.ts";
export {
  HMP_ACTIVITIES,
  HMP_RATE_HZ,
  readHmpAdl,
  readHmpFile,
  type ReadHmpOptions,
} from "./hmp.ts";
export {
  MOBIFALL_CODES,
  MOBIFALL_FALLS,
  MOBIFALL_NAMES,
  readMobiFall,
  readMobiFallFile,
} from "./mobifall.ts";
export {
  DAPHNET_AXES,
  DAPHNET_CLASSES,
  readDaphnet,
  type ReadDaphnetOptions,
  selectPlacement,
} from "./daphnet.ts";
export {
  blockFieldFault,
  type CwaHeader,
  cwaPackedTime,
  cwaRangeG,
  cwaRateHz,
  parseCwaHeader,
  readCwa,
  type ReadCwaOptions,
} from "./cwa.ts";
export {
  decodeNpy,
  encodeNpy,
  type NpyArray,
  type NpyData,
  npyToNumbers,
  readNpy,
  type ReadSslNpyOptions,
  readSslWearablesNpy,
  WINDOWS_NPY_FILES,
  windowsToNpy,
  type WindowsToNpyOptions,
  writeNpy,
  type WriteNpyOptions,
} from "./npy.ts";
export {
  HARTH_AXES,
  HARTH_CODES,
  HARTH_LABELS,
  parseDateTimeMs,
  readHarthCsv,
  type ReadHarthOptions,
} from "./harth.ts";
export {
  crc32,
  type FileErrorType,
  inflateRaw,
  isZip,
  writeZip,
  type WriteZipOptions,
  ZipArchive,
  type ZipArchiveOptions,
  type ZipEntry,
  type ZipInput,
} from "./zip.ts";
export {
  type ArchiveEntry,
  type ExtractBudget,
  extractBudget,
  extractEntries,
  extractZip,
  untar,
  unzip,
} from "./archive.ts";
export {
  type DecompressLimits,
  DEFAULT_DOWNLOAD_MAX_BYTES,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_RATIO,
  DEFAULT_RATIO_FLOOR_BYTES,
  inflate,
  resolveLimits,
} from "./decompress.ts";
export {
  type DatasetInfo,
  datasetInfo,
  type DatasetLoadOptions,
  DATASETS,
  datasetStatus,
  loadDataset,
  type LoadDatasetOptions,
  loadDatasetWindows,
  locateDataset,
  restrictClasses,
  unavailable,
} from "./registry.ts";
export {
  DOWNLOAD_MARKER,
  downloadDataset,
  type DownloadOptions,
  type DownloadResult,
  sha256Hex,
  unpackArchive,
  type UnpackOptions,
} from "./download.ts";
export * from "./benchmarks.ts";
