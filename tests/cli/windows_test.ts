import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { ConfigError } from "../../lib/errors.ts";
import { parseWindowsArgs, run, summary } from "../../cli/windows.ts";
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
  await bad(["--dataset", "hmp-adl"], "--out is required");
  await bad(
    ["--dataset", "hmp-adl", "--out", "x", "--rate", "fast"],
    '--rate: expected a number > 0, got "fast"',
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
