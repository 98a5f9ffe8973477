import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { ConfigError } from "../../lib/errors.ts";
import { parseWindowsArgs, run, summary } from "../../cli/windows.ts";
import { benchmark, BENCHMARKS, benchmarkWindows } from "../../lib/data/benchmarks.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("har windows: hmp-adl to X/Y/pid .npy with the right shapes", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const out = join(tmp.path, "adl");
    await run([
      "--dataset",
      "hmp-adl",
      "--rate",
      "30",
      "--window",
      "10",
      "--overlap",
      "5",
      "--subjects",
      "f1,m1",
      "--classes",
      "walk,climb_stairs",
      "--out",
      out,
      "--data-dir",
      data,
    ]);
    const X = await readNpy(join(out, "X.npy"));
    const Y = await readNpy(join(out, "Y.npy"));
    const pid = await readNpy(join(out, "pid.npy"));
    const n = X.shape[0];
    assert(n > 100, `only ${n} windows`);
    assertEquals(X.shape, [n, 3, 300]);
    assert(X.data instanceof Float32Array);
    assertEquals(Y.shape, [n]);
    assertEquals(pid.shape, [n]);
    assertEquals(new Set(Y.data as string[]), new Set(["walk", "climb_stairs"]));
    assertEquals(new Set(pid.data as string[]), new Set(["f1", "m1"]));
    const x = X.data as Float32Array;
    assert(x.every((v) => v >= -1.5 && v <= 1.5), "values outside the HMP range in g");
    const info = JSON.parse(await Deno.readTextFile(join(out, "info.json")));
    assertEquals(info.shape, [n, 3, 300]);
    assertEquals(info.classes, ["walk", "climb_stairs"]);
    // nlc layout is the ssl-wearables on-disk [N, T, 3]; same numbers transposed
    const out2 = join(tmp.path, "nlc");
    await run([
      "--dataset",
      "hmp-adl",
      "--subjects",
      "f1,m1",
      "--classes",
      "walk,climb_stairs",
      "--layout",
      "nlc",
      "--out",
      out2,
      "--data-dir",
      data,
    ]);
    const X2 = await readNpy(join(out2, "X.npy"));
    assertEquals(X2.shape, [n, 300, 3]);
    const x2 = X2.data as Float32Array;
    assertEquals(x2[5 * 900 + 17 * 3 + 2], x[5 * 900 + 2 * 300 + 17]);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("har windows: bad flags give clear errors", async () => {
  const bad = async (args: string[], msg: string) => {
    await assertRejects(() => run(args), ConfigError, msg);
  };
  await bad(["--out", "x"], "--dataset is required");
  await bad(["--dataset", "hmp-adl", "--out", "x", "--cache-dir", "c"], "--cache-dir: only with");
  await bad(["--dataset", "hmp-adl"], "--out is required");
  await bad(
    ["--dataset", "hmp-adl", "--out", "x", "--rate", "fast"],
    '--rate: expected a finite number > 0 and <= 10000, got "fast"',
  );
  await bad(
    ["--dataset", "hmp-adl", "--out", "x", "--window", "5", "--overlap", "5"],
    "--overlap (5 s) must be smaller",
  );
  await bad(
    ["--dataset", "hmp-adl", "--out", "x", "--label-policy", "mode"],
    "--label-policy: expected majority | pure",
  );
  await bad(["--dataset", "hmp-adl", "--out", "x", "--bogus"], "bogus");
  // degenerate numbers: zero-sample windows, non-finite values, steps under one sample
  await bad(["--dataset", "hmp-adl", "--out", "x", "--rate", "1e-9"], "--window: 10 s at 1e-9 Hz");
  await bad(["--dataset", "hmp-adl", "--out", "x", "--window", "0.00001"], "holds 0 sample(s)");
  await bad(["--dataset", "hmp-adl", "--out", "x", "--rate", "Infinity"], "--rate: expected");
  await bad(["--dataset", "hmp-adl", "--out", "x", "--max-gap", "NaN"], "--max-gap: expected");
  await bad(
    ["--dataset", "hmp-adl", "--out", "x", "--window", "10", "--overlap", "9.99999"],
    "advance by less than one sample",
  );
  await bad(["--dataset", "no-such-set", "--out", "x"], "no-such-set");
  assertEquals(parseWindowsArgs(["--dataset", "d", "--out", "o"]).layout, "ncl");
  assertEquals(parseWindowsArgs(["--dataset", "d", "--out", "o", "--subjects", "a, b"]).subjects, [
    "a",
    "b",
  ]);
  assert(summary.length > 10);
});

Deno.test("har windows: unknown subject is reported, not silently empty", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  await assertRejects(
    () =>
      run(["--dataset", "hmp-adl", "--subjects", "zz9", "--out", "/tmp/never", "--data-dir", data]),
    Error,
    "zz9",
  );
});

Deno.test("har windows --benchmark adl5 writes exactly the reference windows", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const out = join(tmp.path, "adl5");
    await run(["--benchmark", "adl5", "--out", out, "--data-dir", data]);
    const ref = await benchmarkWindows("adl5", { dataDir: data });
    assertEquals(ref.n, benchmark("adl5").reference.windows);
    const X = await readNpy(join(out, "X.npy"));
    const Y = await readNpy(join(out, "Y.npy"));
    const pid = await readNpy(join(out, "pid.npy"));
    assertEquals(X.shape, [ref.n, 3, 300]);
    const x = X.data as Float32Array;
    assert(x.length === ref.x.length && x.every((v, i) => v === ref.x[i]), "X differs");
    assertEquals(Y.data, Array.from(ref.y, (k) => ref.classes[k]));
    assertEquals(pid.data, ref.subject);
    const info = JSON.parse(await Deno.readTextFile(join(out, "info.json")));
    assertEquals(info.benchmark, "adl5");
    assertEquals(info.shape, [ref.n, 3, 300]);
    assertEquals(info.classes, [...benchmark("adl5").classes]);
    assertEquals(info.definition.subjects.keep, [...benchmark("adl5").subjects.keep!]);
    assertEquals(info.windowsPerClass.walk, ref.y.filter((k) => ref.classes[k] === "walk").length);
    // ssl-wearables' on-disk layout [N, T, 3], through the cache
    const out2 = join(tmp.path, "nlc");
    const cache = join(tmp.path, "cache");
    const args = ["--benchmark", "adl5", "--layout", "nlc", "--out", out2, "--data-dir", data];
    await run([...args, "--cache-dir", cache]);
    assert([...Deno.readDirSync(cache)].length === 2, "no cache written");
    const X2 = await readNpy(join(out2, "X.npy"));
    assertEquals(X2.shape, [ref.n, 300, 3]);
    assertEquals((X2.data as Float32Array)[7 * 900 + 11 * 3 + 1], x[7 * 900 + 1 * 300 + 11]);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("har windows --benchmark: unknown names and conflicting flags are refused", async () => {
  const bad = async (args: string[], msg: string) => {
    await assertRejects(() => run(args), ConfigError, msg);
  };
  await bad(
    ["--benchmark", "adl7", "--out", "x"],
    `unknown benchmark "adl7" (known: ${Object.keys(BENCHMARKS).join(", ")})`,
  );
  await bad(["--benchmark", "adl5", "--out", "x", "--rate", "20"], "drop --rate");
  await bad(
    ["--benchmark", "adl5", "--out", "x", "--dataset", "hmp-adl", "--subjects", "f1"],
    "drop --dataset, --subjects",
  );
  await bad(["--benchmark", "adl5", "--out", "x", "--include-model"], "drop --include-model");
  await bad(["--benchmark", "adl5"], "--out is required");
  const a = parseWindowsArgs(["--benchmark", "wisdm-watch", "--out", "o"]);
  assertEquals(a.benchmark?.name, "wisdm-watch");
  assertEquals([a.dataset, a.rateHz, a.windowSec, a.overlapSec, a.labelPolicy], [
    "wisdm-watch",
    30,
    10,
    5,
    "pure",
  ]);
});

Deno.test("har windows: re-running into an old folder replaces the whole output, keeps other files", async () => {
  const data = sharedData();
  if (!data || !sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const out = join(tmp.path, "adl");
    await Deno.mkdir(out);
    // an older, bigger output (stale labels and info) plus a file of the user's
    for (const f of ["X.npy", "Y.npy", "pid.npy"]) await Deno.writeTextFile(join(out, f), "stale");
    await Deno.writeTextFile(join(out, "info.json"), '{"stale":true}');
    await Deno.writeTextFile(join(out, "notes.txt"), "mine");
    const args = ["--dataset", "hmp-adl", "--subjects", "f1", "--classes", "walk"];
    await run([...args, "--out", out, "--data-dir", data]);
    const X = await readNpy(join(out, "X.npy"));
    const Y = await readNpy(join(out, "Y.npy"));
    const info = JSON.parse(await Deno.readTextFile(join(out, "info.json")));
    assertEquals([Y.shape[0], info.shape[0]], [X.shape[0], X.shape[0]]);
    assertEquals(info.classes, ["walk"]);
    assertEquals(await Deno.readTextFile(join(out, "notes.txt")), "mine");
    const left: string[] = [];
    for await (const e of Deno.readDir(tmp.path)) left.push(e.name);
    assertEquals(left, ["adl"]); // no temporary folder left beside it
  } finally {
    await tmp.cleanup();
  }
});
