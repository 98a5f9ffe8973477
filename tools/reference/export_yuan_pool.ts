/**
 * By-hand reference tool (not used by the library or the tests): export the
 * exact pre-training pool of the Yuan et al. experiment, built by the same
 * code the `long` run uses (`loadPretrainWindows` → `poolFraction` →
 * `splitPool` → `stdDrawn`, lib/experiments/yuan/run.ts), as `.npy` files
 * for the PyTorch side-by-side `tools/reference/yuan_mtl_torch.py`.
 *
 * Written to `--out` (default /tmp/yuan-pool):
 *
 * - `train_X.npy` float32 `[N, 3, 300]`, `train_subject.npy`, `train_source.npy` (`<U…`)
 * - `val_X.npy`, `val_subject.npy`, `val_source.npy`: the uniform held-out windows
 * - `valstd_X.npy`, `valstd_subject.npy`, `valstd_source.npy`: the std-drawn held-out windows
 * - `info.json`: spec, per-source counts, still fractions, options
 *
 * Prints per source: training windows, share of windows, share of the
 * std-weighted sampling mass (p ∝ magnitude std, `samplingWeights`), the
 * share of one epoch's draws as the run actually draws them
 * (`weightedSampler` with `windowsPerEpoch` draws, without replacement when
 * that is ≤ the pool, as `multitaskSource` does), mean std and still fraction.
 *
 * `--exclude daphnet,axivity-sample` (alias `cwa` for `axivity-sample`)
 * drops sources from the spec's list before the pool is built (so the split
 * and the std draw are those a run with that source list would make).
 *
 * ```sh
 * HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \
 *   --scale long --out /tmp/yuan-pool-full
 * HAR_DATA_DIR=/work/shared/datasets deno run -A tools/reference/export_yuan_pool.ts \
 *   --scale long --exclude daphnet,cwa --out /tmp/yuan-pool-issue
 * ```
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { writeNpy } from "../../lib/data/npy.ts";
import { loadPretrainWindows } from "../../lib/experiments/yuan/pretrain_data.ts";
import {
  pretrainHeldOut,
  pretrainPoolOptions,
  stillFraction,
} from "../../lib/experiments/yuan/run.ts";
import { type PretrainSource, type YuanScale, yuanSpec } from "../../lib/experiments/yuan/spec.ts";
import type { Windows } from "../../lib/data/types.ts";
import { samplingWeights, weightedSampler, windowStd } from "../../lib/signal/sampling.ts";
import { mixSeed } from "../../lib/train/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scale: { type: "string", default: "long" },
    out: { type: "string", default: "/tmp/yuan-pool" },
    exclude: { type: "string", default: "" },
    seed: { type: "string" },
    cache: { type: "string", default: "/tmp/yuan-pool-cache" },
  },
});

const alias: Record<string, PretrainSource> = { cwa: "axivity-sample" };
const exclude = new Set(
  (values.exclude ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((s) => alias[s] ?? s),
);
const base = yuanSpec(values.scale as YuanScale);
const spec = yuanSpec(values.scale as YuanScale, {
  ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
  pretrain: { sources: base.pretrain.sources.filter((s) => !exclude.has(s)) },
});
const out = values.out!;
await Deno.mkdir(out, { recursive: true });
const log = (m: string) => console.error(m);

const pool = await loadPretrainWindows(pretrainPoolOptions(spec, { cacheDir: values.cache, log }));
// exactly as run.ts
const { valStd, ...poolSplit } = pretrainHeldOut(spec, pool.windows);

async function dump(name: string, w: Windows) {
  // selectWindows keeps no `source`; subjects are `<source>:<subject>` (pretrain_data.ts)
  await writeNpy(join(out, `${name}_X.npy`), w.x, [w.n, w.channels, w.length]);
  await writeNpy(join(out, `${name}_subject.npy`), w.subject, [w.n]);
  await writeNpy(
    join(out, `${name}_source.npy`),
    w.source ?? w.subject.map((s) => s.split(":")[0]),
    [w.n],
  );
  log(`${name}: ${w.n} windows`);
}
await dump("train", poolSplit.train);
await dump("val", poolSplit.val);
if (valStd) await dump("valstd", valStd);

// ---- per-source sampling mass (training windows, as multitaskSource draws them)
const tr = poolSplit.train;
const src = tr.source ?? tr.subject.map((s) => s.split(":")[0]);
const p = samplingWeights(tr, { weighting: "std" });
const sd = windowStd(tr);
const perEpoch = spec.pretrain.windowsPerEpoch ?? tr.n;
const replace = perEpoch > tr.n;
const [epochDraw] = [
  ...weightedSampler(tr, {
    seed: mixSeed(spec.seed, 0, 1),
    weighting: "std",
    batchSize: perEpoch,
    numSamples: perEpoch,
    replace,
  }),
];
const names = [...new Set(src)];
const mass: Record<string, unknown> = {};
const drawn = new Float64Array(tr.n);
for (const i of epochDraw) drawn[i]++;
console.log(
  `training windows ${tr.n}; one epoch = ${perEpoch} draws ${
    replace ? "WITH" : "WITHOUT"
  } replacement`,
);
console.log("source            windows  win%   std-mass%  epoch-draw%  mean-std(g)  still%");
for (const name of names) {
  let n = 0, m = 0, d = 0, s = 0, still = 0;
  for (let i = 0; i < tr.n; i++) {
    if (src[i] !== name) continue;
    n++;
    m += p[i];
    d += drawn[i];
    s += sd[i];
    if (sd[i] < 0.02) still++;
  }
  mass[name] = {
    windows: n,
    windowShare: n / tr.n,
    stdMassShare: m,
    epochDrawShare: d / perEpoch,
    meanStd: s / n,
    stillFraction: still / n,
  };
  console.log(
    `${name.padEnd(16)} ${String(n).padStart(8)} ${(100 * n / tr.n).toFixed(1).padStart(5)} ${
      (100 * m).toFixed(1).padStart(10)
    } ${(100 * d / perEpoch).toFixed(1).padStart(12)} ${(s / n).toFixed(3).padStart(12)} ${
      (100 * still / n).toFixed(1).padStart(7)
    }`,
  );
}
let distinct = 0;
for (const v of drawn) if (v > 0) distinct++;
console.log(`one epoch draws ${distinct} distinct windows of ${tr.n}`);

const info = {
  scale: spec.scale,
  seed: spec.seed,
  sources: spec.pretrain.sources,
  excluded: [...exclude],
  pool: pool.windows.n,
  perSource: pool.perSource,
  train: poolSplit.train.n,
  val: poolSplit.val.n,
  valStd: valStd?.n ?? 0,
  stillFraction: {
    val: stillFraction(poolSplit.val),
    valStd: valStd ? stillFraction(valStd) : null,
  },
  pretrain: spec.pretrain,
  model: spec.model,
  sampling: { perEpoch, replace, distinctPerEpoch: distinct, perSource: mass },
};
await Deno.writeTextFile(join(out, "info.json"), JSON.stringify(info, null, 1));
console.log(JSON.stringify(info.stillFraction), info.pool, info.train, info.val, info.valStd);
