import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { ConfigError } from "../lib/errors.ts";
import { removeStaleTemps, writeDirAtomic } from "../lib/fs.ts";
import { readSslWearablesNpy, windowsToNpy } from "../lib/data/npy.ts";
import type { Windows } from "../lib/data/types.ts";
import { tempDir } from "./_helpers.ts";

const LIB = (p: string) => new URL(`../lib/${p}`, import.meta.url).href;

function windows(n: number, label: string): Windows {
  return {
    x: Float32Array.from({ length: n * 3 * 4 }, (_, i) => i),
    n,
    channels: 3,
    length: 4,
    y: new Int32Array(n),
    classes: [label],
    subject: Array.from({ length: n }, (_, i) => `s${i}`),
    rateHz: 30,
  };
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("writeDirAtomic: a failing fill leaves the old folder as it was and no temp folder", async () => {
  const t = await tempDir();
  try {
    const out = join(t.path, "out");
    await writeDirAtomic(out, async (d) => {
      await Deno.writeTextFile(join(d, "a.txt"), "old a");
      await Deno.writeTextFile(join(d, "b.txt"), "old b");
    }, { owns: ["a.txt", "b.txt"] });
    await assertRejects(
      () =>
        writeDirAtomic(out, async (d) => {
          await Deno.writeTextFile(join(d, "a.txt"), "new a"); // written, then the run fails
          throw new Error("disk full");
        }, { owns: ["a.txt", "b.txt"] }),
      Error,
      "disk full",
    );
    assertEquals(await Deno.readTextFile(join(out, "a.txt")), "old a");
    assertEquals(await Deno.readTextFile(join(out, "b.txt")), "old b");
    assertEquals(await names(t.path), ["out"]); // no out.tmp-… left behind
  } finally {
    await t.cleanup();
  }
});

Deno.test("writeDirAtomic: owned stale files are dropped, foreign files kept, foreign folders refused", async () => {
  const t = await tempDir();
  try {
    const out = join(t.path, "deep", "out"); // parents are created
    await writeDirAtomic(out, async (d) => {
      await Deno.writeTextFile(join(d, "X.npy"), "old X");
      await Deno.writeTextFile(join(d, "Y.npy"), "old Y");
    }, { owns: ["X.npy", "Y.npy"] });
    await Deno.writeTextFile(join(out, "notes.md"), "mine");
    // The new output has no X.npy: the old one must not survive beside the new labels.
    await writeDirAtomic(out, (d) => Deno.writeTextFile(join(d, "Y.npy"), "new Y"), {
      owns: ["X.npy", "Y.npy"],
    });
    assertEquals(await names(out), ["Y.npy", "notes.md"]);
    assertEquals(await Deno.readTextFile(join(out, "notes.md")), "mine");
    assertEquals(await Deno.readTextFile(join(out, "Y.npy")), "new Y");
    await Deno.mkdir(join(out, "sub"));
    await assertRejects(
      () =>
        writeDirAtomic(out, (d) => Deno.writeTextFile(join(d, "Y.npy"), "x"), { owns: ["Y.npy"] }),
      ConfigError,
      "holds folder(s) sub",
    );
    assertEquals(await Deno.readTextFile(join(out, "Y.npy")), "new Y");
    const file = join(t.path, "file");
    await Deno.writeTextFile(file, "");
    await assertRejects(() => writeDirAtomic(file, async () => {}), ConfigError, "not a folder");
  } finally {
    await t.cleanup();
  }
});

/** Run `code` in a child Deno; once it creates `ready`, SIGKILL it. */
async function killAtHook(code: string, ready: string): Promise<void> {
  const script = join(ready + ".child.ts");
  await Deno.writeTextFile(script, code);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", script],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const t0 = performance.now();
  for (;;) {
    try {
      await Deno.stat(ready);
      break;
    } catch { /* not yet */ }
    if (performance.now() - t0 > 60_000) {
      child.kill("SIGKILL");
      throw new Error(
        `child never reached the hook: ${new TextDecoder().decode((await child.output()).stderr)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assertEquals(status.signal, "SIGKILL");
  await child.stderr.cancel().catch(() => {});
  await Deno.remove(script);
}

Deno.test("a writer SIGKILLed mid-way leaves the old complete output, or nothing — never a mix", async () => {
  const t = await tempDir();
  try {
    const out = join(t.path, "out");
    await windowsToNpy(windows(3, "old"), out, { extraFiles: { "info.json": '{"run":"old"}' } });
    const hang = `await Deno.writeTextFile(${JSON.stringify(join(t.path, "ready"))}, "1");
      await new Promise((r) => setTimeout(r, 600_000));`; // hang until killed
    // 1. killed while writing the files (after the new X.npy, before Y.npy/pid.npy)
    await killAtHook(
      `import { writeDirAtomic } from ${JSON.stringify(LIB("fs.ts"))};
       import { join } from "node:path";
       await writeDirAtomic(${JSON.stringify(out)}, async (d) => {
         await Deno.writeTextFile(join(d, "X.npy"), "new, half written");
         ${hang}
       }, { owns: ["X.npy", "Y.npy", "pid.npy", "info.json"] });`,
      join(t.path, "ready"),
    );
    let w = await readSslWearablesNpy(out);
    assertEquals([w.n, w.classes], [3, ["old"]]);
    assertEquals(await Deno.readTextFile(join(out, "info.json")), '{"run":"old"}');
    await Deno.remove(join(t.path, "ready"));
    // 2. killed with the complete new output written, just before the swap
    await killAtHook(
      `import { windowsToNpy } from ${JSON.stringify(LIB("data/npy.ts"))};
       const w = { x: new Float32Array(5 * 12), n: 5, channels: 3, length: 4, y: new Int32Array(5),
         classes: ["new"], subject: ["a", "b", "c", "d", "e"], rateHz: 30 };
       await windowsToNpy(w, ${JSON.stringify(out)}, {
         extraFiles: { "info.json": '{"run":"new"}' },
         beforeSwap: async () => { ${hang} },
       });`,
      join(t.path, "ready"),
    );
    w = await readSslWearablesNpy(out);
    assertEquals([w.n, w.classes], [3, ["old"]]);
    assertEquals(await Deno.readTextFile(join(out, "info.json")), '{"run":"old"}');
    await Deno.remove(join(t.path, "ready"));
    // 3. no old output: a killed writer leaves nothing at the target
    const fresh = join(t.path, "fresh");
    await killAtHook(
      `import { windowsToNpy } from ${JSON.stringify(LIB("data/npy.ts"))};
       const w = { x: new Float32Array(12), n: 1, channels: 3, length: 4, y: new Int32Array(1),
         classes: ["new"], subject: ["a"], rateHz: 30 };
       await windowsToNpy(w, ${JSON.stringify(fresh)}, { beforeSwap: async () => { ${hang} } });`,
      join(t.path, "ready"),
    );
    await assertRejects(() => Deno.stat(fresh), Deno.errors.NotFound);
    // The killed writers' temp folders are swept by the next write (their process is gone).
    assert((await names(t.path)).some((n) => n.includes(".tmp-")));
    await removeStaleTemps(fresh);
    await windowsToNpy(windows(2, "next"), out);
    assertEquals((await names(t.path)).filter((n) => n.includes(".tmp-")), []);
    assertEquals((await readSslWearablesNpy(out)).n, 2);
  } finally {
    await t.cleanup();
  }
});
