/**
 * Bounded decompression: gzip and raw DEFLATE through the platform
 * `DecompressionStream`, with limits enforced *while streaming*, so a small
 * decompression bomb (1 MB of gzip that inflates to gigabytes) is stopped
 * after a few tens of megabytes instead of filling memory first.
 *
 * Three limits, each aborting with an error that names the file:
 * - `maxBytes`: total output (default {@link DEFAULT_MAX_BYTES}, 2 GiB, or
 *   `$HAR_DECOMPRESS_MAX_BYTES`);
 * - `maxRatio`: output / compressed input, checked once the output passes
 *   `ratioFloorBytes` (default {@link DEFAULT_MAX_RATIO} = 200 or
 *   `$HAR_DECOMPRESS_MAX_RATIO`; real sensor text and binary data expand 2-10×,
 *   a bomb of zeros 1000×; small, very repetitive files below the 64 MiB
 *   floor are never refused);
 * - `expectedBytes`: the exact size a container declared (zip entries): one
 *   byte more and the stream is aborted (a lying header).
 *
 * @example
 * const bytes = await inflate(gz, "gzip", "data_1600.txt.gz");
 * await inflate(raw, "deflate-raw", 'a.zip: entry "b.csv"', { expectedBytes: 1234 });
 */
import { DataFormatError } from "../errors.ts";
import type { FileErrorType } from "./zip.ts";

/** Limits of {@link inflate} (every field optional; defaults in the module doc). */
export interface DecompressLimits {
  /** Abort once the output exceeds this many bytes. */
  maxBytes?: number;
  /** Abort once the output exceeds `maxRatio` × the compressed size (past `ratioFloorBytes`). */
  maxRatio?: number;
  /** Output size below which the ratio is not checked (default 64 MiB). */
  ratioFloorBytes?: number;
  /** Exact output size declared by the container; more is an error at once, less after the end. */
  expectedBytes?: number;
}

/** Default output cap of one decompression (2 GiB; `$HAR_DECOMPRESS_MAX_BYTES` overrides). */
export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
/** Default cap of the uncompressed total of one dataset download (20 GiB). */
export const DEFAULT_DOWNLOAD_MAX_BYTES = 20 * 1024 ** 3;
/** Default expansion cap (`$HAR_DECOMPRESS_MAX_RATIO` overrides). */
export const DEFAULT_MAX_RATIO = 200;
/** Compressed bytes fed to the decompressor at a time. */
const FEED_BYTES = 16 * 1024;

/** Default size below which the expansion ratio is not checked. */
export const DEFAULT_RATIO_FLOOR_BYTES = 64 * 1024 ** 2;

function envNumber(name: string): number | undefined {
  let v: string | undefined;
  try {
    v = Deno.env.get(name);
  } catch {
    return undefined; // no env permission: defaults
  }
  if (v === undefined || v.trim() === "") return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) {
    throw new DataFormatError(`$${name}`, `expected a positive number, got "${v}"`);
  }
  return x;
}

/**
 * The effective limits: `limits` fields, else the environment
 * (`HAR_DECOMPRESS_MAX_BYTES`, `HAR_DECOMPRESS_MAX_RATIO`), else the defaults.
 *
 * @example
 * resolveLimits({}).maxRatio; // 200
 */
export function resolveLimits(limits: DecompressLimits = {}):
  & Required<
    Omit<DecompressLimits, "expectedBytes">
  >
  & { expectedBytes?: number } {
  return {
    maxBytes: limits.maxBytes ?? envNumber("HAR_DECOMPRESS_MAX_BYTES") ?? DEFAULT_MAX_BYTES,
    maxRatio: limits.maxRatio ?? envNumber("HAR_DECOMPRESS_MAX_RATIO") ?? DEFAULT_MAX_RATIO,
    ratioFloorBytes: limits.ratioFloorBytes ?? DEFAULT_RATIO_FLOOR_BYTES,
    expectedBytes: limits.expectedBytes,
  };
}

/** `12.3 MiB`-style size for messages. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) (n /= 1024, u++);
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

/**
 * Decompress `data` (`"gzip"` or `"deflate-raw"`) within `limits`.
 * Corrupt data throws `new errorType(file, "corrupt … data (…)")`; a limit
 * throws `new errorType(file, "… a possible decompression bomb …")` as soon
 * as it is crossed (the stream is cancelled; memory stays near the limit).
 *
 * @param file names the file (and entry) in errors
 */
export async function inflate(
  data: Uint8Array,
  format: "gzip" | "deflate-raw",
  file: string,
  limits: DecompressLimits = {},
  errorType: FileErrorType = DataFormatError,
): Promise<Uint8Array> {
  const lim = resolveLimits(limits);
  const ratioCap = Math.max(lim.ratioFloorBytes, lim.maxRatio * data.length);
  // Fed in small pieces: one input chunk inflates to at most ~1032× its size, so a
  // limit is noticed within ~16 MiB of being crossed (a 64 KiB piece of zeros would
  // already give 64 MiB at once).
  const ds = new DecompressionStream(format);
  const writer = ds.writable.getWriter();
  const feeding = (async () => {
    for (let o = 0; o < data.length; o += FEED_BYTES) {
      await writer.write(data.subarray(o, Math.min(data.length, o + FEED_BYTES)) as BufferSource);
    }
    await writer.close();
  })();
  feeding.catch(() => {}); // a fault surfaces through the reader
  const reader = ds.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      const kind = format === "gzip" ? "corrupt or truncated gzip" : "corrupt deflate";
      throw new errorType(file, `${kind} data (${(e as Error).message})`);
    }
    if (r.done) break;
    total += r.value.length;
    let fault: string | null = null;
    if (lim.expectedBytes !== undefined && total > lim.expectedBytes) {
      fault = `inflates past its declared ${lim.expectedBytes} bytes (corrupt, or a ` +
        `decompression bomb); stopped`;
    } else if (total > lim.maxBytes) {
      fault = `inflates to more than ${formatBytes(lim.maxBytes)}: refusing a possible ` +
        `decompression bomb (raise $HAR_DECOMPRESS_MAX_BYTES to allow)`;
    } else if (total > ratioCap) {
      fault = `inflates more than ${lim.maxRatio}× (past ${formatBytes(total)} from ` +
        `${formatBytes(data.length)}): refusing a possible decompression bomb ` +
        `(raise $HAR_DECOMPRESS_MAX_RATIO to allow)`;
    }
    if (fault) {
      await reader.cancel().catch(() => {});
      throw new errorType(file, fault);
    }
    chunks.push(r.value);
  }
  const only = chunks[0];
  if (chunks.length === 1 && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
    return only; // a whole buffer of its own: callers may use `.buffer` directly
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) (out.set(c, o), (o += c.length));
  return out;
}
