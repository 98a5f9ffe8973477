/**
 * Minimal archive readers for dataset downloads: ZIP (stored / deflate,
 * inflated with the platform `DecompressionStream("deflate-raw")`, CRC-32
 * verified) and tar (plain or `.tar.gz`). Entries that would escape the
 * destination folder (`..`, absolute paths) are refused.
 *
 * @example
 * const files = await unzip(await Deno.readFile("harth.zip"));
 * await extractEntries(files, "datasets/harth");
 */
import { dirname, join, normalize } from "node:path";
import { DataFormatError } from "../errors.ts";
import { gunzip, isGzip } from "./text.ts";

/** One archive member. */
export interface ArchiveEntry {
  /** Path inside the archive (`/`-separated). */
  path: string;
  /** File content (empty for directories). */
  data: Uint8Array;
  /** True for a directory entry. */
  directory: boolean;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as used by zip and gzip). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function inflateRaw(data: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    const s = new Blob([data as BlobPart]).stream().pipeThrough(
      new DecompressionStream("deflate-raw"),
    );
    return new Uint8Array(await new Response(s).arrayBuffer());
  } catch (e) {
    throw new DataFormatError(file, `corrupt deflate data (${(e as Error).message})`);
  }
}

/** True when the bytes start with a ZIP local-file or empty-archive signature. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    (bytes[2] === 3 || bytes[2] === 5);
}

function safePath(path: string, archive: string): string {
  const p = normalize(path.replace(/\\/g, "/")).replace(/^\.\/+/, "").replace(/\/+$/, "");
  if (p.startsWith("/") || p === ".." || p.startsWith("../") || /^[a-zA-Z]:/.test(p)) {
    throw new DataFormatError(archive, `refusing entry "${path}" outside the destination`);
  }
  return p;
}

/**
 * Decode every entry of a ZIP archive (methods 0 = stored and 8 = deflate;
 * ZIP64 and encryption are refused with a clear error).
 */
export async function unzip(bytes: Uint8Array, file = "<zip>"): Promise<ArchiveEntry[]> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new DataFormatError(
      file,
      "not a zip archive (no end-of-central-directory record; truncated download?)",
    );
  }
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  if (p === 0xffffffff || count === 0xffff) {
    throw new DataFormatError(file, "ZIP64 archives are not supported; unpack it by hand");
  }
  const out: ArchiveEntry[] = [];
  const dec = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) {
      throw new DataFormatError(file, `corrupt central directory at entry ${k}`);
    }
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    const csize = dv.getUint32(p + 20, true);
    const usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true);
    const elen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    const local = dv.getUint32(p + 42, true);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nlen));
    p += 46 + nlen + elen + clen;
    const path = safePath(name, file);
    if (name.endsWith("/")) {
      out.push({ path, data: new Uint8Array(0), directory: true });
      continue;
    }
    if (flags & 1) throw new DataFormatError(file, `entry "${name}" is encrypted`);
    if (local + 30 > bytes.length || dv.getUint32(local, true) !== 0x04034b50) {
      throw new DataFormatError(file, `entry "${name}": bad local header (truncated archive?)`);
    }
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + csize > bytes.length) {
      throw new DataFormatError(file, `entry "${name}": truncated (${csize} bytes expected)`);
    }
    const raw = bytes.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) data = raw.slice();
    else if (method === 8) data = await inflateRaw(raw, `${file}:${name}`);
    else {throw new DataFormatError(
        file,
        `entry "${name}": unsupported compression method ${method}`,
      );}
    if (data.length !== usize) {
      throw new DataFormatError(file, `entry "${name}": ${data.length} bytes, expected ${usize}`);
    }
    if (crc32(data) !== crc) throw new DataFormatError(file, `entry "${name}": CRC-32 mismatch`);
    out.push({ path, data, directory: false });
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
