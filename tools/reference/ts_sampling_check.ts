/**
 * By-hand reference tool (not used by the library or the tests): OUR TS
 * multi-task pre-training (the long spec's model, loss, optimiser,
 * augmentation, `fit`) on the exported pool, but with the std-weighted
 * draws made WITH replacement (`replace: true`, now multitaskSource's
 * default; when this tool was run, `windowsPerEpoch` above the pool size was
 * what made it draw with replacement), which is what the PyTorch runs that
 * learn arrow of time do. Held-out accuracy per epoch on the exported
 * uniform and std-drawn windows, history rewritten after every epoch.
 *
 * ```sh
 * deno run -A tools/reference/ts_sampling_check.ts --pool /tmp/yuan-pool-full \
 *   --per-epoch 24576 --epochs 11 --out results/yuan-long/torch-reference/ts-replace-full-history.json
 * ```
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/mod.ts";
import { readNpy } from "../../lib/data/npy.ts";
import type { Windows } from "../../lib/data/types.ts";
import { buildYuanModel } from "../../lib/experiments/yuan/model.ts";
import { yuanSpec } from "../../lib/experiments/yuan/spec.ts";
import { multitaskLoss, multitaskSource } from "../../lib/pretext/multitask_source.ts";
import { evaluateSource, fit } from "../../lib/train/loop.ts";
import { type BuiltinLossSpec, lossFromSpec } from "../../lib/train/losses.ts";
import type { EpochRecord } from "../../lib/train/history.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pool: { type: "string", default: "/tmp/yuan-pool-full" },
    "per-epoch": { type: "string", default: "24576" },
    epochs: { type: "string", default: "11" },
    out: { type: "string", default: "/tmp/ts-replace-history.json" },
    workers: { type: "string", default: "auto" },
  },
});
const info = await initBackend();
console.error(`backend ${info.summary}`);
const spec = yuanSpec("long");
const p = spec.pretrain;
async function load(name: string): Promise<Windows> {
  const X = await readNpy(join(values.pool!, `${name}_X.npy`));
  const subject = (await readNpy(join(values.pool!, `${name}_subject.npy`))).data as string[];
  const [n, c, L] = X.shape;
  return {
    x: X.data as Float32Array,
    n,
    channels: c,
    length: L,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject,
    rateHz: 30,
  };
}
const train = await load("train"), val = await load("val"), valStd = await load("valstd");
const perEpoch = Number(values["per-epoch"]);
const steps = Math.ceil(perEpoch / p.batchSize);
const model = buildYuanModel(spec, "mtl");
const stdLoss = lossFromSpec(multitaskLoss() as BuiltinLossSpec);
const rows: (EpochRecord & { step: number })[] = [];
const t0 = performance.now();
await fit(
  model,
  multitaskSource(train, {
    batchSize: p.batchSize,
    windowsPerEpoch: perEpoch,
    weighting: p.weighting,
    sampling: p.sampling,
    replace: true,
    seed: spec.seed,
  }),
  {
    epochs: Number(values.epochs),
    optimizer: { name: "adam", lr: p.lr, amsgrad: p.amsgrad },
    loss: multitaskLoss(),
    validation: multitaskSource(val, { seed: spec.seed, evaluation: true }),
    validate: async (m) => {
      const r = await evaluateSource(
        m,
        multitaskSource(valStd, { seed: spec.seed, evaluation: true }),
        stdLoss,
        { seed: spec.seed },
      );
      return Object.fromEntries(
        Object.entries(r.metrics).map(([k, v]) => [k.replace(/^val\//, "valstd/"), v]),
      );
    },
    seed: spec.seed,
    workers: values.workers === "auto" ? "auto" : Number(values.workers),
    progress: false,
    onEpochEnd: async (r) => {
      rows.push({ ...r, step: r.epoch * steps });
      await Deno.writeTextFile(
        values.out!,
        JSON.stringify(
          {
            tool: "tools/reference/ts_sampling_check.ts",
            pool: values.pool,
            windowsPerEpoch: perEpoch,
            stepsPerEpoch: steps,
            replace: true,
            rows,
          },
          null,
          1,
        ),
      );
      console.log(
        `step ${r.epoch * steps} (${((performance.now() - t0) / 1000).toFixed(0)} s) ` +
          ["aot", "scale", "permute", "time_w"].map((t) =>
            `${t} ${r[`train/${t}/acc`].toFixed(2)}/${r[`val/${t}/acc`].toFixed(2)}/${
              r[`valstd/${t}/acc`].toFixed(2)
            }`
          ).join(" ") + " (train/uniform/std-drawn)",
      );
    },
  },
);
Deno.exit(0);
