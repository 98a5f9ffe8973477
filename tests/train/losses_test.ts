import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  balancedClassWeights,
  type BuiltinLossSpec,
  crossEntropyLoss,
  infoNceLoss,
  isBatchLevelLoss,
  LOSS_KINDS,
  type LossFn,
  lossFromSpec,
  maskedL1Loss,
  maskedL2Loss,
  multiHeadLoss,
  ntXentLoss,
  weightedCrossEntropy,
} from "../../lib/train/losses.ts";
import { ConfigError } from "../../lib/errors.ts";
import { rng } from "../../lib/random.ts";
import { useCpu } from "./_fixtures.ts";

await useCpu();

const LOGITS = [[2, 0, -1], [0.5, 1.5, 0], [0, 0, 3], [1, 1, 1]];
const Y = [0, 1, 2, 1];

function nll(row: number[], y: number): number {
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((a, z) => a + Math.exp(z - mx), 0));
  return lse - row[y];
}

function ce(logits: number[][], y: number[], w?: number[], fromLogits = true): number {
  return tf.tidy(() =>
    weightedCrossEntropy(tf.tensor2d(logits), tf.tensor1d(y, "int32"), w, fromLogits).dataSync()[0]
  );
}

Deno.test("unweighted cross-entropy is the mean NLL", () => {
  const want = LOGITS.reduce((a, r, i) => a + nll(r, Y[i]), 0) / 4;
  assertAlmostEquals(ce(LOGITS, Y), want, 1e-6);
});

Deno.test("weighted cross-entropy divides by the sum of target weights (PyTorch)", () => {
  const w = [1, 2, 0.5];
  const num = LOGITS.reduce((a, r, i) => a + w[Y[i]] * nll(r, Y[i]), 0);
  const den = Y.reduce((a, y) => a + w[y], 0); // 1 + 2 + 0.5 + 2
  assertAlmostEquals(ce(LOGITS, Y, w), num / den, 1e-6);
  // not the plain mean of weighted terms
  const plainMean = num / 4;
  assertEquals(Math.abs(ce(LOGITS, Y, w) - plainMean) > 1e-3, true);
});

Deno.test("targets < 0 are ignored; probabilities input supported", () => {
  const want = (nll(LOGITS[0], 0) + nll(LOGITS[2], 2)) / 2;
  assertAlmostEquals(ce(LOGITS, [0, -1, 2, -1]), want, 1e-6);
  const probs = LOGITS.map((r) => {
    const e = r.map(Math.exp), s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  });
  assertAlmostEquals(ce(probs, Y, undefined, false), ce(LOGITS, Y), 1e-5);
  assertThrows(() => ce(LOGITS, Y, [1, 2]), ConfigError, "3 classes");
});

Deno.test("balanced class weights follow sklearn compute_class_weight", () => {
  // sklearn: compute_class_weight('balanced', classes=[0,1,2], y=[0,0,0,0,1,1,2,2]) -> [0.6667, 1.3333, 1.3333]
  const w = balancedClassWeights([0, 0, 0, 0, 1, 1, 2, 2], 3);
  assertAlmostEquals(w[0], 8 / 12, 1e-6);
  assertAlmostEquals(w[1], 8 / 6, 1e-6);
  assertAlmostEquals(w[2], 8 / 6, 1e-6);
  // absent class -> 0, unlabelled ignored, n_classes = classes present
  const w2 = balancedClassWeights([0, 0, 2, -1], 3);
  assertEquals(Array.from(w2), [3 / 4, 0, 3 / 2]);
  assertThrows(() => balancedClassWeights([5], 3), ConfigError, "numClasses");
});

// ---------------------------------------------------------------------------
// Reference numbers for the general losses below were produced with PyTorch
// 1.13 (Debian python3-torch), float64, on the literal inputs of this file:
//
//   import torch, torch.nn.functional as F
//   L = torch.tensor(LOGITS, dtype=torch.float64); w = torch.tensor([1, 2, 0.5], dtype=torch.float64)
//   y = torch.tensor([0, 1, 2, 1]); yi = torch.tensor([0, -1, 2, 1])
//   F.cross_entropy(L, y, label_smoothing=0.1)                                   # 0.5694375121883254
//   F.cross_entropy(L, y, weight=w, label_smoothing=0.1)                         # 0.6843357911530071
//   F.cross_entropy(L, yi, ignore_index=-1, label_smoothing=0.2)                 # 0.6989048659928965
//   F.cross_entropy(L, yi, weight=w, ignore_index=-1, label_smoothing=0.2)       # 0.9189756062379919
//   F.cross_entropy(X3.permute(0, 2, 1), Y3, ignore_index=-1)                    # 0.8219976664080649
//
//   def sample_red(e, m):   # SelfPAB maskedL1 reduction
//       s = m.sum((1, 2)); s = torch.where(s == 0, torch.ones_like(s), s)
//       return ((m * e).sum((1, 2)) / s).mean()
//   sample_red((P-T).abs(), M), ((M*(P-T).abs()).sum() / M.sum())              # 0.8541666666666667, 0.85
//   sample_red((P-T)**2, M),    ((M*(P-T)**2).sum() / M.sum())                 # 0.953125, 0.9125
//   mf = MF[:, :, None].expand_as(P)
//   sample_red((P-T).abs(), mf), sample_red((P-T)**2, mf)                      # 0.9375, 1.28125
//   F.l1_loss(P, T), F.mse_loss(P, T)                                           # 0.8541666666666666, 1.0052083333333333
//   M0 = M.clone(); M0[1] = 0; sample_red((P-T).abs(), M0)                      # 0.4166666666666667
//
//   def ntxent(a, b, tau):  # SimCLR NT-Xent, mean over 2N anchors
//       n = a.shape[0]; z = F.normalize(torch.cat([a, b]), dim=1)
//       sim = (z @ z.T / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
//       partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
//       return F.cross_entropy(sim, partner), (sim.argmax(1) == partner).double().mean()
//   ntxent(A, B, 0.5), ntxent(A, B, 0.1)                 # (1.1135741180398937, 0.625), (0.7577544108052052, 0.625)
//   def tang(a, b, tau):    # Tang et al. NT_Xent_loss: sum of the two views' mean CEs
//       a = F.normalize(a, dim=1); b = F.normalize(b, dim=1); n = a.shape[0]; I = torch.eye(n, dtype=a.dtype)
//       ab = a @ b.T / tau; aa = a @ a.T / tau - 1e9 * I; ba = b @ a.T / tau; bb = b @ b.T / tau - 1e9 * I
//       lab = torch.arange(n)
//       return F.cross_entropy(torch.cat([ab, aa], 1), lab) + F.cross_entropy(torch.cat([ba, bb], 1), lab)
//   tang(A, B, 0.5)                                                             # 2.227148236079787
//
//   nce = 0.; correct = 0   # harkash CPC compute_cpc_loss, B = 3, K = 2
//   for k in range(2):
//       total = Z[:, k] @ PR[:, k].T
//       correct += (F.softmax(total, 1).argmax(0) == torch.arange(3)).sum()
//       nce += F.log_softmax(total, 1).diag().sum()
//   -nce / 6, correct / 6                                                       # 0.7283918410906579, 0.8333333333333334

const X3 = [[[1, 0, 0.5], [0.2, 0.3, -1]], [[0, 2, 1], [-0.5, 0.5, 0]]]; // [batch 2, frames 2, classes 3]
const Y3 = [[2, 0], [1, -1]];
const P = [[[0.5, -1], [2, 0], [1, 1]], [[0, 0.25], [-1, 3], [0.5, 0.5]]]; // [2, 3, 2]
const T = [[[0, 0], [1, 1], [1, -1]], [[0.5, 0], [0, 2], [2, 0]]];
const M = [[[1, 0], [1, 1], [0, 0]], [[0, 1], [0, 0], [1, 0]]]; // 3 and 2 masked elements
const MF = [[1, 0, 1], [0, 0, 1]]; // [batch, frames] mask
const A = [[1, 0.2, -0.3], [0.1, 1, 0.4], [-0.5, 0.3, 1], [0.7, -0.7, 0.2]];
const B = [[0.9, 0.1, -0.1], [0.3, 0.8, 0.2], [0.2, -0.4, 0.9], [0.6, -0.2, -0.5]];
const PR = [
  [[0.5, -0.2, 0.1, 0.3], [1, 0, -0.5, 0.2]],
  [[-0.3, 0.8, 0.2, 0], [0.1, 0.4, 0.6, -0.2]],
  [[0.2, 0.2, -0.7, 0.5], [-0.6, 0.3, 0.1, 0.9]],
]; // predictions [B 3, K 2, D 4]
const Z = [
  [[0.4, -0.1, 0.3, 0.2], [0.8, 0.1, -0.2, 0.1]],
  [[-0.2, 0.9, 0.1, -0.1], [0.3, 0.2, 0.7, 0.1]],
  [[0.5, -0.2, 0.2, 0.3], [-0.5, 0.4, 0.3, 0.6]],
]; // encoded future [B 3, K 2, D 4]

/** Run a loss on literal tensors; returns its value and what it reported. */
function run(
  loss: LossFn,
  targets: tf.Tensor[],
  outputs: tf.Tensor[],
): { value: number; metrics: Record<string, number> } {
  const metrics: Record<string, number> = {};
  const value = tf.tidy(() =>
    loss(targets, outputs, {
      report: (name, v) => (metrics[name] = typeof v === "number" ? v : v.dataSync()[0]),
    }).dataSync()[0]
  );
  return { value, metrics };
}

const t1i = (v: number[]) => tf.tensor1d(v, "int32");
const tt = (v: unknown) => tf.tensor(v as number[]);

Deno.test("crossEntropyLoss matches PyTorch CrossEntropyLoss (smoothing, weights, ignore, frames)", () => {
  const L = tf.tensor2d(LOGITS), w = [1, 2, 0.5];
  const near = (loss: LossFn, y: number[], want: number) =>
    assertAlmostEquals(run(loss, [t1i(y)], [L]).value, want, 1e-5);
  near(crossEntropyLoss({ labelSmoothing: 0.1 }), Y, 0.5694375121883254);
  near(crossEntropyLoss({ classWeights: w, labelSmoothing: 0.1 }), Y, 0.6843357911530071);
  near(crossEntropyLoss({ labelSmoothing: 0.2 }), [0, -1, 2, 1], 0.6989048659928965);
  near(
    crossEntropyLoss({ classWeights: w, labelSmoothing: 0.2 }),
    [0, -1, 2, 1],
    0.9189756062379919,
  );
  // no smoothing: exactly weightedCrossEntropy
  near(crossEntropyLoss({ classWeights: w }), Y, ce(LOGITS, Y, w));
  // per-frame labels, classes last, padding -1 ignored
  const frames = run(crossEntropyLoss(), [tf.tensor2d(Y3, undefined, "int32")], [tt(X3)]);
  assertAlmostEquals(frames.value, 0.8219976664080649, 1e-5);
  // probabilities input
  const probs = tf.softmax(L);
  assertAlmostEquals(
    run(crossEntropyLoss({ fromLogits: false, labelSmoothing: 0.1 }), [t1i(Y)], [probs]).value,
    0.5694375121883254,
    1e-5,
  );
  L.dispose();
  probs.dispose();
});

Deno.test("crossEntropyLoss reports accuracy over labelled samples and picks its indices", () => {
  // arg-max per row: 0, 1, 2, 0 (ties -> first) vs labels 0, 1, 2, 1 -> 3/4; with row 3 unlabelled 3/3
  assertEquals(run(crossEntropyLoss(), [t1i(Y)], [tf.tensor2d(LOGITS)]).metrics, {
    accuracy: 0.75,
  });
  assertEquals(run(crossEntropyLoss(), [t1i([0, 1, 2, -1])], [tf.tensor2d(LOGITS)]).metrics, {
    accuracy: 1,
  });
  const other = run(crossEntropyLoss({ output: 1, target: 1 }), [t1i([9]), t1i(Y)], [
    tf.zeros([1, 1]),
    tf.tensor2d(LOGITS),
  ]);
  assertAlmostEquals(other.value, ce(LOGITS, Y), 1e-6);
  // nothing reported without a reporter, and all-unlabelled gives 0
  const none = tf.tidy(() =>
    crossEntropyLoss({ labelSmoothing: 0.1 })([t1i([-1, -1, -1, -1])], [tf.tensor2d(LOGITS)])
      .dataSync()[0]
  );
  assert(none === 0, `all-unlabelled gives 0, got ${none}`);
  assertThrows(() => crossEntropyLoss({ labelSmoothing: 1.5 }), ConfigError, "labelSmoothing");
  assertThrows(
    () => crossEntropyLoss({ smoothing: 0.1 } as never),
    ConfigError,
    'unknown argument "smoothing"',
  );
  assertThrows(
    () => run(crossEntropyLoss(), [], [tf.tensor2d(LOGITS)]),
    ConfigError,
    "targets[0] missing",
  );
  assertThrows(
    () => run(crossEntropyLoss(), [t1i([0, 1])], [tf.tensor2d(LOGITS)]),
    ConfigError,
    "does not match",
  );
  assertThrows(
    () => run(crossEntropyLoss({ classWeights: [1, 2] }), [t1i(Y)], [tf.tensor2d(LOGITS)]),
    ConfigError,
    "2 weights for 3 classes",
  );
});

Deno.test("masked L1 / L2 match the SelfPAB reduction (per sample, then batch mean)", () => {
  const p = tt(P), y = tt(T), m = tt(M), mf = tf.tensor2d(MF);
  const v = (loss: LossFn, ts: tf.Tensor[]) => run(loss, ts, [p]).value;
  assertAlmostEquals(v(maskedL1Loss(), [y, m]), 0.8541666666666667, 1e-6);
  assertAlmostEquals(v(maskedL2Loss(), [y, m]), 0.953125, 1e-6);
  assertAlmostEquals(v(maskedL1Loss({ reduction: "element" }), [y, m]), 0.85, 1e-6);
  assertAlmostEquals(v(maskedL2Loss({ reduction: "element" }), [y, m]), 0.9125, 1e-6);
  // [batch, frames] mask: a masked frame counts all its features
  assertAlmostEquals(v(maskedL1Loss(), [y, mf]), 0.9375, 1e-6);
  assertAlmostEquals(v(maskedL2Loss(), [y, mf]), 1.28125, 1e-6);
  // no mask: nn.L1Loss / nn.MSELoss
  assertAlmostEquals(v(maskedL1Loss(), [y]), 0.8541666666666666, 1e-6);
  assertAlmostEquals(v(maskedL2Loss(), [y]), 1.0052083333333333, 1e-6);
  // a sample with an empty mask counts 0 (0/1), as SelfPAB
  const m0 = tt([M[0], [[0, 0], [0, 0], [0, 0]]]);
  assertAlmostEquals(v(maskedL1Loss(), [y, m0]), 0.4166666666666667, 1e-6);
  // a flat decoder output [batch, 6] against a [batch, 3, 2] target
  assertAlmostEquals(
    run(maskedL1Loss(), [y, m], [p.reshape([2, 6])]).value,
    0.8541666666666667,
    1e-6,
  );
  // indices
  assertAlmostEquals(
    run(maskedL1Loss({ output: 1, target: 1, mask: 0 }), [m, y], [tf.zeros([1]), p]).value,
    0.8541666666666667,
    1e-6,
  );
  assertThrows(() => v(maskedL1Loss(), [tf.zeros([2, 2, 3])]), ConfigError, "does not match");
  assertThrows(() => v(maskedL1Loss(), [y, tf.ones([2, 2])]), ConfigError, "not broadcastable");
  assertThrows(() => maskedL2Loss({ reduction: "sum" as never }), ConfigError, "reduction");
});

// SelfPAB parity on [batch 3, frames 7, features 5] (spec §2.2): the numpy reference
// /work/shared/specs/selfpab_reference.py `masked_l1(pred, target, mask)`, run by hand with
//   i = np.arange(105.); pred = sin(0.37*i + 0.1); target = 2*cos(0.23*i)  (reshaped [3, 7, 5])
//   mask = ((i*7) % 5 < 2); mask[2] = 0                       -> 0.8180870952122357
//   then mask[2, 3, :] = 1 (sample 2: one frame, 5 elements)   -> 1.0730857786411538
Deno.test("maskedL1Loss equals the SelfPAB reference masked_l1 (empty sample 0/1, batch mean)", () => {
  const n = 3 * 7 * 5;
  const pred = new Float32Array(n), target = new Float32Array(n), mask = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    pred[i] = Math.sin(0.37 * i + 0.1);
    target[i] = 2 * Math.cos(0.23 * i);
    mask[i] = i < 70 && (i * 7) % 5 < 2 ? 1 : 0;
  }
  const shape = [3, 7, 5];
  const value = () =>
    run(maskedL1Loss(), [tf.tensor(target, shape), tf.tensor(mask, shape)], [
      tf.tensor(pred, shape),
    ]).value;
  assertAlmostEquals(value(), 0.8180870952122357, 1e-6);
  mask.fill(1, 70 + 3 * 5, 70 + 4 * 5);
  assertAlmostEquals(value(), 1.0730857786411538, 1e-6);
});

Deno.test("masked losses: an all-zero mask gives 0 (not NaN) with finite zero gradients", () => {
  for (const reduction of ["sample", "element"] as const) {
    for (const make of [maskedL1Loss, maskedL2Loss]) {
      const loss = make({ reduction });
      const y = tt(T), zero = tf.zerosLike(y);
      const [value, grad] = tf.tidy(() => {
        const g = tf.valueAndGrad((o: tf.Tensor) => loss([y, zero], [o]));
        const { value, grad } = g(tt(P));
        return [value.dataSync()[0], Array.from(grad.dataSync())];
      });
      assertEquals(value, 0);
      assert(grad.every((x) => x === 0), `${reduction}: zero gradients`);
    }
  }
});

Deno.test("ntXentLoss matches SimCLR NT-Xent (PyTorch) and Tang's sum of views", () => {
  const a = tf.tensor2d(A), b = tf.tensor2d(B);
  const r5 = run(ntXentLoss({ temperature: 0.5 }), [], [a, b]);
  assertAlmostEquals(r5.value, 1.1135741180398937, 1e-5);
  assertEquals(r5.metrics, { accuracy: 0.625 });
  assertAlmostEquals(
    run(ntXentLoss({ temperature: 0.1 }), [], [a, b]).value,
    0.7577544108052052,
    1e-5,
  );
  assertAlmostEquals(
    run(ntXentLoss({ temperature: 0.5, reduction: "sum-of-views" }), [], [a, b]).value,
    2.227148236079787,
    1e-5,
  );
  // one stacked [2N, dim] output is the same loss
  assertAlmostEquals(
    run(ntXentLoss({ temperature: 0.5, stacked: true }), [], [tf.concat([a, b])]).value,
    1.1135741180398937,
    1e-5,
  );
  // views picked by index; scaling a projection does not change a cosine loss
  assertAlmostEquals(
    run(ntXentLoss({ temperature: 0.5, outputs: [2, 0] }), [], [b, tf.zeros([1]), a.mul(3)]).value,
    1.1135741180398937,
    1e-5,
  );
  assertThrows(() => ntXentLoss({ temperature: 0 }), ConfigError, "temperature");
  assertThrows(() => ntXentLoss(undefined as never), ConfigError, "temperature");
  assertThrows(() => ntXentLoss({ temperature: 1, outputs: [0] }), ConfigError, "2 indices");
  assertThrows(
    () => run(ntXentLoss({ temperature: 1 }), [], [a]),
    ConfigError,
    "outputs[1] missing",
  );
  assertThrows(
    () => run(ntXentLoss({ temperature: 1 }), [], [a, tf.zeros([3, 3])]),
    ConfigError,
    "[batch, dim]",
  );
  assertThrows(
    () => run(ntXentLoss({ temperature: 1, stacked: true }), [], [tf.zeros([3, 3])]),
    ConfigError,
    "stacked",
  );
});

Deno.test("infoNceLoss matches the CPC reference loss and accuracy", () => {
  const pr = tt(PR), z = tt(Z);
  const r = run(infoNceLoss(), [], [pr, z]);
  assertAlmostEquals(r.value, 0.7283918410906579, 1e-5);
  assertAlmostEquals(r.metrics.accuracy, 5 / 6, 1e-6);
  // rank 2 = one step: the mean over steps is the mean of the per-step losses
  const step = (k: number) =>
    run(infoNceLoss(), [], [
      pr.slice([0, k, 0], [3, 1, 4]).squeeze([1]),
      z.slice([0, k, 0], [3, 1, 4]).squeeze([1]),
    ])
      .value;
  assertAlmostEquals((step(0) + step(1)) / 2, 0.7283918410906579, 1e-5);
  // temperature divides the logits; indices pick the outputs
  assertAlmostEquals(
    run(infoNceLoss({ temperature: 2, prediction: 1, encoded: 0 }), [], [z, pr]).value,
    run(infoNceLoss(), [], [pr.div(2), z]).value,
    1e-6,
  );
  assertThrows(
    () => run(infoNceLoss(), [], [pr, z.slice([0, 0, 0], [3, 1, 4])]),
    ConfigError,
    "[batch, steps, dim]",
  );
  assertThrows(() => infoNceLoss({ temperature: -1 }), ConfigError, "temperature");
});

/** Yuan et al.'s old mtlLoss, reimplemented with loops: mean over heads of the mean binary softmax NLL. */
function oldMtlLoss(logits: number[][][], labels: number[][]): number {
  let total = 0;
  logits.forEach((head, k) => {
    total += head.reduce((a, row, i) => a + nll(row, labels[k][i]), 0) / head.length;
  });
  return total / logits.length;
}

const TASKS = ["aot", "scale", "permute", "time_w"]; // lib/pretext/multitask.ts PRETEXT_TASKS

/** The multi-task loss as a multi-head spec: head k on output k, labels of task k, weight 1/4. */
const MTL_SPEC: BuiltinLossSpec = {
  kind: "multi-head",
  args: {
    heads: TASKS.map((name, k) => ({
      name,
      loss: { kind: "cross-entropy" },
      weight: 1 / TASKS.length,
      output: k,
      targets: [k],
    })),
  },
};

Deno.test("Yuan's multi-task loss is a multi-head spec equal to the old mtlLoss", () => {
  const r = rng(7);
  for (const n of [1, 5, 32]) {
    const logits = TASKS.map(() =>
      Array.from({ length: n }, () => [3 * r.normal(), 3 * r.normal()])
    );
    const labels = TASKS.map(() => Array.from({ length: n }, () => r.int(2)));
    const got = run(
      lossFromSpec(JSON.parse(JSON.stringify(MTL_SPEC))),
      labels.map(t1i),
      logits.map((l) => tf.tensor2d(l)),
    );
    assertAlmostEquals(got.value, oldMtlLoss(logits, labels), 1e-5);
    assertEquals(
      Object.keys(got.metrics).sort(),
      TASKS.flatMap((t) => [`${t}/acc`, `${t}/loss`]).sort(),
    );
    TASKS.forEach((t, k) => {
      const acc = logits[k].filter((row, i) => (row[1] > row[0] ? 1 : 0) === labels[k][i]).length /
        n;
      assertAlmostEquals(got.metrics[`${t}/acc`], acc, 1e-6);
      assertAlmostEquals(got.metrics[`${t}/loss`], oldMtlLoss([logits[k]], [labels[k]]), 1e-5);
    });
  }
});

Deno.test("multiHeadLoss: weighted sum, head selection, function heads, prefixed reports, errors", () => {
  const p = tt(P),
    y = tt(T),
    m = tt(M),
    L = tf.tensor2d(LOGITS),
    a = tf.tensor2d(A),
    b = tf.tensor2d(B);
  const loss = multiHeadLoss({
    heads: [
      { name: "cls", loss: { kind: "cross-entropy" }, weight: 2, output: 1, targets: [2] },
      { name: "rec", loss: { kind: "masked-l1" }, weight: 0.5, output: 0, targets: [0, 1] },
      {
        name: "con",
        loss: { kind: "nt-xent", args: { temperature: 0.5 } },
        output: [2, 3],
        targets: [],
      },
      { name: "fn", loss: (_t, [o]) => o.sum() as tf.Scalar, weight: 0, output: 2, targets: [] },
    ],
  });
  const got = run(loss, [y, m, t1i(Y)], [p, L, a, b]);
  const want = 2 * ce(LOGITS, Y) + 0.5 * 0.8541666666666667 + 1.1135741180398937;
  assertAlmostEquals(got.value, want, 1e-5);
  assertAlmostEquals(got.metrics["cls/loss"], ce(LOGITS, Y), 1e-6);
  assertAlmostEquals(got.metrics["rec/loss"], 0.8541666666666667, 1e-6);
  assertEquals(got.metrics["cls/acc"], 0.75);
  assertEquals(got.metrics["con/acc"], 0.625);
  assertAlmostEquals(got.metrics["fn/loss"], A.flat().reduce((s, x) => s + x, 0), 1e-5);
  assertEquals(Object.keys(got.metrics).length, 6);
  assertThrows(() => multiHeadLoss({ heads: [] }), ConfigError, "non-empty");
  const head = { name: "h", loss: { kind: "cross-entropy" } as const, output: 0, targets: [0] };
  assertThrows(() => multiHeadLoss({ heads: [head, head] }), ConfigError, "used twice");
  assertThrows(() => multiHeadLoss({ heads: [{ ...head, weight: -1 }] }), ConfigError, "weight");
  assertThrows(() => multiHeadLoss({ heads: [{ ...head, output: -1 }] }), ConfigError, "output[0]");
  assertThrows(
    () => multiHeadLoss({ heads: [{ ...head, loss: { kind: "nope" } as never }] }),
    ConfigError,
    'unknown loss kind "nope"',
  );
  assertThrows(
    () => run(multiHeadLoss({ heads: [{ ...head, targets: [3] }] }), [y], [L]),
    ConfigError,
    'head "h"',
  );
});

/** One instance of every kind, with matching targets and outputs. */
function everyKind(): { spec: BuiltinLossSpec; targets: tf.Tensor[]; outputs: tf.Tensor[] }[] {
  return [
    {
      spec: { kind: "cross-entropy", args: { classWeights: [1, 2, 0.5], labelSmoothing: 0.1 } },
      targets: [t1i(Y)],
      outputs: [tf.tensor2d(LOGITS)],
    },
    { spec: { kind: "masked-l1" }, targets: [tt(T), tt(M)], outputs: [tt(P)] },
    {
      spec: { kind: "masked-l2", args: { reduction: "element" } },
      targets: [tt(T), tf.tensor2d(MF)],
      outputs: [tt(P)],
    },
    {
      spec: { kind: "nt-xent", args: { temperature: 0.1 } },
      targets: [],
      outputs: [tf.tensor2d(A), tf.tensor2d(B)],
    },
    { spec: { kind: "info-nce" }, targets: [], outputs: [tt(PR), tt(Z)] },
    {
      spec: MTL_SPEC,
      targets: TASKS.map((_, k) => t1i(Y.map((c) => (c + k) % 2))),
      outputs: TASKS.map((_, k) => tf.tensor2d(LOGITS.map((r) => [r[0], r[k % 3]]))),
    },
  ];
}

Deno.test("lossFromSpec builds every kind and round-trips through JSON", () => {
  const cases = everyKind();
  assertEquals(cases.map((c) => c.spec.kind).sort(), [...LOSS_KINDS].sort());
  for (const c of cases) {
    const direct = run(lossFromSpec(c.spec), c.targets, c.outputs);
    const viaJson = run(lossFromSpec(JSON.parse(JSON.stringify(c.spec))), c.targets, c.outputs);
    assert(Number.isFinite(direct.value), `${c.spec.kind}: finite`);
    assertEquals(viaJson, direct, `${c.spec.kind}: same value and metrics after JSON`);
  }
  assertThrows(() => lossFromSpec({ kind: "l3" } as never), ConfigError, "known: cross-entropy");
  assertThrows(() => lossFromSpec({ kind: "nt-xent" } as never), ConfigError, "temperature");
  assertThrows(
    () => lossFromSpec({ kind: "masked-l1", arg: {} } as never),
    ConfigError,
    'unknown argument "arg"',
  );
});

Deno.test("every loss has finite gradients with respect to the outputs", () => {
  for (const c of everyKind()) {
    const loss = lossFromSpec(c.spec);
    const grads = tf.tidy(() =>
      tf.grads((...outs: tf.Tensor[]) => loss(c.targets, outs))(c.outputs).map((g) =>
        Array.from(g.dataSync())
      )
    );
    assertEquals(grads.length, c.outputs.length);
    for (const g of grads) assert(g.every(Number.isFinite), `${c.spec.kind}: finite gradients`);
    assert(grads.some((g) => g.some((x) => x !== 0)), `${c.spec.kind}: some gradient is non-zero`);
  }
});

Deno.test("every loss is invariant to the order of the batch", () => {
  for (const c of everyKind()) {
    const n = c.outputs[0].shape[0];
    const order = Array.from({ length: n }, (_, k) => (2 * n - 1 - k) % n); // reversed, rotated
    assert(order.some((v, k) => v !== k) && new Set(order).size === n, "a real permutation");
    const perm = t1i(order);
    const loss = lossFromSpec(c.spec);
    const shuffle = (ts: tf.Tensor[]) => ts.map((t) => tf.gather(t, perm));
    const base = run(loss, c.targets, c.outputs);
    const moved = run(loss, shuffle(c.targets), shuffle(c.outputs));
    assertAlmostEquals(moved.value, base.value, 1e-5, `${c.spec.kind}: loss`);
    for (const [k, v] of Object.entries(base.metrics)) {
      assertAlmostEquals(moved.metrics[k], v, 1e-6, `${c.spec.kind}: ${k}`);
    }
  }
});

Deno.test("isBatchLevelLoss: NT-Xent and InfoNCE, also as a multi-head head; per-sample losses, functions and modules not", () => {
  assertEquals(isBatchLevelLoss({ kind: "nt-xent", args: { temperature: 0.1 } }), true);
  assertEquals(isBatchLevelLoss({ kind: "info-nce" }), true);
  const head = (loss: unknown) => ({
    kind: "multi-head",
    args: { heads: [{ name: "a", loss: { kind: "cross-entropy" } }, { name: "b", loss }] },
  });
  assertEquals(isBatchLevelLoss(head({ kind: "nt-xent", args: { temperature: 1 } })), true);
  assertEquals(isBatchLevelLoss(head({ kind: "masked-l2" })), false);
  assertEquals(isBatchLevelLoss({ kind: "cross-entropy" }), false);
  assertEquals(isBatchLevelLoss({ module: "file:///x.ts", export: "f", args: {} }), false);
  assertEquals(isBatchLevelLoss(() => tf.scalar(0)), false);
  assertEquals(isBatchLevelLoss(undefined), false);
});
