/**
 * A new experiment on the platform, written without touching any paper's
 * files: a tiny denoising autoencoder pretext (batch source + masked-L2
 * loss through `fit`), then the frozen and fine-tuned settings on the ADL-5
 * benchmark through the evaluator, resumable through the scaffold.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { initBackend } from "../../lib/backend/mod.ts";
import { benchmarkWindows } from "../../lib/data/benchmarks.ts";
import { makeFolds } from "../../lib/data/splits.ts";
import { summarizeRuns } from "../../lib/eval/run_result.ts";
import { type DownstreamModel, evaluateDownstream } from "../../lib/experiments/evaluator.ts";
import { runExperiment } from "../../lib/experiments/scaffold.ts";
import { rng } from "../../lib/random.ts";
import { fit } from "../../lib/train/loop.ts";
import { sharedData, tempDir } from "../_helpers.ts";

await initBackend({ verbose: false });

/** Encoder (named `enc_*`) on `[3, 300]` windows, with a decoder or a classifier head. */
function net(head: "decoder" | number, seed: number): tf.LayersModel {
  const init = () => tf.initializers.glorotUniform({ seed });
  const x = tf.input({ shape: [3, 300] });
  let h = tf.layers.flatten({ name: "enc_flat" }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 16, activation: "relu", name: "enc_1", kernelInitializer: init() })
    .apply(h) as tf.SymbolicTensor;
  const out = head === "decoder"
    ? tf.layers.reshape({ targetShape: [3, 300] }).apply(
      tf.layers.dense({ units: 900, name: "dec", kernelInitializer: init() }).apply(h),
    )
    : tf.layers.dense({ units: head, name: "head", kernelInitializer: init() }).apply(h);
  return tf.model({ inputs: x, outputs: out as tf.SymbolicTensor });
}

Deno.test("toy experiment: autoencoder pretext + frozen / fine-tuned on ADL-5", async () => {
  if (!sharedData("hmp-adl")) return;
  const tmp = await tempDir();
  try {
    const spec = { seed: 3, pretrainEpochs: 2, noise: 0.1, folds: 2 };
    const runs = await runExperiment({ name: "toy-ae", spec, outDir: tmp.path }, async (exp) => {
      const w = await exp.windows("adl5", () => benchmarkWindows("adl5", { dataDir: exp.dataDir }));
      const ae = net("decoder", spec.seed);
      const source = {
        stepsPerEpoch: 8,
        batch: ({ seed }: { seed: number }) => {
          const r = rng(seed), idx = Array.from({ length: 32 }, () => r.int(w.n));
          const clean = new Float32Array(32 * 900);
          idx.forEach((k, i) => clean.set(w.x.subarray(k * 900, (k + 1) * 900), i * 900));
          const noisy = clean.map((v) => v + spec.noise * r.normal());
          return {
            x: { data: noisy, shape: [32, 3, 300] },
            y: { data: clean, shape: [32, 3, 300] },
          };
        },
      };
      const pre = await exp.piece(
        "pretrain",
        async () =>
          (await fit(ae, source, { epochs: spec.pretrainEpochs, loss: { kind: "masked-l2" } }))
            .rows,
      );
      assert(pre[1].trainLoss < pre[0].trainLoss, "the pretext learns");
      const encoder = tf.model({ inputs: ae.inputs, outputs: ae.getLayer("enc_1").output });
      const recipe: DownstreamModel = {
        classifier: ({ numClasses, seed }) => net(numClasses, seed),
        encoderWeights: "enc_",
        features: (_m, win) => {
          const f = encoder.predict(tf.tensor3d(win.x, [win.n, 3, 300])) as tf.Tensor;
          return { x: f.dataSync() as Float32Array, dim: 16 };
        },
      };
      const folds = makeFolds({ kind: "loso", valSubjects: 1, maxFolds: spec.folds }, w, spec.seed);
      return await evaluateDownstream({
        benchmark: "adl5",
        protocol: "loso",
        windows: w,
        folds,
        settings: [{ kind: "frozen" }, { kind: "finetune" }],
        model: recipe,
        pretrained: ae,
        training: { epochs: 3, batchSize: 32, lr: 1e-3, patience: 2, workers: 0 },
        seed: spec.seed,
        piece: (key, f) => exp.piece(`folds/${key}`, f),
      });
    });
    assertEquals(runs.map((r) => r.setting), ["frozen", "frozen", "finetune", "finetune"]);
    const table = summarizeRuns(runs, { bootstrap: { replicates: 50, seed: 1, alpha: 0.05 } });
    assertEquals(table.numRows(), 2);
    for (const r of runs) assert(r.metrics.f1Macro >= 0 && r.metrics.f1Macro <= 1);
  } finally {
    await tmp.cleanup();
  }
});
