/**
 * Archive readers for dataset downloads: ZIP (via the shared reader in
 * ./zip.ts: stored / deflate, zip64, CRC-32 verified) and tar (plain or
 * `.tar.gz`). Entries that would escape the destination folder (`..`,
 * absolute paths) are refused.
 *
 * @example
 * const files = await unzip(await Deno.readFile("harth.zip"));
 * await extractEntries(files, "datasets/harth");
 */
import { dirname, join, normalize } from "node:path";
import { DataFormatError } from "../errors.ts";
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
 * Decode every entry of a ZIP archive with {@link ZipArchive} (stored and
 * deflate entries, zip64, sizes and CRC-32 verified; encrypted entries and
 * paths escaping the destination are refused).
 */
export async function unzip(bytes: Uint8Array, file = "<zip>"): Promise<ArchiveEntry[]> {
  const zip = new ZipArchive(bytes, file);
  const names = [...zip.entries.keys()];
  const paths = names.map((name) => safePath(name, file)); // refuse before extracting anything
  const out: ArchiveEntry[] = [];
  for (const [i, name] of names.entries()) {
    const directory = name.endsWith("/");
    out.push({
      path: paths[i],
      data: directory ? new Uint8Array(0) : await zip.read(name),
      directory,
    });
  }
  return out;
}

/** Decode a tar archive (ustar / GNU long names; `.tar.gz` is gunzipped first). */
export async function untar(bytes: Uint8Array, file = "<tar>"): Promise<ArchiveEntry[]> {
  if (isGzip(bytes)) bytes = await gunzip(bytes, file);
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
