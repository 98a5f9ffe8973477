/**
 * By-hand reference tool (not used by the library or the tests): one
 * multi-task training step of OUR TS path against PyTorch, from the same
 * initial weights on the same batch.
 *
 * 1. `--phase batch`: the long run's first training batch (multitaskSource
 *    with the long spec, epoch 0 step 0: std-weighted draw, transforms,
 *    per-subject axis swap + rotation) → `<dir>/batch_X.npy`, `batch_y.npy`.
 * 2. `yuan_mtl_torch2.py --grad-check <dir>`: PyTorch init weights
 *    (`init.pt`, ssl-wearables key names), loss, gradients and the weights
 *    after one Adam-amsgrad step → `<dir>/torch.json`.
 * 3. `--phase compare`: our laptop10 harnet loaded from `init.pt`; loss and
 *    gradients by `tf.variableGrads` with `multitaskLoss()`; then one `fit`
 *    step (as run.ts: Adam lr 1e-3 amsgrad, the multi-task loss) with 0 and
 *    with 2 workers; every tensor compared with PyTorch (max abs difference
 *    relative to the tensor's max abs value).
 *
 * ```sh
 * deno run -A tools/reference/grad_check.ts --phase batch --pool /tmp/yuan-pool-full --dir /tmp/gcheck
 * /usr/bin/python3 tools/reference/yuan_mtl_torch2.py --grad-check /tmp/gcheck
 * deno run -A tools/reference/grad_check.ts --phase compare --pool /tmp/yuan-pool-full --dir /tmp/gcheck
 * ```
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/mod.ts";
import { readNpy, writeNpy } from "../../lib/data/npy.ts";
import type { Windows } from "../../lib/data/types.ts";
import { buildYuanModel } from "../../lib/experiments/yuan/model.ts";
import { yuanSpec } from "../../lib/experiments/yuan/spec.ts";
import { loadTorchStateDict } from "../../lib/models/pytorch.ts";
import { exportStateDict, loadHarnetWeights } from "../../lib/models/weights.ts";
import { multitaskLoss, multitaskSource } from "../../lib/pretext/multitask_source.ts";
import { forward } from "../../lib/train/forward.ts";
import { fit, metricReporter } from "../../lib/train/loop.ts";
import { type BuiltinLossSpec, lossFromSpec } from "../../lib/train/losses.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    phase: { type: "string", default: "compare" },
    pool: { type: "string", default: "/tmp/yuan-pool-full" },
    dir: { type: "string", default: "/tmp/gcheck" },
    workers: { type: "string", default: "0,2" },
    steps: { type: "string", default: "32" },
  },
});
const dir = values.dir!;
const spec = yuanSpec("long");

if (values.phase === "batch" || values.phase === "multi-batch") {
  const X = await readNpy(join(values.pool!, "train_X.npy"));
  const subject = (await readNpy(join(values.pool!, "train_subject.npy"))).data as string[];
  const [n, c, L] = X.shape;
  const w: Windows = {
    x: X.data as Float32Array,
    n,
    channels: c,
    length: L,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject,
    rateHz: 30,
  };
  const p = spec.pretrain;
  const src = multitaskSource(w, {
    batchSize: p.batchSize,
    windowsPerEpoch: p.windowsPerEpoch,
    weighting: p.weighting,
    sampling: p.sampling,
    seed: spec.seed,
  });
  const K = values.phase === "batch" ? 1 : Number(values.steps);
  const bs = p.batchSize, size = c * L;
  const xAll = new Float32Array(K * bs * size), y = new Int32Array(K * bs * 4);
  for (let step = 0; step < K; step++) {
    const b = await src.batch!({ epoch: 0, step, globalStep: step, seed: 0, epochSeed: 0 });
    const x = b.x as { data: Float32Array; shape: number[] };
    const ys = (b.y as { data: Int32Array }[]).map((t) => t.data);
    xAll.set(x.data, step * bs * size);
    for (let i = 0; i < bs; i++) for (let k = 0; k < 4; k++) y[(step * bs + i) * 4 + k] = ys[k][i];
  }
  await Deno.mkdir(dir, { recursive: true });
  const name = K === 1 ? "batch" : "multi";
  await writeNpy(join(dir, `${name}_X.npy`), xAll, [K * bs, c, L]);
  await writeNpy(join(dir, `${name}_y.npy`), y, [K * bs, 4]);
  console.log(`${K} batches of ${bs} written to ${dir}/${name}_*.npy`);
  Deno.exit(0);
}

const info = await initBackend();
if (values.phase === "multi") {
  const initSd0 = await loadTorchStateDict(join(dir, "init.pt"));
  const tm = JSON.parse(await Deno.readTextFile(join(dir, "torch_multi.json"))) as {
    losses: number[];
    after: Record<string, { shape: number[]; data: number[] }>;
  };
  const X = await readNpy(join(dir, "multi_X.npy"));
  const Y = (await readNpy(join(dir, "multi_y.npy"))).data as Int32Array;
  const b = 64, size = X.shape[1] * X.shape[2], K = X.shape[0] / b;
  for (const w of values.workers!.split(",").map(Number)) {
    const model = buildYuanModel(spec, "mtl");
    loadHarnetWeights(model, initSd0, { strict: true });
    const losses: number[] = [];
    await fit(
      model,
      {
        stepsPerEpoch: K,
        samplesPerEpoch: K * b,
        batch: ({ step }) => ({
          x: {
            data: (X.data as Float32Array).slice(step * b * size, (step + 1) * b * size),
            shape: [b, X.shape[1], X.shape[2]],
          },
          y: [0, 1, 2, 3].map((k) => ({
            data: Int32Array.from({ length: b }, (_, i) => Y[(step * b + i) * 4 + k]),
            shape: [b],
          })),
        }),
      },
      {
        epochs: 1,
        optimizer: { name: "adam", lr: spec.pretrain.lr, amsgrad: spec.pretrain.amsgrad },
        loss: multitaskLoss(),
        seed: spec.seed,
        workers: w,
        progress: false,
        onStep: (r) => {
          losses.push(r.loss);
        },
      },
    );
    const dl = losses.map((l, i) => Math.abs(l - tm.losses[i]));
    console.log(
      `workers ${w}: ${K} steps; |loss ours - torch| max ${Math.max(...dl).toExponential(2)}`,
    );
    console.log(`  ours  ${losses.map((l) => l.toFixed(4)).join(" ")}`);
    console.log(`  torch ${tm.losses.map((l) => l.toFixed(4)).join(" ")}`);
    compare(exportStateDict(model), tm.after, `after ${K} steps, workers ${w}`);
    model.dispose();
  }
  Deno.exit(0);
}
console.log(`backend ${info.summary}`);
const torch = JSON.parse(await Deno.readTextFile(join(dir, "torch.json"))) as {
  loss: number;
  taskLoss: number[];
  grads: Record<string, { shape: number[]; data: number[] }>;
  after: Record<string, { shape: number[]; data: number[] }>;
};
const xN = await readNpy(join(dir, "batch_X.npy"));
const yN = await readNpy(join(dir, "batch_y.npy"));
const bs = xN.shape[0];
const yData = yN.data as Int32Array;
const yTasks = [0, 1, 2, 3].map((k) => Int32Array.from({ length: bs }, (_, i) => yData[i * 4 + k]));
const initSd = await loadTorchStateDict(join(dir, "init.pt"));

function fresh(): tf.LayersModel {
  const m = buildYuanModel(spec, "mtl");
  const r = loadHarnetWeights(m, initSd, { strict: true });
  if (r.missing.length) throw new Error(`missing ${r.missing}`);
  return m;
}

/** max |ours - torch| / max |torch| over the tensors of `ref` present in `ours`. */
function compare(
  ours: Map<string, { data: ArrayLike<number | bigint> }>,
  ref: Record<string, { data: number[] }>,
  label: string,
) {
  let worst = 0, worstKey = "";
  const rows: string[] = [];
  for (const [k, t] of Object.entries(ref)) {
    const o = ours.get(k);
    if (!o) {
      rows.push(`  ${k}: missing in ours`);
      continue;
    }
    let d = 0, m = 0;
    for (let i = 0; i < t.data.length; i++) {
      d = Math.max(d, Math.abs(Number(o.data[i]) - t.data[i]));
      m = Math.max(m, Math.abs(t.data[i]));
    }
    const rel = d / (m || 1);
    if (rel > worst) [worst, worstKey] = [rel, k];
    if (rel > 1e-3) {
      rows.push(`  ${k}: rel diff ${rel.toExponential(2)} (max |torch| ${m.toExponential(2)})`);
    }
  }
  console.log(
    `${label}: worst rel diff ${worst.toExponential(2)} (${worstKey}) over ${
      Object.keys(ref).length
    } tensors`,
  );
  for (const r of rows.slice(0, 12)) console.log(r);
  return worst;
}

// ---- loss and gradients (training mode, one thread)
{
  const model = fresh();
  const lossFn = lossFromSpec(multitaskLoss() as BuiltinLossSpec);
  const rep = metricReporter();
  const xt = tf.tensor(xN.data as Float32Array, xN.shape);
  const yt = yTasks.map((y) => tf.tensor(y, [bs], "int32"));
  const lvs = model.trainableWeights;
  const vars = lvs.map((lv) => (lv as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(
    () =>
      lossFn(yt, forward(model, [xt], { training: true }), {
        report: rep.report,
        seed: 0,
      }) as tf.Scalar,
    vars,
  );
  console.log(
    `loss ours ${value.dataSync()[0].toFixed(6)} torch ${torch.loss.toFixed(6)}; per task ours ${
      ["aot", "scale", "permute", "time_w"].map((t) => rep.metrics[`${t}/loss`]?.toFixed(5))
    } torch ${torch.taskLoss.map((v) => v.toFixed(5))}`,
  );
  console.log(`reported metrics: ${JSON.stringify(rep.metrics)}`);
  // write the gradients into the weights to export them in PyTorch layout
  lvs.forEach((lv, i) => lv.write(grads[vars[i].name]));
  const gsd = exportStateDict(model);
  compare(gsd, torch.grads, "gradients");
  model.dispose();
}

// ---- one fit step (the run's options), 0 and 2 workers
for (const w of values.workers!.split(",").map(Number)) {
  const model = fresh();
  const res = await fit(
    model,
    {
      stepsPerEpoch: 1,
      samplesPerEpoch: bs,
      batch: () => ({
        x: { data: (xN.data as Float32Array).slice(), shape: xN.shape },
        y: yTasks.map((y) => ({ data: y.slice(), shape: [bs] })),
      }),
    },
    {
      epochs: 1,
      optimizer: { name: "adam", lr: spec.pretrain.lr, amsgrad: spec.pretrain.amsgrad },
      loss: multitaskLoss(),
      seed: spec.seed,
      workers: w,
      progress: false,
    },
  );
  console.log(`fit workers ${w} (used ${res.workers}): loss ${res.rows[0].trainLoss.toFixed(6)}`);
  compare(exportStateDict(model), torch.after, `after 1 step, workers ${w}`);
  model.dispose();
}
Deno.exit(0);
