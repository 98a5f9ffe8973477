import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataFormatError } from "../../lib/errors.ts";
import { inflate, resolveLimits } from "../../lib/data/decompress.ts";
import { gunzip } from "../../lib/data/text.ts";
import { readNpy } from "../../lib/data/npy.ts";
import { writeZip, ZipArchive } from "../../lib/data/zip.ts";
import { extractBudget, extractZip, untar, unzip } from "../../lib/data/archive.ts";
import { evalWithEnv, tempDir } from "../_helpers.ts";

const MB = 1024 * 1024;
const zeros200 = () => new Uint8Array(200 * MB);

/** Time `f` (ms) and return its rejection. */
async function timedReject(f: () => Promise<unknown>): Promise<{ ms: number; err: Error }> {
  const t0 = performance.now();
  try {
    await f();
  } catch (e) {
    return { ms: performance.now() - t0, err: e as Error };
  }
  throw new Error("expected a rejection");
}

Deno.test("gzip bomb (200 MB of zeros in ~200 KB) is refused while streaming, naming the file", async () => {
  const gz = new Uint8Array(gzipSync(zeros200()));
  assert(gz.length < 400_000, `bomb is ${gz.length} bytes`);
  const { ms, err } = await timedReject(() => gunzip(gz, "bomb.csv.gz"));
  assert(err instanceof DataFormatError);
  assert(err.message.startsWith("bomb.csv.gz: inflates more than 200×"), err.message);
  assert(err.message.includes("HAR_DECOMPRESS_MAX_RATIO"), err.message);
  assert(ms < 3000, `took ${ms} ms`);
  // through a reader: the path is named
  const t = await tempDir();
  try {
    const path = join(t.path, "X.npy.gz");
    await Deno.writeFile(path, gz);
    const r = await timedReject(() => readNpy(path));
    assert(r.err instanceof DataFormatError && r.err.message.startsWith(`${path}: inflates`));
    assert(r.ms < 3000, `took ${r.ms} ms`);
  } finally {
    await t.cleanup();
  }
});

Deno.test("decompression limits: ratio past the floor, absolute cap, configurable, corrupt data", async () => {
  const gz = new Uint8Array(gzipSync(new Uint8Array(MB))); // ~1000× expansion
  await assertRejects(
    () => gunzip(gz, "z.gz", { ratioFloorBytes: 64 * 1024 }),
    DataFormatError,
    "z.gz: inflates more than 200×",
  );
  // below the floor (small, very repetitive files) and with a raised ratio it passes
  assertEquals((await gunzip(gz, "z.gz")).length, MB);
  assertEquals((await gunzip(gz, "z.gz", { ratioFloorBytes: 1024, maxRatio: 5000 })).length, MB);
  await assertRejects(
    () => gunzip(gz, "z.gz", { maxBytes: 100_000 }),
    DataFormatError,
    "z.gz: inflates to more than 97.7 KiB",
  );
  // real data (text expands a few ×) is untouched by the defaults
  const text = new TextEncoder().encode("0.12,-0.98,0.03\n".repeat(50_000));
  assertEquals(await gunzip(new Uint8Array(gzipSync(text)), "t.gz"), text);
  await assertRejects(
    () => gunzip(gz.subarray(0, 100), "cut.gz"),
    DataFormatError,
    "cut.gz: corrupt",
  );
  // the environment overrides the defaults; set in a child process, since test
  // modules share this process's environment
  const mod = new URL("../../lib/data/decompress.ts", import.meta.url).href;
  const out = await evalWithEnv(
    `const { resolveLimits } = await import(${JSON.stringify(mod)});
     console.log(JSON.stringify(resolveLimits()));`,
    { HAR_DECOMPRESS_MAX_RATIO: "1000" },
  );
  assertEquals(JSON.parse(out).maxRatio, 1000);
  assertEquals(resolveLimits({ maxRatio: 7 }).maxRatio, 7);
});

Deno.test("zip bomb with an honest header is refused before inflating, naming archive and entry", async () => {
  const zip = writeZip([{ name: "data/zeros.bin", data: zeros200() }], { deflate: true });
  assert(zip.length < 400_000);
  for (
    const f of [
      () => unzip(zip, "bomb.zip"),
      () => new ZipArchive(zip, "bomb.zip").read("data/zeros.bin"),
    ]
  ) {
    const { ms, err } = await timedReject(f);
    assert(err instanceof DataFormatError, String(err));
    assert(
      err.message.startsWith('bomb.zip: entry "data/zeros.bin" declares 200.0 MiB'),
      err.message,
    );
    assert(ms < 3000, `took ${ms} ms`);
  }
  // many small entries over a total budget: refused before anything is written
  const t = await tempDir();
  try {
    const many = writeZip(
      Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.txt`, data: new Uint8Array(1000) })),
      { deflate: true },
    );
    await assertRejects(
      () => extractZip(many, "many.zip", t.path, extractBudget(10_000)),
      DataFormatError,
      "many.zip: declares 19.5 KiB of content, over the 9.8 KiB limit",
    );
    const left = [];
    for await (const e of Deno.readDir(t.path)) left.push(e.name);
    assertEquals(left, []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("zip bomb that lies about its size is stopped at the declared size", async () => {
  const zip = writeZip([{ name: "zeros.bin", data: zeros200() }], { deflate: true });
  // declare 1000 bytes in the central directory (offset 24 of the entry) and the local header
  const dv = new DataView(zip.buffer);
  const cd = dv.getUint32(zip.length - 22 + 16, true);
  dv.setUint32(cd + 24, 1000, true);
  dv.setUint32(22, 1000, true);
  const { ms, err } = await timedReject(() => new ZipArchive(zip, "liar.zip").read("zeros.bin"));
  assert(err instanceof DataFormatError);
  assert(
    err.message.startsWith('liar.zip: entry "zeros.bin": inflates past its declared 1000 bytes'),
    err.message,
  );
  assert(ms < 3000, `took ${ms} ms`);
});

Deno.test("tar.gz bomb is refused while gunzipping", async () => {
  const gz = new Uint8Array(gzipSync(zeros200()));
  const { ms, err } = await timedReject(() => untar(gz, "bomb.tar.gz"));
  assert(err instanceof DataFormatError && err.message.startsWith("bomb.tar.gz: inflates"));
  assert(ms < 3000, `took ${ms} ms`);
  // the raw inflate entry point names its file too
  await assertRejects(
    () => inflate(gz.subarray(10), "deflate-raw", "raw.bin", { ratioFloorBytes: 1 }),
    DataFormatError,
    "raw.bin:",
  );
});
