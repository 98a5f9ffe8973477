/**
 * Download a registered dataset's official archive, verify its SHA-256 when
 * the registry knows it, and unpack it into `<dir>/<folder>` (zip, tar,
 * tar.gz; nested zips, as UCI ships them, are unpacked too; a single `.gz`
 * data file such as `tiny-sample.cwa.gz` is stored as is).
 *
 * Offline or on a failed request it throws a `DatasetUnavailableError` that
 * names the URL, the cause and the folder to unpack into by hand.
 *
 * @example
 * await downloadDataset("harth");               // into $HAR_DATA_DIR/harth
 * await downloadDataset("daphnet", "/data/har"); // into /data/har/daphnet-fog
 */
import { basename, join } from "node:path";
import { DataFormatError, DatasetUnavailableError } from "../errors.ts";
import { extractEntries, isZip, untar, unzip } from "./archive.ts";
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

/** SHA-256 of bytes as lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchBytes(url: string, timeoutMs: number): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Unpack an archive's bytes into `dest`; nested `.zip` members are unpacked in place. */
export async function unpackArchive(
  bytes: Uint8Array,
  name: string,
  dest: string,
): Promise<string[]> {
  await Deno.mkdir(dest, { recursive: true });
  let files: string[];
  if (isZip(bytes)) files = await extractEntries(await unzip(bytes, name), dest);
  else if (/\.tar(\.gz)?$|\.tgz$/i.test(name)) {
    files = await extractEntries(await untar(bytes, name), dest);
  } else if (isGzip(bytes) || /\.(csv|txt|cwa|npy)(\.gz)?$/i.test(name)) {
    const target = join(dest, basename(name));
    await Deno.writeFile(target, bytes);
    return [target];
  } else {throw new DataFormatError(
      name,
      "unknown archive type (expected zip, tar, tar.gz or a .gz file)",
    );}
  const out: string[] = [];
  for (const f of files) {
    if (/\.zip$/i.test(f)) {
      const inner = await Deno.readFile(f);
      if (isZip(inner)) {
        out.push(...await extractEntries(await unzip(inner, f), join(f, "..")));
        await Deno.remove(f);
        continue;
      }
    }
    out.push(f);
  }
  return out;
}

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
      bytes = await fetchBytes(url, opts.timeoutMs ?? 120_000);
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
    const files = await unpackArchive(bytes, archiveName, dest);
    const root = await locateDataset(name, dir);
    if (!root) {
      throw new DataFormatError(
        archiveName,
        `unpacked into ${dest} but the expected layout (${info.layout}) was not found`,
      );
    }
    log(`${name}: ${files.length} files in ${root}`);
    return { root, files, sha256: hash, url };
  }
  throw new DatasetUnavailableError(
    `could not download dataset "${name}" (offline or unreachable?): ${failures.join("; ")}. ` +
      `Download it by hand from ${info.homepage} and unpack it into ${dest}`,
  );
}
