/**
 * NumPy `.npy` files (format versions 1.0-3.0), read and written without
 * Python: numeric dtypes (float32/64, int8/16/32/64, uint8/16/32/64, bool),
 * little- or big-endian, and fixed-width unicode strings `<U<n>` (class
 * names in `Y.npy`, subject ids in `pid.npy`). Object arrays (`|O`, i.e.
 * pickles) and structured dtypes are REFUSED: nothing here unpickles.
 *
 * Also the ssl-wearables `X.npy`/`Y.npy`/`pid.npy` triple ↔ {@link Windows}.
 *
 * @example
 * const { data, shape, dtype } = await readNpy("datasets/ssl-wearables-adl-reference/Y.npy");
 * // data: string[] (635), shape [635], dtype "<U14"
 * await writeNpy("x.npy", new Float32Array([1, 2, 3, 4]), [2, 2]);
 */
import { basename, join } from "node:path";
import { DataFormatError } from "../errors.ts";
import { atomicWrite, writeDirAtomic, type WriteDirAtomicOptions } from "../fs.ts";
import { readBytes } from "./text.ts";
import type { Windows } from "./types.ts";

/** The array types an `.npy` file decodes to (`string[]` for `<U..`; `Uint8Array` for bool). */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** A decoded `.npy` array. */
export interface NpyArray {
  /** Flat row-major (C order) values. */
  data: NpyData;
  /** Array shape (`[]` for a scalar). */
  shape: number[];
  /** NumPy dtype string as stored, e.g. `"<f4"`, `"|b1"`, `"<U14"`. */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface Kind {
  size: number;
  make: (buf: ArrayBuffer) => NpyData;
}
const KINDS: Record<string, Kind> = {
  f4: { size: 4, make: (b) => new Float32Array(b) },
  f8: { size: 8, make: (b) => new Float64Array(b) },
  i1: { size: 1, make: (b) => new Int8Array(b) },
  u1: { size: 1, make: (b) => new Uint8Array(b) },
  b1: { size: 1, make: (b) => new Uint8Array(b) },
  i2: { size: 2, make: (b) => new Int16Array(b) },
  u2: { size: 2, make: (b) => new Uint16Array(b) },
  i4: { size: 4, make: (b) => new Int32Array(b) },
  u4: { size: 4, make: (b) => new Uint32Array(b) },
  i8: { size: 8, make: (b) => new BigInt64Array(b) },
  u8: { size: 8, make: (b) => new BigUint64Array(b) },
};

/** Parse the Python-dict header of an `.npy` file. */
function parseHeader(
  h: string,
  name: string,
): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h);
  if (!descr) {
    if (/'descr'\s*:\s*\[/.test(h)) {
      throw new DataFormatError(name, "structured (record) dtypes are not supported");
    }
    throw new DataFormatError(name, `malformed .npy header (no 'descr'): ${h.slice(0, 80)}`);
  }
  const fortran = /'fortran_order'\s*:\s*True/.test(h);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(h);
  if (!shapeM) throw new DataFormatError(name, "malformed .npy header (no 'shape')");
  const shape = shapeM[1].split(",").map((s) => s.trim()).filter((s) => s.length).map((s) => {
    const v = Number(s.replace(/L$/, ""));
    if (!Number.isInteger(v) || v < 0) {
      throw new DataFormatError(name, `malformed .npy shape (${shapeM[1]})`);
    }
    return v;
  });
  return { descr: descr[1], fortran, shape };
}

/**
 * Decode `.npy` bytes.
 *
 * @throws DataFormatError for a bad magic, object/structured dtype,
 *   Fortran order, or truncated data (`header says N bytes, file has M`)
 */
export function decodeNpy(bytes: Uint8Array, file = "<buffer>"): NpyArray {
  const name = basename(file);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new DataFormatError(name, "not a .npy file (bad magic)");
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number, hstart: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataFormatError(name, "truncated .npy header");
    hlen = dv.getUint32(8, true);
    hstart = 12;
  } else throw new DataFormatError(name, `unsupported .npy version ${major}.${bytes[7]}`);
  if (bytes.length < hstart + hlen) {
    throw new DataFormatError(
      name,
      `truncated: header says ${hlen} header bytes, file has ${bytes.length - hstart}`,
    );
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(hstart, hstart + hlen),
  );
  const { descr, fortran, shape } = parseHeader(header, name);
  if (descr.includes("O")) {
    throw new DataFormatError(
      name,
      `object arrays (dtype '${descr}') are refused: they need pickle; save strings as '<U' instead`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = hstart + hlen;
  const have = bytes.length - dataStart;
  const order = descr[0];
  const code = descr.slice(1);
  let itemSize: number;
  const unicode = /^U(\d+)$/.exec(code);
  if (unicode) itemSize = 4 * Number(unicode[1]);
  else if (KINDS[code]) itemSize = KINDS[code].size;
  else throw new DataFormatError(name, `unsupported dtype '${descr}'`);
  const need = count * itemSize;
  if (have < need) {
    throw new DataFormatError(
      name,
      `truncated: header says ${need} bytes of data, file has ${have}`,
    );
  }
  if (fortran && shape.length > 1) {
    throw new DataFormatError(name, "fortran_order arrays are not supported (save C-ordered)");
  }
  const raw = bytes.slice(dataStart, dataStart + need); // aligned copy
  const bigEndian = order === ">";
  if (unicode) {
    const width = Number(unicode[1]);
    const rdv = new DataView(raw.buffer);
    const out: string[] = new Array(count);
    for (let i = 0; i < count; i++) {
      let s = "";
      for (let k = 0; k < width; k++) {
        const cp = rdv.getUint32((i * width + k) * 4, !bigEndian);
        if (cp === 0) break;
        s += String.fromCodePoint(cp);
      }
      out[i] = s;
    }
    return { data: out, shape, dtype: descr };
  }
  if (bigEndian && itemSize > 1) {
    for (let i = 0; i < need; i += itemSize) raw.subarray(i, i + itemSize).reverse();
  }
  return { data: KINDS[code].make(raw.buffer), shape, dtype: descr };
}

/** Read an `.npy` (or `.npy.gz`) file. See {@link decodeNpy}. */
export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readBytes(path), path);
}

/** Options for {@link encodeNpy} / {@link writeNpy}. */
export interface WriteNpyOptions {
  /** Force a dtype; needed for bool (`"|b1"` from a `Uint8Array`). Default inferred from the array type. */
  dtype?: string;
}

function inferDtype(data: NpyData): string {
  if (Array.isArray(data)) {
    // a loop, not Math.max(...lengths): spreading > ~120 k labels overflows the call stack
    let w = 1;
    for (const s of data) {
      let n = 0;
      for (const _ of s) n++; // code points, not UTF-16 units
      if (n > w) w = n;
    }
    return `<U${w}`;
  }
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Int8Array) return "|i1";
  if (data instanceof Uint8Array) return "|u1";
  if (data instanceof Int16Array) return "<i2";
  if (data instanceof Uint16Array) return "<u2";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint32Array) return "<u4";
  if (data instanceof BigInt64Array) return "<i8";
  if (data instanceof BigUint64Array) return "<u8";
  throw new TypeError("writeNpy: unsupported array type");
}

/** Encode an array as `.npy` bytes (format 1.0, or 2.0 for huge headers; header padded to 64 bytes). */
export function encodeNpy(data: NpyData, shape: number[], opts: WriteNpyOptions = {}): Uint8Array {
  const [head, body] = encodeNpyParts(data, shape, opts);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** `.npy` as [magic + header, data] (the data part is a view of numeric input, not a copy). */
function encodeNpyParts(
  data: NpyData,
  shape: number[],
  opts: WriteNpyOptions,
): [Uint8Array, Uint8Array] {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new TypeError(
      `writeNpy: shape [${shape}] has ${count} elements but data has ${data.length}`,
    );
  }
  const dtype = opts.dtype ?? inferDtype(data);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let pre = 10;
  let total = pre + dict.length + 1;
  if (total + (64 - total % 64) % 64 - pre > 65535) pre = 12;
  total = pre + dict.length + 1;
  dict += " ".repeat((64 - total % 64) % 64) + "\n";
  const head = new TextEncoder().encode(dict);
  let body: Uint8Array;
  const u = /^[<>|]?U(\d+)$/.exec(dtype);
  if (u) {
    if (!Array.isArray(data)) throw new TypeError(`writeNpy: dtype ${dtype} needs a string[]`);
    const width = Number(u[1]);
    body = new Uint8Array(count * width * 4);
    const bdv = new DataView(body.buffer);
    data.forEach((s, i) => {
      const cps = [...s];
      if (cps.length > width) throw new TypeError(`writeNpy: "${s}" longer than ${dtype}`);
      cps.forEach((c, k) => bdv.setUint32((i * width + k) * 4, c.codePointAt(0)!, true));
    });
  } else {
    if (Array.isArray(data)) throw new TypeError(`writeNpy: dtype ${dtype} needs a typed array`);
    body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = new Uint8Array(pre + head.length);
  out.set(MAGIC, 0);
  out[6] = pre === 10 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (pre === 10) dv.setUint16(8, head.length, true);
  else dv.setUint32(8, head.length, true);
  out.set(head, pre);
  return [out, body];
}

/**
 * Write an `.npy` file (C order) atomically (temporary file, fsync, rename:
 * a killed run leaves the old file or the new one). The dtype is inferred
 * from the array type (`string[]` → `<U<maxlen>`); pass `{dtype: "|b1"}` for
 * booleans.
 */
export async function writeNpy(
  path: string,
  data: NpyData,
  shape: number[],
  opts: WriteNpyOptions = {},
): Promise<void> {
  await atomicWrite(path, encodeNpyParts(data, shape, opts)); // no copy of a large body
}

/** Convert any numeric `.npy` data to a plain number array (BigInt → Number, strings refused). */
export function npyToNumbers(data: NpyData): Float64Array {
  if (Array.isArray(data)) throw new TypeError("npyToNumbers: string data");
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

function toStrings(a: NpyArray): string[] {
  if (Array.isArray(a.data)) return a.data;
  return Array.from(npyToNumbers(a.data), (v) => String(v));
}

/** Options for {@link readSslWearablesNpy}. */
export interface ReadSslNpyOptions {
  /** Sample rate of the windows (Hz). Default 30 (ssl-wearables). */
  rateHz?: number;
}

/**
 * Read an ssl-wearables-style folder: `Y.npy` (labels: strings or ints),
 * `pid.npy` (subject per window) and, when present, `X.npy` (windows,
 * `[n, length, channels]` as ssl-wearables saves them, or `[n, channels,
 * length]`; detected by which of the last two axes is ≤ 9 and smaller).
 * Without `X.npy` the result has `x` empty and `channels = length = 0`
 * (labels/pids only). `classes` are the sorted distinct labels.
 */
export async function readSslWearablesNpy(
  dir: string,
  opts: ReadSslNpyOptions = {},
): Promise<Windows> {
  const Y = await readNpy(join(dir, "Y.npy"));
  const P = await readNpy(join(dir, "pid.npy"));
  const n = Y.shape[0] ?? 0;
  if (P.shape[0] !== n) {
    throw new DataFormatError(join(dir, "pid.npy"), `${P.shape[0]} entries but Y.npy has ${n}`);
  }
  const labels = toStrings(Y);
  const numeric = !Array.isArray(Y.data);
  const classes = [...new Set(labels)].sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = Int32Array.from(labels, (l) => index.get(l)!);
  const subject = toStrings(P);
  let x: Float32Array = new Float32Array(0), channels = 0, length = 0;
  let xExists = true;
  try {
    await Deno.stat(join(dir, "X.npy"));
  } catch {
    xExists = false;
  }
  if (xExists) {
    const X = await readNpy(join(dir, "X.npy"));
    if (X.shape.length !== 3 || X.shape[0] !== n) {
      throw new DataFormatError(
        join(dir, "X.npy"),
        `shape [${X.shape}] is not [${n}, length, channels]`,
      );
    }
    if (Array.isArray(X.data)) throw new DataFormatError(join(dir, "X.npy"), "string data");
    const [, a, b] = X.shape;
    const src = X.data instanceof Float32Array ? X.data : Float32Array.from(npyToNumbers(X.data));
    if (b <= 9 && b < a) {
      // [n, length, channels] → [n, channels, length]
      channels = b;
      length = a;
      x = new Float32Array(n * a * b);
      for (let w = 0; w < n; w++) {
        const o = w * a * b;
        for (let t = 0; t < a; t++) {
          for (let c = 0; c < b; c++) x[o + c * a + t] = src[o + t * b + c];
        }
      }
    } else {
      channels = a;
      length = b;
      x = src;
    }
  }
  return { x, n, channels, length, y, classes, subject, rateHz: opts.rateHz ?? 30 };
}

/** Options for {@link windowsToNpy}. */
export interface WindowsToNpyOptions {
  /** Layout of `X.npy`: `"nlc"` = `[n, length, channels]` (ssl-wearables, default) or `"ncl"`. */
  layout?: "nlc" | "ncl";
  /**
   * More files of the same output (name → UTF-8 text or bytes), e.g.
   * `{"info.json": json}`: written into the same folder, swapped in together.
   */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Passed to {@link writeDirAtomic} (tests use it as a kill point). */
  beforeSwap?: WriteDirAtomicOptions["beforeSwap"];
}

/** The names a {@link windowsToNpy} output consists of (replaced as a whole on re-runs). */
export const WINDOWS_NPY_FILES: readonly string[] = ["X.npy", "Y.npy", "pid.npy", "info.json"];

/**
 * Write {@link Windows} as the ssl-wearables triple in `dir`: `X.npy`
 * (float32; skipped when `x` is empty), `Y.npy` (class names as `<U..`,
 * `""` for unlabelled windows) and `pid.npy` (subjects as `<U..`), plus
 * `opts.extraFiles`. The folder is written whole or not at all
 * ({@link writeDirAtomic}): a run that fails or is killed leaves `dir` as it
 * was, and a re-run replaces every file of the old output (a stale `X.npy`
 * never sits beside new labels); other files in `dir` are kept.
 *
 * @example
 * await windowsToNpy(w, "out/adl", { extraFiles: { "info.json": JSON.stringify(info) } });
 */
export async function windowsToNpy(
  windows: Windows,
  dir: string,
  opts: WindowsToNpyOptions = {},
): Promise<void> {
  const owns = [...WINDOWS_NPY_FILES, ...Object.keys(opts.extraFiles ?? {})];
  await writeDirAtomic(dir, (tmp) => writeWindowsFiles(windows, tmp, opts), {
    owns,
    beforeSwap: opts.beforeSwap,
  });
}

async function writeWindowsFiles(
  windows: Windows,
  dir: string,
  opts: WindowsToNpyOptions,
): Promise<void> {
  const { n, channels: C, length: L } = windows;
  if (windows.x.length > 0) {
    if (opts.layout === "ncl") await writeNpy(join(dir, "X.npy"), windows.x, [n, C, L]);
    else {
      const out = new Float32Array(n * C * L);
      for (let w = 0; w < n; w++) {
        const o = w * C * L;
        for (let c = 0; c < C; c++) {
          for (let t = 0; t < L; t++) out[o + t * C + c] = windows.x[o + c * L + t];
        }
      }
      await writeNpy(join(dir, "X.npy"), out, [n, L, C]);
    }
  }
  const Y = Array.from(windows.y, (k) => (k >= 0 ? windows.classes[k] : ""));
  await writeNpy(join(dir, "Y.npy"), Y, [n]);
  await writeNpy(join(dir, "pid.npy"), windows.subject.slice(0, n), [n]);
  for (const [name, content] of Object.entries(opts.extraFiles ?? {})) {
    if (name.includes("/") || name.includes("\\") || name === "." || name === "..") {
      throw new TypeError(`windowsToNpy: extra file name "${name}" must be a plain file name`);
    }
    await Deno.writeFile(
      join(dir, name),
      typeof content === "string" ? new TextEncoder().encode(content) : content,
    );
  }
}
