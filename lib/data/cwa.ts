/**
 * Axivity AX3/AX6 `.cwa` binary files (also `.cwa.gz`), decoded from the
 * public format description (openmovement `Docs/ax3/cwa.h`):
 *
 * - a 1024-byte header block `"MD"` (device id, session id, sample-rate code);
 * - then 512-byte data blocks `"AX"`, each with a 16-bit word checksum (the
 *   word sum of the whole block is 0 mod 2^16), a sample-rate code
 *   (`rateHz = 3200 / 2^(15 - (code & 15))`, `range ±g = 16 >> (code >> 6)`),
 *   a packed date-time of the sample at index `timestampOffset` (plus a
 *   15-bit fraction of a second when the top bit of `deviceFractional` is
 *   set), and 120 packed samples (3 × 10-bit signed + 2-bit exponent, units
 *   1/256 g) or 80 16-bit samples (units 1/2^(8+n) g, n from `lightScale`).
 *
 * Per-sample times are interpolated between successive block start times
 * (nominal 1/rate spacing across gaps); `startMs` is the first sample's Unix
 * time (the device clock, read as UTC) and `timestampsMs` are relative to it.
 *
 * @example
 * const rec = await readCwa("datasets/axivity-cwa-sample/tiny-sample.cwa.gz");
 * rec.rateHz; // 100
 * rec.meta!.rangeG; // 8
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { readBytes } from "./text.ts";
import type { Recording } from "./types.ts";

/** Options for {@link readCwa}. */
export interface ReadCwaOptions {
  /** Throw on the first block with a bad checksum / unknown packing instead of skipping it. Default false. */
  strict?: boolean;
  /** Subject id for the recording. Default: the file name without extension. */
  subject?: string;
  /** Body placement, when known (the format does not record it). Default `"unknown"`. */
  placement?: string;
  /** Dataset name for the recording. Default `"axivity"`. */
  dataset?: string;
}

/** Decoded `.cwa` header block fields. */
export interface CwaHeader {
  /** Hardware: `"AX3"` or `"AX6"`. */
  device: string;
  /** Device serial number. */
  deviceId: number;
  /** Session identifier set when the device was configured. */
  sessionId: number;
  /** Configured sample rate (Hz). */
  rateHz: number;
  /** Configured range (± g). */
  rangeG: number;
  /** Firmware revision. */
  firmware: number;
  /** Header length (bytes), normally 1024. */
  headerBytes: number;
}

const BLOCK = 512;

/** Sample rate (Hz) from a CWA rate code. */
export function cwaRateHz(code: number): number {
  return 3200 / (1 << (15 - (code & 0x0f)));
}

/** Range (± g) from a CWA rate code. */
export function cwaRangeG(code: number): number {
  return 16 >> (code >> 6);
}

/** Unix time (s) of a CWA packed date-time `YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`. */
export function cwaPackedTime(v: number): number {
  const year = ((v >>> 26) & 0x3f) + 2000;
  const month = (v >>> 22) & 0x0f;
  const day = (v >>> 17) & 0x1f;
  const hours = (v >>> 12) & 0x1f;
  const minutes = (v >>> 6) & 0x3f;
  const seconds = v & 0x3f;
  return Date.UTC(year, month - 1, day, hours, minutes, seconds) / 1000;
}

/**
 * Why a checksum-valid data block's header fields are impossible, or null:
 * a rate code below 6.25 Hz (AX3/AX6 sample at 6.25-3200 Hz; lower codes
 * would give sub-Hz rates and degenerate windows) or a packed time with
 * month, day, hour, minute or second out of range.
 */
export function blockFieldFault(rateCode: number, packedTime: number): string | null {
  if ((rateCode & 0x0f) < 6) {
    return `rate code 0x${rateCode.toString(16)} gives ${
      cwaRateHz(rateCode)
    } Hz (AX3/AX6: 6.25-3200 Hz)`;
  }
  const month = (packedTime >>> 22) & 0x0f, day = (packedTime >>> 17) & 0x1f;
  const hours = (packedTime >>> 12) & 0x1f, minutes = (packedTime >>> 6) & 0x3f;
  const seconds = packedTime & 0x3f;
  if (month < 1 || month > 12 || day < 1 || hours > 23 || minutes > 59 || seconds > 59) {
    return `impossible packed time 0x${
      (packedTime >>> 0).toString(16)
    } (month ${month}, day ${day}, ${hours}:${minutes}:${seconds})`;
  }
  return null;
}

/** Parse the `"MD"` header block. */
export function parseCwaHeader(bytes: Uint8Array, file = "<buffer>"): CwaHeader {
  const name = basename(file);
  if (bytes.length < 2 || bytes[0] !== 0x4d || bytes[1] !== 0x44) {
    throw new DataFormatError(name, 'not a CWA file (no "MD" header block)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64) throw new DataFormatError(name, "truncated header block");
  const headerBytes = dv.getUint16(2, true) + 4;
  if (bytes.length < headerBytes) {
    throw new DataFormatError(
      name,
      `truncated header block: ${bytes.length} of ${headerBytes} bytes`,
    );
  }
  const hw = bytes[4];
  const upper = dv.getUint16(11, true);
  const rate = bytes[36];
  return {
    device: hw === 0x64 ? "AX6" : "AX3",
    deviceId: dv.getUint16(5, true) + (upper === 0xffff ? 0 : upper * 65536),
    sessionId: dv.getUint32(7, true),
    rateHz: cwaRateHz(rate),
    rangeG: cwaRangeG(rate),
    firmware: bytes[41],
    headerBytes,
  };
}

/**
 * Read a whole `.cwa` / `.cwa.gz` file: every data block is decoded and its
 * checksum verified. Blocks with a bad checksum, an unsupported packing or
 * impossible header fields ({@link blockFieldFault}) are skipped and counted in
 * `meta.badChecksumBlocks` with a `meta.warning` (or throw with
 * `opts.strict`). A file whose size is not header + k × 512 bytes is
 * truncated: `DataFormatError: <file>: truncated: data block <i> has <m> of 512 bytes`.
 */
export async function readCwa(path: string, opts: ReadCwaOptions = {}): Promise<Recording> {
  const name = basename(path);
  const bytes = await readBytes(path);
  const header = parseCwaHeader(bytes, path);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = bytes.length - header.headerBytes;
  const nBlocks = Math.floor(body / BLOCK);
  if (body % BLOCK !== 0) {
    throw new DataFormatError(
      name,
      `truncated: data block ${nBlocks} (at byte ${header.headerBytes + nBlocks * BLOCK}) has ${
        body % BLOCK
      } of ${BLOCK} bytes`,
    );
  }

  // pass 1: validate blocks, collect their start times and sample counts
  const valid: number[] = [];
  const starts: number[] = [];
  const counts: number[] = [];
  let bad = 0, other = 0, rateChanges = 0, total = 0;
  let rateHz = NaN, rangeG = NaN, ref = NaN;
  for (let b = 0; b < nBlocks; b++) {
    const o = header.headerBytes + b * BLOCK;
    if (bytes[o] !== 0x41 || bytes[o + 1] !== 0x58) {
      other++; // unused sector (erased flash) or another packet type
      continue;
    }
    let sum = 0;
    for (let k = 0; k < BLOCK; k += 2) sum += bytes[o + k] | (bytes[o + k + 1] << 8);
    if ((sum & 0xffff) !== 0) {
      if (opts.strict) throw new DataFormatError(name, `data block ${b}: checksum mismatch`);
      bad++;
      continue;
    }
    const code = bytes[o + 24];
    const freq = cwaRateHz(code);
    const stamp = dv.getUint32(o + 14, true);
    const fault = blockFieldFault(code, stamp);
    if (fault) {
      if (opts.strict) throw new DataFormatError(name, `data block ${b}: ${fault}`);
      bad++;
      continue;
    }
    const axesBps = bytes[o + 25];
    const nAxes = axesBps >> 4, bps = axesBps & 0x0f;
    const count = dv.getUint16(o + 28, true);
    const bytesPer = bps === 0 ? 4 : bps * nAxes;
    if (
      (bps !== 0 && bps !== 2) || (bps === 0 && nAxes !== 3) || (nAxes !== 3 && nAxes !== 6 &&
        nAxes !== 9) ||
      count * bytesPer > 480
    ) {
      if (opts.strict) {
        throw new DataFormatError(
          name,
          `data block ${b}: unsupported packing 0x${axesBps.toString(16)} / ${count} samples`,
        );
      }
      bad++;
      continue;
    }
    if (Number.isNaN(rateHz)) {
      rateHz = freq;
      rangeG = cwaRangeG(code);
    } else if (freq !== rateHz) rateChanges++;
    let offset = dv.getInt16(o + 26, true);
    const df = dv.getUint16(o + 4, true);
    let frac = 0;
    if (df & 0x8000) {
      frac = (df & 0x7fff) << 1; // 1/65536 s
      offset += Math.floor((frac * Math.trunc(freq)) / 65536);
    }
    // seconds relative to the first block's whole-second time (keeps sub-µs precision)
    const whole = cwaPackedTime(stamp);
    if (Number.isNaN(ref)) ref = whole;
    valid.push(b);
    starts.push((whole - ref) + frac / 65536 - offset / freq);
    counts.push(count);
    total += count;
  }
  if (valid.length === 0) throw new DataFormatError(name, "no valid data blocks");

  // pass 2: samples and per-sample times
  const ax = new Float32Array(total), ay = new Float32Array(total), az = new Float32Array(total);
  const times = new Float64Array(total);
  const t0 = starts[0];
  let n = 0;
  for (let v = 0; v < valid.length; v++) {
    const o = header.headerBytes + valid[v] * BLOCK;
    const count = counts[v];
    const freq = cwaRateHz(bytes[o + 24]);
    const nominal = count / freq;
    let dt = 1 / freq;
    if (v + 1 < valid.length) {
      const span = starts[v + 1] - starts[v];
      if (span > 0.5 * nominal && span < 2 * nominal) dt = span / count;
    }
    const base = (starts[v] - t0) * 1000;
    for (let i = 0; i < count; i++) times[n + i] = base + i * dt * 1000;
    const axesBps = bytes[o + 25];
    const nAxes = axesBps >> 4, bps = axesBps & 0x0f;
    const d = o + 30;
    if (bps === 0) {
      for (let i = 0; i < count; i++) {
        const p = dv.getUint32(d + 4 * i, true);
        const e = p >>> 30;
        // sign-extend each 10-bit field, then apply the exponent; units 1/256 g
        const xr = ((p << 22) >> 22) << e;
        const yr = ((p << 12) >> 22) << e;
        const zr = ((p << 2) >> 22) << e;
        ax[n + i] = xr / 256;
        ay[n + i] = yr / 256;
        az[n + i] = zr / 256;
      }
    } else {
      const scaleExp = dv.getUint16(o + 18, true) >> 13;
      const scale = 1 / 2 ** (8 + scaleExp);
      const a0 = nAxes === 3 ? 0 : 3; // AX6: Gxyz then Axyz (then Mxyz)
      const stride = 2 * nAxes;
      for (let i = 0; i < count; i++) {
        const s = d + i * stride + 2 * a0;
        ax[n + i] = dv.getInt16(s, true) * scale;
        ay[n + i] = dv.getInt16(s + 2, true) * scale;
        az[n + i] = dv.getInt16(s + 4, true) * scale;
      }
    }
    n += count;
  }

  let spanSec = 0, spanSamples = 0, gaps = 0;
  for (let v = 0; v + 1 < valid.length; v++) {
    const span = starts[v + 1] - starts[v];
    const nominal = counts[v] / rateHz;
    if (span > 0.5 * nominal && span < 2 * nominal) {
      spanSec += span;
      spanSamples += counts[v];
    } else gaps++;
  }
  const meta: Record<string, string | number | boolean> = {
    deviceId: header.deviceId,
    sessionId: header.sessionId,
    rangeG,
    headerRateHz: header.rateHz,
    headerRangeG: header.rangeG,
    firmware: header.firmware,
    blocks: nBlocks,
    badChecksumBlocks: bad,
    otherBlocks: other,
    gaps,
    rateChanges,
    measuredRateHz: spanSec > 0 ? spanSamples / spanSec : rateHz,
  };
  if (bad > 0) {
    meta.warning =
      `${bad} data block(s) with a bad checksum, packing, rate code or time were skipped`;
  }
  return {
    dataset: opts.dataset ?? "axivity",
    subject: opts.subject ?? name.replace(/\.cwa(\.gz)?$/i, ""),
    placement: opts.placement ?? "unknown",
    device: header.device,
    rateHz,
    axes: [ax, ay, az],
    axisNames: ["x", "y", "z"],
    timestampsMs: times,
    startMs: (ref + t0) * 1000,
    source: path,
    meta,
  };
}
