/**
 * Atomic checkpoint files: a JSON header (step, epoch, RNG state, history,
 * optimiser configuration, …) plus named float32 tensors (weights,
 * optimiser moments, best weights) in one binary file, written to a
 * temporary file, fsynced and renamed over the target, so a process killed
 * at any moment leaves either the previous or the new checkpoint, never a
 * torn one.
 *
 * File layout: `HARCKPT1` (8 bytes) · header length (uint32 LE) · UTF-8 JSON
 * header · zero padding to 4 bytes · float32 LE tensor data (offsets in the
 * header, in elements from the data start).
 *
 * @example
 * await writeCheckpoint("run/ckpt.bin", { meta: { step: 10 }, tensors: { w0: { shape: [2], data } } });
 * const ck = await readCheckpoint("run/ckpt.bin"); // null when absent
 */
import { atomicWrite } from "../fs.ts";
import { CheckpointError } from "../errors.ts";

/** One stored tensor. */
export interface StoredTensor {
  /** Shape. */
  shape: number[];
  /** Values, row-major float32. */
  data: Float32Array;
}

/** What a checkpoint holds. */
export interface CheckpointData {
  /** JSON-serialisable metadata. */
  meta: Record<string, unknown>;
  /** Named float32 tensors. */
  tensors: Record<string, StoredTensor>;
}

const MAGIC = "HARCKPT1";

/** Serialise a checkpoint to bytes. */
export function encodeCheckpoint(data: CheckpointData): Uint8Array {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let total = 0;
  for (const [name, t] of Object.entries(data.tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new CheckpointError(
        name,
        `shape [${t.shape}] has ${n} elements, data ${t.data.length}`,
      );
    }
    entries.push({ name, shape: t.shape, offset: total, length: n });
    total += n;
  }
  const header = new TextEncoder().encode(JSON.stringify({ meta: data.meta, tensors: entries }));
  const headStart = 12;
  const dataStart = Math.ceil((headStart + header.length) / 4) * 4;
  const out = new Uint8Array(dataStart + total * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, headStart);
  const f32 = new Float32Array(out.buffer, dataStart, total);
  for (const e of entries) f32.set(data.tensors[e.name].data, e.offset);
  return out;
}

/** Parse bytes from {@link encodeCheckpoint}; `file` names the source in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file = "<checkpoint>"): CheckpointData {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointError(file, `not a checkpoint (expected magic ${MAGIC})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = view.getUint32(8, true);
  if (12 + hl > bytes.length) throw new CheckpointError(file, "truncated header");
  let header: {
    meta: Record<string, unknown>;
    tensors: { name: string; shape: number[]; offset: number; length: number }[];
  };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hl)));
  } catch (e) {
    throw new CheckpointError(file, `bad JSON header: ${(e as Error).message}`);
  }
  const dataStart = Math.ceil((12 + hl) / 4) * 4;
  const total = (bytes.length - dataStart) / 4;
  const copy = bytes.slice(dataStart); // aligned copy
  const f32 = new Float32Array(copy.buffer, 0, Math.floor(total));
  const tensors: Record<string, StoredTensor> = {};
  for (const e of header.tensors) {
    if (e.offset + e.length > f32.length) {
      throw new CheckpointError(file, `tensor "${e.name}" runs past the end of the file`);
    }
    tensors[e.name] = { shape: e.shape, data: f32.slice(e.offset, e.offset + e.length) };
  }
  return { meta: header.meta, tensors };
}

/** Write a checkpoint atomically. */
export async function writeCheckpoint(path: string, data: CheckpointData): Promise<void> {
  await atomicWrite(path, encodeCheckpoint(data));
}

/** Read a checkpoint, or null if the file does not exist. */
export async function readCheckpoint(path: string): Promise<CheckpointData | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return decodeCheckpoint(bytes, path);
}

export { atomicWrite };
