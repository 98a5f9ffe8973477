/**
 * CPC (lib/pretext/cpc.ts with lib/models `cpcModel`; ../shared/specs/dont-freeze.md
 * §2.1): the start time's range, batches and their seeding, what the model's
 * two outputs are (`W_k c_t` and `z_{t+1..t+K}`, causal `c_t`), InfoNCE low
 * for aligned predictions and high for shuffled ones, a short `fit` that lowers
 * it, and the encoder + W_k + InfoNCE gradients on the fast engines against cpu.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { cpcModel } from "../../lib/models/dontfreeze_encoders.ts";
import {
  CPC_DEFAULT_STEPS,
  cpcLoss,
  cpcSource,
  cpcStart,
  makeCpcBatch,
} from "../../lib/pretext/cpc.ts";
import type { Batch, HostTensor } from "../../lib/train/batches.ts";
import { lossFromSpec } from "../../lib/train/losses.ts";
import { evaluateSource, fit } from "../../lib/train/loop.ts";
import { checkGradientsAgainstCpu, hostBatch, syntheticWindows } from "./_dontfreeze.ts";

await initBackend({ verbose: false, threads: 1 });

const ctx = (epoch: number, step: number) => ({
  epoch,
  step,
  globalStep: 0,
  seed: 0,
  epochSeed: 0,
});

Deno.test("start time: uniform over 0..T − K − 1 (torch.randint(T − K)), K = 28 by default", () => {
  assertEquals(CPC_DEFAULT_STEPS, 28);
  const seen = new Set<number>();
  for (let s = 0; s < 3000; s++) seen.add(cpcStart(100, 28, s));
  assertEquals(Math.min(...seen), 0);
  assertEquals(Math.max(...seen), 71);
  assertEquals(seen.size, 72);
  assertThrows(() => cpcStart(100, 100, 0), ConfigError, "steps");
});

Deno.test("batches: channels-last windows and one start per batch (int32 [n, 1]); seeded per step; evaluation fixed", () => {
  const pool = syntheticWindows(10, 1);
  const b = makeCpcBatch(pool, [3, 0], 17);
  const [x, start] = b.x as HostTensor[];
  assertEquals(x.shape, [2, 100, 3]);
  assertEquals(x.data[(0 * 100 + 5) * 3 + 2], pool.x[(3 * 3 + 2) * 100 + 5]); // window 3, t 5, z
  assert(start.data instanceof Int32Array);
  assertEquals(Array.from(start.data), [17, 17]);
  assertEquals(b.y, undefined);
  const src = cpcSource(pool, { seed: 4, batchSize: 4, steps: 8 });
  assertEquals(src.stepsPerEpoch, 3);
  const starts = (s: typeof src, e: number) =>
    Array.from(
      { length: s.stepsPerEpoch },
      (_, i) => ((s.batch!(ctx(e, i)) as Batch).x as HostTensor[])[1].data[0],
    );
  const st0 = starts(src, 0);
  assertEquals(starts(cpcSource(pool, { seed: 4, batchSize: 4, steps: 8 }), 0), st0);
  st0.forEach((t) => assert(t >= 0 && t <= 100 - 8 - 1));
  const many = Array.from({ length: 20 }, (_, e) => starts(src, e)).flat();
  assert(new Set(many).size > 10, "start times vary across steps");
  // every window once per epoch
  const idx = Array.from(
    { length: 3 },
    (_, i) => ((src.batch!(ctx(0, i)) as Batch).x as HostTensor[])[0].shape[0],
  );
  assertEquals(idx, [4, 4, 2]);
  const ev = cpcSource(pool, { seed: 4, batchSize: 4, steps: 8, evaluation: true });
  assertEquals(starts(ev, 0), starts(ev, 5));
});

Deno.test("cpcModel outputs W_k·c_t and z_{t+1..t+K}; c_t ignores samples beyond t + 3 (causal GRU, 3 convs of k3)", () => {
  const K = 6, t = 20;
  const model = cpcModel({ steps: K, seed: 3 });
  const pool = syntheticWindows(3, 2);
  const b = makeCpcBatch(pool, [0, 1, 2], t);
  const [xh, sh] = b.x as HostTensor[];
  const x = tf.tensor(xh.data, xh.shape), start = tf.tensor(sh.data, sh.shape, "int32");
  const [pred, future] = model.predict([x, start]) as tf.Tensor[];
  assertEquals(pred.shape, [3, K, 128]);
  const zModel = tf.model({
    inputs: model.inputs[0],
    outputs: model.getLayer("encoder_conv3_relu").output as tf.SymbolicTensor,
  });
  const z = zModel.predict(x) as tf.Tensor;
  const d = future.sub(z.slice([0, t + 1, 0], [-1, K, -1])).abs().max().dataSync()[0];
  assert(d < 1e-6, `future = z[:, t+1 .. t+K]: max diff ${d}`);
  // c_t from the GRU on the prefix = the GRU on the whole window (start 99) at step t
  const full = tf.model({
    inputs: model.inputs,
    outputs: model.getLayer("encoder_gru2").output as tf.SymbolicTensor,
  });
  const c = full.predict([x, tf.fill([3, 1], 99, "int32")]) as tf.Tensor;
  const wk = model.getLayer("cpc_wk").apply(
    c.slice([0, t, 0], [-1, 1, -1]).reshape([3, -1]),
  ) as tf.Tensor;
  const dc = wk.reshape([3, K, 128]).sub(pred).abs().max().dataSync()[0];
  assert(dc < 1e-5, `W_k c_t from the prefix vs the whole window: max diff ${dc}`);
  // perturb the window after t + 3: the predictions (from c_t) do not change, the targets do
  const late = tf.concat([
    x.slice([0, 0, 0], [-1, t + 4, -1]),
    x.slice([0, t + 4, 0], [-1, -1, -1]).mul(-3),
  ], 1);
  const [pred2, future2] = model.predict([late, start]) as tf.Tensor[];
  assert(pred2.sub(pred).abs().max().dataSync()[0] < 1e-6, "c_t depends on samples after t + 3");
  assert(future2.sub(future).abs().max().dataSync()[0] > 1e-3, "the targets see the perturbation");
  tf.dispose([x, start, pred, future, z, late, pred2, future2, c, wk]);
  model.dispose();
});

Deno.test("InfoNCE (cpcLoss): near 0 for predictions aligned with their targets, above log B for shuffled ones", () => {
  const loss = lossFromSpec(cpcLoss());
  const B = 8, K = 5;
  // unit vectors: z_i·z_j < z_i·z_i for j ≠ i, so aligned predictions win every row
  const raw = tf.randomNormal([B, K, 16], 0, 1, "float32", 1);
  const z = raw.div(raw.norm("euclidean", -1, true));
  const aligned = z.mul(30);
  const shuffled = tf.gather(aligned, tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 0], "int32"));
  const report: Record<string, number> = {};
  const lo = loss([], [aligned, z], {
    report: (k, v) => (report[k] = typeof v === "number" ? v : v.dataSync()[0]),
  })
    .dataSync()[0];
  const hi = loss([], [shuffled, z]).dataSync()[0];
  assert(lo < 1e-3, `aligned ${lo}`);
  assert(hi > Math.log(B), `shuffled ${hi}`);
  assertEquals(report.accuracy, 1);
  // random predictions: about log B
  const rnd = loss([], [tf.randomNormal([B, K, 16], 0, 0.01, "float32", 2), z]).dataSync()[0];
  assertAlmostEquals(rnd, Math.log(B), 0.01);
  tf.dispose([raw, z, aligned, shuffled]);
});

Deno.test("a short fit (workers 0) lowers the CPC loss on synthetic windows", async () => {
  const train = syntheticWindows(32, 5);
  const small = { encoder: { gruUnits: 32, dropout: 0.1, gruDropout: 0.1 }, steps: 4, seed: 1 };
  const model = cpcModel(small);
  const val = cpcSource(train, { steps: 4, seed: 2, batchSize: 16, evaluation: true });
  const loss = lossFromSpec(cpcLoss());
  const before = await evaluateSource(model, val, loss);
  await fit(model, cpcSource(train, { steps: 4, seed: 2, batchSize: 16 }), {
    epochs: 8,
    optimizer: { name: "adam", lr: 2e-3 },
    loss: cpcLoss(),
    progress: false,
    workers: 0,
    seed: 3,
  });
  const after = await evaluateSource(model, val, loss);
  assert(
    after.loss < before.loss - 0.3,
    `InfoNCE ${before.loss} → ${after.loss} (log 16 = ${Math.log(16)})`,
  );
  assert(after.metrics["val/accuracy"] > before.metrics["val/accuracy"]);
  model.dispose();
});

Deno.test("CPC encoder + W_k + InfoNCE: gradients on the fast engines equal tfjs cpu's (1e-4 relative)", async () => {
  const model = cpcModel({ encoder: { dropout: 0, gruDropout: 0 }, seed: 6 });
  const pool = syntheticWindows(4, 8);
  const b = makeCpcBatch(pool, [0, 1, 2, 3], 40);
  const checked = await checkGradientsAgainstCpu(
    model,
    lossFromSpec(cpcLoss()),
    hostBatch(b.x as HostTensor[]),
  );
  assert(checked.length >= 1);
  model.dispose();
});
