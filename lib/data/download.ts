/**
 * Download a registered dataset's official archive, verify its SHA-256 when
 * the registry knows it, and unpack it into `<dir>/<folder>` (zip, tar,
 * tar.gz; nested zips, as UCI ships them, are unpacked too; a single `.gz`
 * data file such as `tiny-sample.cwa.gz` is stored as is). The archive is
 * unpacked beside its folder and renamed into place only after the checksum,
 * the extraction (bounded: 20 GiB in total and a per-entry expansion ratio,
 * so a zip bomb is refused early) and the layout check succeed, with
 * {@link DOWNLOAD_MARKER} written last: a failed or killed download never
 * leaves a half-extracted folder that `har datasets` would report as present.
 *
 * Offline or on a failed request it throws a `DatasetUnavailableError` that
 * names the URL, the cause and the folder to unpack into by hand.
 *
 * @example
 * await downloadDataset("harth");               // into $HAR_DATA_DIR/harth
 * await downloadDataset("daphnet", "/data/har"); // into /data/har/daphnet-fog
 */
import { basename, join, relative } from "node:path";
import { DataFormatError, DatasetUnavailableError } from "../errors.ts";
import { removeStaleTemps, replaceDir } from "../fs.ts";
import { extractBudget, extractEntries, extractZip, isZip, untar } from "./archive.ts";
import { DEFAULT_DOWNLOAD_MAX_BYTES, resolveLimits } from "./decompress.ts";
import { dataDir } from "./paths.ts";
import { datasetInfo, locateDataset } from "./registry.ts";
import { isGzip } from "./text.ts";

/** Options for {@link downloadDataset}. */
export interface DownloadOptions {
  /** Override the archive URL (mirrors, tests). Default: the registry's `urls`, tried in order. */
  url?: string;
  /** Override the expected SHA-256 (hex). Default: the registry's (null = not checked). */
  sha256?: string | null;
  /** Per-request timeout (ms). Default 120 000. */
  timeoutMs?: number;
  /** Re-download even when the dataset is already present. Default false. */
  force?: boolean;
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
  /**
   * Download progress: bytes received so far and the total (`Content-Length`,
   * null when the server sends none), called as chunks arrive (default: none).
   */
  progress?: (received: number, total: number | null) => void;
  /** Cap on the unpacked total (see {@link UnpackOptions.maxBytes}; default 20 GiB). */
  maxBytes?: number;
  /** Called with the complete staged folder just before it is renamed into place (tests). */
  beforeInstall?: (staged: string) => void | Promise<void>;
}

/** Result of {@link downloadDataset}. */
export interface DownloadResult {
  /** The dataset root found after unpacking. */
  root: string;
  /** Files written (empty when already present). */
  files: string[];
  /** SHA-256 (hex) of the downloaded archive ("" when already present). */
  sha256: string;
  /** URL used ("" when already present). */
  url: string;
}

/** SHA-256 of bytes, or of a string's UTF-8 encoding, as lower-case hex. */
export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  if (typeof bytes === "string") bytes = new TextEncoder().encode(bytes);
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchBytes(
  url: string,
  timeoutMs: number,
  progress?: (received: number, total: number | null) => void,
): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }
  if (!progress || !res.body) return new Uint8Array(await res.arrayBuffer());
  const length = Number(res.headers.get("content-length"));
  const total = Number.isSafeInteger(length) && length > 0 ? length : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  progress(0, total);
  for await (const chunk of res.body) {
    chunks.push(chunk);
    received += chunk.length;
    progress(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
  return bytes;
}

/** Options for {@link unpackArchive}. */
export interface UnpackOptions {
  /**
   * Cap on the uncompressed total, nested archives included (default
   * {@link DEFAULT_DOWNLOAD_MAX_BYTES}, 20 GiB, or `$HAR_DECOMPRESS_MAX_BYTES`).
   * Each entry is also bounded by its expansion ratio while it inflates.
   */
  maxBytes?: number;
}

/**
 * Unpack an archive's bytes into `dest`, one entry at a time; nested `.zip`
 * members are unpacked in place (sharing the same uncompressed budget).
 *
 * @throws DataFormatError naming the archive (and entry) for a corrupt
 *   archive, a path escaping `dest`, or a crossed size / ratio limit
 */
export async function unpackArchive(
  bytes: Uint8Array,
  name: string,
  dest: string,
  opts: UnpackOptions = {},
): Promise<string[]> {
  await Deno.mkdir(dest, { recursive: true });
  const budget = extractBudget(
    opts.maxBytes ?? envMaxBytes() ?? DEFAULT_DOWNLOAD_MAX_BYTES,
  );
  let files: string[];
  if (isZip(bytes)) files = await extractZip(bytes, name, dest, budget);
  else if (/\.tar(\.gz)?$|\.tgz$/i.test(name)) {
    files = await extractEntries(await untar(bytes, name, budget), dest);
  } else if (isGzip(bytes) || /\.(csv|txt|cwa|npy)(\.gz)?$/i.test(name)) {
    const target = join(dest, basename(name));
    await Deno.writeFile(target, bytes);
    return [target];
  } else {
    throw new DataFormatError(
      name,
      "unknown archive type (expected zip, tar, tar.gz or a .gz file)",
    );
  }
  const out: string[] = [];
  for (const f of files) {
    if (/\.zip$/i.test(f)) {
      const inner = await Deno.readFile(f);
      if (isZip(inner)) {
        for (const g of await extractZip(inner, f, join(f, ".."), budget)) out.push(g);
        await Deno.remove(f);
        continue;
      }
    }
    out.push(f);
  }
  return out;
}

/** `$HAR_DECOMPRESS_MAX_BYTES` when set (it overrides the download default too). */
function envMaxBytes(): number | undefined {
  try {
    return Deno.env.get("HAR_DECOMPRESS_MAX_BYTES") ? resolveLimits().maxBytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The file `har download` writes last into a dataset folder it unpacked
 * (JSON: dataset, url, sha256, file count, time). The folder is unpacked
 * beside its place and renamed into it only when complete, so a folder at
 * `<dir>/<folder>` is never a half-extracted download.
 */
export const DOWNLOAD_MARKER = ".har-download.json";

/**
 * Download, verify and unpack dataset `name` into `<dir>/<folder>`.
 *
 * @param dir data folder; default {@link dataDir}
 * @throws DatasetUnavailableError when no URL is known (manual download) or every URL fails
 * @throws DataFormatError on a checksum mismatch (`sha256 mismatch: expected …, got …`)
 */
export async function downloadDataset(
  name: string,
  dir: string = dataDir(),
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const info = datasetInfo(name);
  const dest = join(dir, info.folder);
  const log = opts.log ?? (() => {});
  if (!opts.force) {
    const root = await locateDataset(name, dir);
    if (root) {
      log(`${name}: already present in ${root}`);
      return { root, files: [], sha256: "", url: "" };
    }
  }
  const urls = opts.url ? [opts.url] : info.urls;
  if (urls.length === 0) {
    throw new DatasetUnavailableError(
      `dataset "${name}" has no direct download: ${
        (info.manual ?? `get it from ${info.homepage}`).replaceAll("<dataDir>", dir)
      }`,
    );
  }
  const failures: string[] = [];
  for (const url of urls) {
    log(`${name}: downloading ${url}`);
    let bytes: Uint8Array;
    try {
      bytes = await fetchBytes(url, opts.timeoutMs ?? 120_000, opts.progress);
    } catch (e) {
      const cause = (e as Error & { cause?: Error }).cause;
      failures.push(
        `${url}: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ""}`,
      );
      continue;
    }
    const hash = await sha256Hex(bytes);
    const want = opts.sha256 !== undefined ? opts.sha256 : info.sha256;
    if (want && want.toLowerCase() !== hash) {
      throw new DataFormatError(url, `sha256 mismatch: expected ${want}, got ${hash}`);
    }
    if (!want) log(`${name}: no known checksum; downloaded archive sha256 ${hash}`);
    const archiveName = basename(new URL(url).pathname) || `${name}.zip`;
    // Unpack into <dir>/<folder>.tmp-<pid>-<random>/<folder>, check the layout there, write
    // the marker last, then swap the folder into place: a failure (corrupt archive, bomb,
    // wrong layout) or a kill leaves no folder that `har datasets` reports as present.
    await Deno.mkdir(dir, { recursive: true });
    await removeStaleTemps(dest);
    const staging = `${dest}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    let files: string[];
    try {
      const stagedDest = join(staging, info.folder);
      files = await unpackArchive(bytes, archiveName, stagedDest, { maxBytes: opts.maxBytes });
      const stagedRoot = await locateDataset(name, staging);
      if (!stagedRoot) {
        throw new DataFormatError(
          archiveName,
          `unpacked, but the expected layout (${info.layout}) was not found; nothing was ` +
            `installed in ${dest}`,
        );
      }
      const marker = {
        dataset: name,
        url,
        sha256: hash,
        files: files.length,
        unpackedAt: new Date().toISOString(),
      };
      await Deno.writeTextFile(join(stagedDest, DOWNLOAD_MARKER), JSON.stringify(marker) + "\n");
      await opts.beforeInstall?.(stagedDest);
      await replaceDir(stagedDest, dest);
      files = files.map((f) => join(dest, relative(stagedDest, f)));
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
    const root = await locateDataset(name, dir);
    if (!root) throw new DataFormatError(dest, "installed, but the dataset layout vanished");
    log(`${name}: ${files.length} files in ${root}`);
    return { root, files, sha256: hash, url };
  }
  throw new DatasetUnavailableError(
    `could not download dataset "${name}" (offline or unreachable?): ${failures.join("; ")}. ` +
      `Download it by hand from ${info.homepage} and unpack it into ${dest}`,
  );
}
