/**
 * Atomic file writes, used by every layer that saves results, figures,
 * checkpoints or models: the data goes to a temporary file in the same
 * folder, is flushed to disk, then renamed over the target, so a run killed
 * mid-write leaves either the old file or the new one, never half of one.
 * Multi-file outputs (`har windows`, `har embed`, dataset downloads) use
 * {@link writeDirAtomic}: the whole folder is written beside the target and
 * swapped in, so it is whole or absent, never old and new files mixed.
 *
 * @example
 * await writeTextAtomic("results/baseline/summary.md", md);
 * await atomicWrite("results/run/ckpt.bin", bytes);
 * await writeDirAtomic("out/adl", (tmp) => windowsToNpy(w, tmp), { owns: ["X.npy"] });
 */
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "./errors.ts";

/**
 * Write `bytes` to `path` atomically (creates the folder; tmp file + fsync +
 * rename). `bytes` may be a list of parts written one after the other (e.g.
 * a header and a view of a large array, without concatenating them first).
 */
export async function atomicWrite(path: string, bytes: Uint8Array | Uint8Array[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) {
      let off = 0;
      while (off < part.length) off += await f.write(part.subarray(off));
    }
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  f.close();
  await Deno.rename(tmp, path);
}

/** Write UTF-8 `text` to `path` atomically (see {@link atomicWrite}). */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return atomicWrite(path, new TextEncoder().encode(text));
}

/** Options for {@link writeDirAtomic}. */
export interface WriteDirAtomicOptions {
  /**
   * The names (top level) this output consists of, optional ones included,
   * e.g. `["X.npy", "Y.npy", "pid.npy", "info.json"]`. An existing target
   * folder's entries with these names are replaced (or dropped when the new
   * output lacks them); its other regular files and symlinks are kept
   * (hard-linked, or copied, into the new folder before it is swapped in).
   * An existing target holding another sub-folder is refused with a
   * {@link ConfigError} (so a mistyped `--out .` never replaces a project).
   * Default: none listed — every existing entry is foreign.
   */
  owns?: readonly string[];
  /** Called after `fill` and fsync, just before the swap (tests use it as a kill point). */
  beforeSwap?: (tmp: string) => void | Promise<void>;
}

const STALE_RE = /^(.*)\.(tmp|old)-(\d+)-[0-9a-f]{8}$/;

/** True when process `pid` is known to be gone (Linux `/proc`; elsewhere: never known). */
function processGone(pid: number): boolean {
  if (pid === Deno.pid) return false;
  try {
    Deno.statSync("/proc/self");
  } catch {
    return false; // no /proc: cannot tell, keep the folder
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

/**
 * Remove the `<target>.tmp-<pid>-*` / `<target>.old-<pid>-*` siblings that
 * writers killed mid-way left behind (only those whose process is gone;
 * where that cannot be told, nothing is removed).
 */
export function removeStaleTemps(target: string): Promise<void> {
  return sweepStale(dirname(resolve(target)), basename(resolve(target)));
}

async function sweepStale(parent: string, name: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(parent)) {
      const m = STALE_RE.exec(e.name);
      if (m && m[1] === name && processGone(Number(m[3]))) {
        await Deno.remove(join(parent, e.name), { recursive: true }).catch(() => {});
      }
    }
  } catch { /* parent unreadable: nothing to sweep */ }
}

/** fsync every regular file directly in `dir`, then `dir` itself (best effort for folders). */
async function syncDir(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const f = await Deno.open(join(dir, e.name), { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  }
  await syncFolderEntry(dir);
}

/** fsync a folder's entry list (POSIX; silently skipped where folders cannot be opened). */
async function syncFolderEntry(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* not supported on this platform */ }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Carry an existing target's foreign entries (not in `owns`, not written by
 * `fill`) into the new folder `tmp`: hard links for files (a copy where the
 * filesystem has none), recreated symlinks. The old folder is not touched.
 */
async function carryForeign(target: string, tmp: string, owns: readonly string[]): Promise<void> {
  const foreign: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(target)) {
    if (owns.includes(e.name)) continue;
    if (await statOrNull(join(tmp, e.name))) continue; // the new output has its own
    foreign.push(e);
  }
  const dirs = foreign.filter((e) => e.isDirectory).map((e) => e.name);
  if (dirs.length) {
    throw new ConfigError(
      `${target}: exists and holds folder(s) ${dirs.slice(0, 5).join(", ")} that are not part ` +
        `of this output (${owns.join(", ") || "nothing"}); write into a new or empty folder`,
    );
  }
  for (const e of foreign) {
    const from = join(target, e.name), to = join(tmp, e.name);
    if (e.isSymlink) await Deno.symlink(await Deno.readLink(from), to);
    else {
      try {
        await Deno.link(from, to);
      } catch {
        await Deno.copyFile(from, to);
      }
    }
  }
}

/**
 * Replace folder `target` by the complete folder `src` (a sibling on the
 * same filesystem): rename the old target away, rename `src` in, remove the
 * old one. At every instant `target` is the old complete folder, absent (a
 * kill between the two renames leaves the old one as `<target>.old-…`), or
 * the new complete folder — never a mix.
 */
export async function replaceDir(src: string, target: string): Promise<void> {
  const old = `${target}.old-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  let moved = false;
  if (await statOrNull(target)) {
    await Deno.rename(target, old);
    moved = true;
  }
  try {
    await Deno.rename(src, target);
  } catch (e) {
    if (moved) await Deno.rename(old, target).catch(() => {});
    throw e;
  }
  await syncFolderEntry(dirname(resolve(target)));
  if (moved) await Deno.remove(old, { recursive: true });
}

/**
 * Write a multi-file output atomically: `fill(tmp)` writes the files into a
 * fresh sibling folder `<target>.tmp-<pid>-<random>`; they are fsynced and
 * the folder then replaces `target` ({@link replaceDir}). When `fill` (or
 * anything before the swap) throws, the temporary folder is removed and
 * `target` is left as it was. Temporary folders of killed writers (their
 * process gone) are swept on the next write to the same target.
 *
 * @returns what `fill` returns
 * @throws ConfigError when `target` exists but is not a folder, or holds
 *   sub-folders that are not part of the output (see {@link WriteDirAtomicOptions.owns})
 *
 * @example
 * await writeDirAtomic("out/adl", async (dir) => {
 *   await Deno.writeFile(join(dir, "X.npy"), x);
 *   await Deno.writeTextFile(join(dir, "info.json"), info);
 * }, { owns: ["X.npy", "info.json"] });
 */
export async function writeDirAtomic<T>(
  target: string,
  fill: (tmp: string) => Promise<T>,
  opts: WriteDirAtomicOptions = {},
): Promise<T> {
  const parent = dirname(resolve(target));
  const name = basename(resolve(target));
  const existing = await statOrNull(target);
  if (existing && !existing.isDirectory) {
    throw new ConfigError(`${target}: exists and is not a folder`);
  }
  await Deno.mkdir(parent, { recursive: true });
  await sweepStale(parent, name);
  const tmp = join(parent, `${name}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(tmp);
  try {
    const result = await fill(tmp);
    if (existing) await carryForeign(target, tmp, opts.owns ?? []);
    await syncDir(tmp);
    await opts.beforeSwap?.(tmp);
    await replaceDir(tmp, target);
    return result;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
