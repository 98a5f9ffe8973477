/**
 * Archive readers for dataset downloads: ZIP (via the shared reader in
 * ./zip.ts: stored / deflate, zip64, CRC-32 verified) and tar (plain or
 * `.tar.gz`). Entries that would escape the destination folder (`..`,
 * absolute paths) are refused, and the uncompressed total is bounded
 * ({@link ExtractBudget}; per entry also by its expansion ratio, checked
 * while inflating — see ./decompress.ts), so a zip bomb is refused early.
 *
 * @example
 * const files = await unzip(await Deno.readFile("harth.zip"));
 * await extractEntries(files, "datasets/harth");
 * await extractZip(await Deno.readFile("harth.zip"), "harth.zip", "datasets/harth"); // streaming
 */
import { dirname, join, normalize } from "node:path";
import { DataFormatError } from "../errors.ts";
import { formatBytes, resolveLimits } from "./decompress.ts";
import { gunzip, isGzip } from "./text.ts";
import { ZipArchive } from "./zip.ts";

/** One archive member. */
export interface ArchiveEntry {
  /** Path inside the archive (`/`-separated). */
  path: string;
  /** File content (empty for directories). */
  data: Uint8Array;
  /** True for a directory entry. */
  directory: boolean;
}

/** Re-exported for callers that detect the archive type here (see ./zip.ts). */
export { isZip } from "./zip.ts";

function safePath(path: string, archive: string): string {
  const p = normalize(path.replace(/\\/g, "/")).replace(/^\.\/+/, "").replace(/\/+$/, "");
  if (p.startsWith("/") || p === ".." || p.startsWith("../") || /^[a-zA-Z]:/.test(p)) {
    throw new DataFormatError(archive, `refusing entry "${path}" outside the destination`);
  }
  return p;
}

/**
 * An uncompressed-bytes budget shared by every entry (and nested archive)
 * of one extraction: `remaining` bytes may still be produced.
 */
export interface ExtractBudget {
  /** Bytes that may still be decompressed. */
  remaining: number;
  /** The cap it started from (for messages). */
  readonly total: number;
}

/** A budget of `total` uncompressed bytes (default 2 GiB, {@link DEFAULT_MAX_BYTES}). */
export function extractBudget(total: number = resolveLimits().maxBytes): ExtractBudget {
  return { remaining: total, total };
}

/** Charge `bytes` to `budget`, or throw a DataFormatError naming `file` when it is exhausted. */
function charge(budget: ExtractBudget, bytes: number, file: string, what: string): void {
  if (bytes > budget.remaining) {
    throw new DataFormatError(
      file,
      `${what}: the archive unpacks to more than ${formatBytes(budget.total)}, refusing a ` +
        `possible decompression bomb (raise $HAR_DECOMPRESS_MAX_BYTES to allow)`,
    );
  }
  budget.remaining -= bytes;
}

/**
 * Check a ZIP's paths (none may escape the destination) and declared sizes
 * (their sum must fit `budget`) before anything is extracted.
 */
function checkZip(zip: ZipArchive, file: string, budget: ExtractBudget): string[] {
  const names = [...zip.entries.keys()];
  const paths = names.map((name) => safePath(name, file)); // refuse before extracting anything
  let declared = 0;
  for (const e of zip.entries.values()) declared += e.size;
  if (declared > budget.remaining) {
    throw new DataFormatError(
      file,
      `declares ${formatBytes(declared)} of content, over the ${formatBytes(budget.total)} ` +
        `limit: refusing a possible decompression bomb (raise $HAR_DECOMPRESS_MAX_BYTES to allow)`,
    );
  }
  return paths;
}

/**
 * Decode every entry of a ZIP archive with {@link ZipArchive} (stored and
 * deflate entries, zip64, sizes and CRC-32 verified; encrypted entries and
 * paths escaping the destination are refused). Everything is held in
 * memory, so the total is limited by `budget` (default 2 GiB) as well as
 * each entry's expansion ratio (see ./decompress.ts); prefer
 * {@link extractZip} to unpack to disk.
 */
export async function unzip(
  bytes: Uint8Array,
  file = "<zip>",
  budget: ExtractBudget = extractBudget(),
): Promise<ArchiveEntry[]> {
  const zip = new ZipArchive(bytes, file);
  const paths = checkZip(zip, file, budget);
  const out: ArchiveEntry[] = [];
  for (const [i, name] of [...zip.entries.keys()].entries()) {
    const directory = name.endsWith("/");
    const data = directory ? new Uint8Array(0) : await zip.read(name);
    charge(budget, data.length, file, `entry "${name}"`);
    out.push({ path: paths[i], data, directory });
  }
  return out;
}

/**
 * Unpack a ZIP archive below `dest` one entry at a time (each entry is
 * inflated, verified and written before the next is read, so memory holds
 * one entry). Paths and the declared total are checked first; every entry
 * is bounded by its declared size and expansion ratio while it inflates.
 * Returns the written file paths.
 *
 * @example
 * await extractZip(await Deno.readFile("harth.zip"), "harth.zip", "datasets/harth");
 */
export async function extractZip(
  bytes: Uint8Array,
  file: string,
  dest: string,
  budget: ExtractBudget = extractBudget(),
): Promise<string[]> {
  const zip = new ZipArchive(bytes, file);
  const paths = checkZip(zip, file, budget);
  const written: string[] = [];
  for (const [i, name] of [...zip.entries.keys()].entries()) {
    const target = join(dest, paths[i]);
    if (name.endsWith("/")) {
      await Deno.mkdir(target, { recursive: true });
      continue;
    }
    const data = await zip.read(name, { maxBytes: budget.remaining });
    charge(budget, data.length, file, `entry "${name}"`);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeFile(target, data);
    written.push(target);
  }
  return written;
}

/**
 * Decode a tar archive (ustar / GNU long names; `.tar.gz` is gunzipped
 * first, within `budget` and the expansion ratio of ./decompress.ts).
 */
export async function untar(
  bytes: Uint8Array,
  file = "<tar>",
  budget: ExtractBudget = extractBudget(),
): Promise<ArchiveEntry[]> {
  if (isGzip(bytes)) bytes = await gunzip(bytes, file, { maxBytes: budget.remaining });
  charge(budget, bytes.length, file, "tar content");
  const out: ArchiveEntry[] = [];
  const dec = new TextDecoder();
  const str = (o: number, n: number) => {
    const s = bytes.subarray(o, o + n);
    const z = s.indexOf(0);
    return dec.decode(z >= 0 ? s.subarray(0, z) : s);
  };
  let p = 0;
  let longName: string | null = null;
  while (p + 512 <= bytes.length) {
    if (bytes.subarray(p, p + 512).every((b) => b === 0)) break;
    const size = parseInt(str(p + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(bytes[p + 156] || 48);
    const prefix = str(p + 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${str(p, 100)}` : str(p, 100));
    longName = null;
    const start = p + 512;
    if (start + size > bytes.length) {
      throw new DataFormatError(file, `entry "${name}": truncated (${size} bytes expected)`);
    }
    const data = bytes.slice(start, start + size);
    p = start + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = dec.decode(data).replace(/\0+$/, "");
      continue;
    }
    if (type === "x" || type === "g") continue; // pax headers: ignored
    name = safePath(name, file);
    if (type === "5") out.push({ path: name, data: new Uint8Array(0), directory: true });
    else if (type === "0" || type === "7") out.push({ path: name, data, directory: false });
  }
  return out;
}

/** Write decoded entries below `dest` (creating folders). Returns the written file paths. */
export async function extractEntries(entries: ArchiveEntry[], dest: string): Promise<string[]> {
  const written: string[] = [];
  for (const e of entries) {
    const target = join(dest, e.path);
    if (e.directory) {
      await Deno.mkdir(target, { recursive: true });
      continue;
    }
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeFile(target, e.data);
    written.push(target);
  }
  return written;
}
