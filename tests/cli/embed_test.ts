import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { parseEmbedArgs, run } from "../../cli/embed.ts";
import { readNpy, writeNpy } from "../../lib/data/npy.ts";
import { CheckpointError, ConfigError } from "../../lib/errors.ts";
import { harnet, harnetEncoder, predictArrays } from "../../lib/models/harnet.ts";
import { saveTorchStateDict, type StateDict } from "../../lib/models/pytorch.ts";
import { exportStateDict } from "../../lib/models/weights.ts";
import { oracle, tempDir } from "../_helpers.ts";
import { MALICIOUS, torchZip } from "../models/_torch_fixture.ts";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("har embed on the oracle checkpoint writes PyTorch's features (no logits: MTL heads only)", async () => {
  const dir = oracle("harnet10");
  if (!dir) return;
  const { path, cleanup } = await tempDir();
  try {
    const out = join(path, "emb");
    await run([
      "--model",
      "harnet10",
      "--weights",
      join(dir, "mtl_checkpoint.mdl"),
      "--input",
      join(dir, "x.npy"),
      `--out=${out}`,
    ]);
    const got = await readNpy(join(out, "features.npy"));
    const want = await readNpy(join(dir, "features.npy"));
    assertEquals(got.shape, [4, 1024]);
    assertEquals(got.dtype, "<f4");
    const d = maxAbsDiff(got.data as Float32Array, want.data as Float32Array);
    assert(d <= 1e-3, `max diff ${d}`);
    assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["features.npy"]);
  } finally {
    await cleanup();
  }
});

Deno.test("har embed writes logits.npy for a checkpoint with a classifier head", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const model = harnet({
      variant: "laptop10",
      head: "eva",
      numClasses: 4,
      hiddenUnits: 32,
      seed: 3,
    });
    // DataParallel-style keys, as the released checkpoints have.
    const sd: StateDict = new Map([...exportStateDict(model)].map(([k, v]) => [`module.${k}`, v]));
    const ckpt = join(path, "clf.pt");
    await saveTorchStateDict(ckpt, sd);
    const x = new Float32Array(3 * 3 * 300).map((_, i) => Math.sin(i * 0.05) + (i % 3) * 0.3);
    const xPath = join(path, "x.npy");
    await writeNpy(xPath, x, [3, 3, 300]);
    const out = join(path, "out");
    await run([
      "--model",
      "laptop10",
      "--weights",
      ckpt,
      "--input",
      xPath,
      "--out",
      out,
      "--batch-size",
      "2",
      "--backend",
      "wasm",
    ]);
    const logits = await readNpy(join(out, "logits.npy"));
    const feats = await readNpy(join(out, "features.npy"));
    assertEquals(logits.shape, [3, 4]);
    assertEquals(feats.shape, [3, 256]);
    const wantLogits = predictArrays(model, x, [3, 3, 300])[0].data;
    const wantFeats = predictArrays(harnetEncoder(model), x, [3, 3, 300])[0].data;
    assert(maxAbsDiff(logits.data as Float32Array, wantLogits) < 1e-4);
    assert(maxAbsDiff(feats.data as Float32Array, wantFeats) < 1e-4);
    model.dispose();
  } finally {
    await cleanup();
  }
});

Deno.test("har embed: clear errors for missing files, unsafe checkpoints, wrong shapes, bad flags", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const xPath = join(path, "x150.npy");
    await writeNpy(xPath, new Float32Array(2 * 3 * 150), [2, 3, 150]);
    const evil = join(path, "evil.mdl");
    await Deno.writeFile(evil, torchZip(MALICIOUS["os.system"], {}));
    const base = ["--model", "harnet10", "--out", join(path, "o")];
    await assertRejects(
      () => run([...base, "--weights", join(path, "nope.mdl"), "--input", xPath]),
      ConfigError,
      "nope.mdl not found",
    );
    await assertRejects(
      () => run([...base, "--weights", evil, "--input", xPath]),
      ConfigError,
      "harnet10 expects 300 samples (10 s at 30 Hz), got 150",
    );
    const x300 = join(path, "x300.npy");
    await writeNpy(x300, new Float32Array(2 * 3 * 300), [2, 3, 300]);
    await assertRejects(
      () => run([...base, "--weights", evil, "--input", x300]),
      CheckpointError,
      "refused unsafe global 'os.system'",
    );
    assertEquals(
      (() => {
        try {
          return Deno.statSync(join(path, "o")).isDirectory;
        } catch {
          return false;
        }
      })(),
      false,
      "nothing written on failure",
    );
    await assertRejects(() => run(["--weights", evil]), ConfigError, "missing --input");
    await assertRejects(
      () => run([...base, "--wieghts", evil]),
      ConfigError,
      "unknown flag --wieghts",
    );
    await assertRejects(
      () => run(["--model", "resnet99", "--weights", evil, "--input", x300, "--out", path]),
      ConfigError,
      "unknown model",
    );
    assertEquals(
      parseEmbedArgs(["--weights", "a", "--input", "b", "--out", "c"]).model,
      "harnet10",
    );
  } finally {
    await cleanup();
  }
});
