/**
 * The project's one ZIP implementation: CRC-32, a lazy random-access reader
 * ({@link ZipArchive}: central directory with zip64, stored / deflate entries,
 * sizes and CRC-32 verified on every read) and a writer ({@link writeZip}:
 * stored or deflated entries, optional payload alignment). The dataset
 * downloader (`unzip` in ./archive.ts) and the PyTorch checkpoint loader
 * (lib/models/pytorch.ts) both build on it.
 *
 * Errors are {@link DataFormatError}s naming the archive and the fault; a
 * caller can ask for its own error type (the checkpoint loader uses
 * `CheckpointError`).
 *
 * @example
 * const bytes = writeZip([{ name: "a.txt", data: new TextEncoder().encode("hi") }]);
 * const zip = new ZipArchive(bytes, "a.zip");
 * [...zip.entries.keys()]; // ["a.txt"]
 * await zip.read("a.txt"); // Uint8Array "hi"
 */
import { deflateRawSync } from "node:zlib";
import { DataFormatError } from "../errors.ts";
import { type DecompressLimits, formatBytes, inflate, resolveLimits } from "./decompress.ts";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3 polynomial, as used by zip, gzip and PNG) of `bytes`.
 *
 * @example
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An error class constructed as `new ErrorType(file, fault)` (e.g. {@link DataFormatError}). */
export type FileErrorType = new (file: string, fault: string) => Error;

/**
 * Inflate raw DEFLATE data (no zlib/gzip header) with the platform
 * `DecompressionStream("deflate-raw")`, within `limits` enforced while
 * streaming (see ./decompress.ts: output cap, expansion ratio, declared
 * size). Corrupt data throws `new errorType(file, "corrupt deflate data
 * (…)")`; a crossed limit throws naming the file and the limit.
 *
 * @example
 * const csv = await inflateRaw(compressed, "harth.zip: entry \"S006.csv\"");
 */
export function inflateRaw(
  data: Uint8Array,
  file = "<deflate>",
  errorType: FileErrorType = DataFormatError,
  limits: DecompressLimits = {},
): Promise<Uint8Array> {
  return inflate(data, "deflate-raw", file, limits, errorType);
}

/** True when the bytes start with a ZIP local-file (`PK\3\4`) or empty-archive (`PK\5\6`) signature. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** One entry of a zip archive, as listed by its central directory. */
export interface ZipEntry {
  /** Path inside the archive (`/`-separated; directories end with `/`). */
  name: string;
  /** Compression method: 0 = stored, 8 = deflate (others are refused on read). */
  method: number;
  /** General-purpose bit flags (bit 0 = encrypted). */
  flags: number;
  /** Compressed size (bytes). */
  compressedSize: number;
  /** Uncompressed size (bytes). */
  size: number;
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** Byte offset of the entry's local file header. */
  localHeaderOffset: number;
}

/** Options of {@link ZipArchive}. */
export interface ZipArchiveOptions {
  /**
   * Error type thrown for every fault, constructed as `new errorType(file,
   * fault)` (default {@link DataFormatError}).
   */
  errorType?: FileErrorType;
}

/**
 * A zip archive held in memory, read lazily: the constructor parses the
 * central directory (zip64 aware); {@link ZipArchive.read} extracts one entry
 * (stored entries come back as views of the input, not copies) and checks its
 * size and CRC-32.
 *
 * @example
 * const zip = new ZipArchive(await Deno.readFile("mtl_best.mdl"), "mtl_best.mdl");
 * const pkl = await zip.read("mtl_best/data.pkl");
 */
export class ZipArchive {
  /** Entries by name, in central-directory order. */
  readonly entries: Map<string, ZipEntry> = new Map();
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #file: string;
  readonly #errorType: FileErrorType;

  /** Parse the central directory of `bytes`; `file` names the archive in errors. */
  constructor(bytes: Uint8Array, file = "<zip>", options: ZipArchiveOptions = {}) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#file = file;
    this.#errorType = options.errorType ?? DataFormatError;
    this.#readDirectory();
  }

  #fail(fault: string): never {
    throw new this.#errorType(this.#file, fault);
  }

  #u16(o: number): number {
    if (o + 2 > this.#bytes.length) this.#fail(`truncated zip (reading offset ${o})`);
    return this.#view.getUint16(o, true);
  }
  #u32(o: number): number {
    if (o + 4 > this.#bytes.length) this.#fail(`truncated zip (reading offset ${o})`);
    return this.#view.getUint32(o, true);
  }
  #u64(o: number): number {
    if (o + 8 > this.#bytes.length) this.#fail(`truncated zip (reading offset ${o})`);
    const v = this.#view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.#fail(`zip64 value too large at offset ${o}`);
    return Number(v);
  }

  #readDirectory(): void {
    const b = this.#bytes;
    let eocd = -1;
    const stop = Math.max(0, b.length - 22 - 0xffff);
    for (let i = b.length - 22; i >= stop; i--) {
      if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x05 && b[i + 3] === 0x06) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      this.#fail("not a zip archive (no end-of-central-directory record; truncated download?)");
    }
    let count = this.#u16(eocd + 10);
    let cdSize = this.#u32(eocd + 12);
    let cdOffset = this.#u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.#u32(loc) !== 0x07064b50) this.#fail("zip64 locator missing");
      const z = this.#u64(loc + 8);
      if (this.#u32(z) !== 0x06064b50) this.#fail("zip64 end-of-central-directory record missing");
      count = this.#u64(z + 32);
      cdSize = this.#u64(z + 40);
      cdOffset = this.#u64(z + 48);
    }
    const dec = new TextDecoder();
    let o = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.#u32(o) !== 0x02014b50) {
        this.#fail(`corrupt central directory at entry ${i} (offset ${o})`);
      }
      const flags = this.#u16(o + 8);
      const method = this.#u16(o + 10);
      const crc = this.#u32(o + 16);
      let csize = this.#u32(o + 20);
      let size = this.#u32(o + 24);
      const nameLen = this.#u16(o + 28);
      const extraLen = this.#u16(o + 30);
      const commentLen = this.#u16(o + 32);
      let local = this.#u32(o + 42);
      if (o + 46 + nameLen > b.length) this.#fail(`truncated zip (entry ${i} name)`);
      const name = dec.decode(b.subarray(o + 46, o + 46 + nameLen));
      // zip64 extended information: present fields are those saturated above, in order.
      let e = o + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = this.#u16(e);
        const len = this.#u16(e + 2);
        if (id === 0x0001) {
          let f = e + 4;
          if (size === 0xffffffff) {
            size = this.#u64(f);
            f += 8;
          }
          if (csize === 0xffffffff) {
            csize = this.#u64(f);
            f += 8;
          }
          if (local === 0xffffffff) local = this.#u64(f);
        }
        e += 4 + len;
      }
      this.entries.set(name, {
        name,
        method,
        flags,
        compressedSize: csize,
        size,
        crc32: crc,
        localHeaderOffset: local,
      });
      o = eEnd + commentLen;
    }
  }

  /**
   * The uncompressed bytes of entry `name` (a view of the archive for stored
   * entries). Throws when the entry is absent, encrypted, uses another method
   * than stored/deflate, or its size or CRC-32 does not match. Deflated
   * entries are inflated within `limits` (./decompress.ts): a declared size
   * over `maxBytes` or `maxRatio` × the compressed size is refused before
   * inflating, and inflating stops at one byte past the declared size.
   */
  async read(name: string, limits: DecompressLimits = {}): Promise<Uint8Array> {
    const entry = this.entries.get(name);
    if (!entry) this.#fail(`zip entry "${name}" not found`);
    if (entry.flags & 1) this.#fail(`entry "${name}" is encrypted`);
    if (entry.method === 8) {
      const lim = resolveLimits(limits);
      if (entry.size > lim.maxBytes) {
        this.#fail(
          `entry "${name}" declares ${formatBytes(entry.size)}, over the ` +
            `${formatBytes(lim.maxBytes)} limit: refusing a possible decompression bomb ` +
            `(raise $HAR_DECOMPRESS_MAX_BYTES to allow)`,
        );
      }
      if (entry.size > lim.ratioFloorBytes && entry.size > lim.maxRatio * entry.compressedSize) {
        this.#fail(
          `entry "${name}" declares ${formatBytes(entry.size)} from ` +
            `${formatBytes(entry.compressedSize)} (more than ${lim.maxRatio}×): refusing a ` +
            `possible decompression bomb (raise $HAR_DECOMPRESS_MAX_RATIO to allow)`,
        );
      }
    }
    const o = entry.localHeaderOffset;
    if (this.#u32(o) !== 0x04034b50) {
      this.#fail(`entry "${name}": bad local header (truncated archive?)`);
    }
    const start = o + 30 + this.#u16(o + 26) + this.#u16(o + 28);
    const end = start + entry.compressedSize;
    if (end > this.#bytes.length) {
      this.#fail(`entry "${name}": truncated (${entry.compressedSize} bytes expected)`);
    }
    const raw = this.#bytes.subarray(start, end);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      data = await inflateRaw(raw, `${this.#file}: entry "${name}"`, this.#errorType, {
        ...limits,
        expectedBytes: entry.size,
      });
    } else {
      this.#fail(`entry "${name}": unsupported compression method ${entry.method}`);
    }
    if (data.length !== entry.size) {
      this.#fail(`entry "${name}": ${data.length} bytes, directory says ${entry.size}`);
    }
    if (crc32(data) !== entry.crc32) this.#fail(`entry "${name}": CRC-32 mismatch (corrupt file)`);
    return data;
  }
}

/** One file to write with {@link writeZip}. */
export interface ZipInput {
  /** Path inside the archive (`/`-separated; end it with `/` for a directory). */
  name: string;
  /** Content (empty for a directory). */
  data: Uint8Array;
}

/** Options of {@link writeZip}. */
export interface WriteZipOptions {
  /** Deflate non-empty entries (default false: every entry is stored). */
  deflate?: boolean;
  /**
   * Align each entry's payload to a multiple of this many bytes from the
   * start of the archive, with a padding extra field (id 0xfb50) in the
   * local header, as PyTorch does with 64 so storages can be memory-mapped
   * (default 1: no padding).
   */
  alignBytes?: number;
}

/**
 * A zip archive of `files`, stored or deflated. zip64 is not written, so
 * the archive must stay below 4 GiB and 65535 entries (a RangeError says so).
 *
 * @example
 * writeZip([{ name: "d/", data: new Uint8Array(0) }, { name: "d/a.csv", data }], { deflate: true });
 * writeZip(files, { alignBytes: 64 }); // PyTorch checkpoint layout
 */
export function writeZip(files: ZipInput[], options: WriteZipOptions = {}): Uint8Array {
  const align = options.alignBytes ?? 1;
  if (!Number.isInteger(align) || align < 1 || align > 0x8000) {
    throw new RangeError(`writeZip: alignBytes must be an integer in 1..32768, got ${align}`);
  }
  if (files.length > 0xfffe) {
    throw new RangeError(`writeZip: ${files.length} entries; zip64 (> 65534) is not supported`);
  }
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(f.name);
    const method = options.deflate && f.data.length > 0 ? 8 : 0;
    const payload = method === 8 ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const base = offset + 30 + name.length;
    const pad = (align - (base % align)) % align;
    // An extra field needs at least its 4-byte header: add one alignment step if too short.
    const extraLen = pad === 0 ? 0 : pad < 4 ? pad + Math.ceil((4 - pad) / align) * align : pad;
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    const crc = crc32(f.data);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, payload.length, true);
    lv.setUint32(22, f.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    if (extraLen) {
      // A private "padding" extra field (id 0xfb50, as PyTorch uses), content zeros.
      lv.setUint16(30 + name.length, 0xfb50, true);
      lv.setUint16(30 + name.length + 2, extraLen - 4, true);
    }
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, payload.length, true);
    cv.setUint32(24, f.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    central.push(cd);
    chunks.push(local, payload);
    offset += local.length + payload.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  if (offset + cdSize > 0xffffffff) {
    throw new RangeError(`writeZip: ${offset + cdSize} bytes; zip64 (> 4 GiB) is not supported`);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let o = 0;
  for (const c of [...chunks, ...central, eocd]) (out.set(c, o), (o += c.length));
  return out;
}
