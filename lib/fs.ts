/**
 * Atomic file writes, used by every layer that saves results, figures,
 * checkpoints or models: the data goes to a temporary file in the same
 * folder, is flushed to disk, then renamed over the target, so a run killed
 * mid-write leaves either the old file or the new one, never half of one.
 *
 * @example
 * await writeTextAtomic("results/baseline/summary.md", md);
 * await atomicWrite("results/run/ckpt.bin", bytes);
 */
import { dirname } from "node:path";

/** Write `bytes` to `path` atomically (creates the folder; tmp file + fsync + rename). */
export async function atomicWrite(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/** Write UTF-8 `text` to `path` atomically (see {@link atomicWrite}). */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return atomicWrite(path, new TextEncoder().encode(text));
}
