/**
 * Gradient checks: our wasm kernels (on the wasm matmul and, when OpenBLAS
 * loads, on BLAS) against the pure-JS cpu backend, to 1e-4 relative, on
 * small shapes. A tfjs upgrade that changes a kernel contract fails here.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { engines, relErr, seeded, useEngine, valueAndGrads } from "./_grad_util.ts";
import { uninstallWasmKernels } from "../../lib/backend/install.ts";

const TOL = 1e-4;

type Fn = (...xs: tf.Tensor[]) => tf.Scalar;

/** Check value and all input gradients of `f` on every engine against cpu. */
async function check(label: string, f: Fn, shapes: number[][], seed = 1): Promise<void> {
  const inputs = shapes.map((shape, i) => ({
    shape,
    values: seeded(shape.reduce((a, b) => a * b, 1), seed * 100 + i),
  }));
  await useEngine("cpu");
  const ref = valueAndGrads(f, inputs);
  assert(Number.isFinite(ref.value), `${label}: cpu value not finite`);
  for (const e of engines()) {
    await useEngine(e);
    const got = valueAndGrads(f, inputs);
    const ve = Math.abs(got.value - ref.value) / Math.max(1e-6, Math.abs(ref.value));
    assert(ve <= TOL, `${label} [${e}]: value ${got.value} vs cpu ${ref.value} (rel ${ve})`);
    got.grads.forEach((g, i) => {
      const err = relErr(g, ref.grads[i]);
      assert(err <= TOL, `${label} [${e}]: grad of input ${i} rel err ${err}`);
    });
  }
}

/** Check the forward output of `f` on every engine against cpu. */
async function checkForward(
  label: string,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
): Promise<void> {
  const run = () =>
    tf.tidy(() => {
      const xs = shapes.map((s, i) => tf.tensor(seeded(s.reduce((a, b) => a * b, 1), 7 + i), s));
      const y = f(...xs);
      return { shape: y.shape, values: y.dataSync() };
    });
  await useEngine("cpu");
  const ref = run();
  for (const e of engines()) {
    await useEngine(e);
    const got = run();
    assertEquals(got.shape, ref.shape, `${label} [${e}] shape`);
    const err = relErr(got.values, ref.values);
    assert(err <= TOL, `${label} [${e}]: rel err ${err}`);
  }
}

// weights the loss with a fixed pattern so every gradient entry differs
const wsum = (y: tf.Tensor) =>
  y.mul(tf.sin(tf.range(0, y.size).reshape(y.shape))).sum() as tf.Scalar;

Deno.test("conv1d gradients: stride 1/2, same/valid, circular padding", async () => {
  for (const stride of [1, 2]) {
    for (const pad of ["same", "valid"] as const) {
      await check(
        `conv1d s${stride} ${pad}`,
        (x, w) => wsum(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, stride, pad)),
        [[3, 21, 4], [5, 4, 6]],
      );
    }
  }
  // circular: wrap 2 samples on each side, then a valid conv
  await check(
    "conv1d circular",
    (x, w) => {
      const x3 = x as tf.Tensor3D;
      const L = x3.shape[1];
      const padded = tf.concat([
        x3.slice([0, L - 2, 0], [-1, 2, -1]),
        x3,
        x3.slice([0, 0, 0], [-1, 2, -1]),
      ], 1);
      return wsum(tf.conv1d(padded as tf.Tensor3D, w as tf.Tensor3D, 1, "valid"));
    },
    [[2, 16, 3], [5, 3, 4]],
  );
  // even kernel: asymmetric 'same' padding (stride-1 input gradient runs as a flipped conv)
  await check(
    "conv1d k4 same",
    (x, w) => wsum(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, "same")),
    [[2, 11, 3], [4, 3, 5]],
  );
  // pointwise (1x1) fast path
  await check(
    "conv1d k1",
    (x, w) => wsum(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, "same")),
    [[2, 9, 5], [1, 5, 3]],
  );
});

Deno.test("conv2d and fused conv2d (bias + relu) gradients", async () => {
  await check(
    "conv2d 3x3 s2 same",
    (x, w) => wsum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same")),
    [[2, 7, 6, 3], [3, 3, 3, 4]],
  );
  await check(
    "fused conv2d",
    (x, w, b) =>
      wsum(tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: "same",
        bias: b,
        activation: "relu",
      })),
    [[2, 5, 5, 3], [3, 3, 3, 4], [4]],
  );
});

Deno.test("matMul gradients: every transpose form, batched, broadcast, fused", async () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = ta ? [2, 5, 4] : [2, 4, 5], b = tb ? [2, 3, 5] : [2, 5, 3];
    await check(`matMul ta=${ta} tb=${tb}`, (x, y) => wsum(tf.matMul(x, y, ta, tb)), [a, b]);
  }
  // tfjs-core 4.22 has no gradient for batch-broadcast matMul: forward only
  await checkForward("matMul broadcast b", (x, y) => tf.matMul(x, y), [[3, 4, 5], [5, 2]]);
  await checkForward("matMul broadcast a", (x, y) => tf.matMul(x, y, false, true), [[4, 5], [
    3,
    2,
    5,
  ]]);
  await checkForward("matMul general broadcast", (x, y) => tf.matMul(x, y), [[2, 1, 4, 5], [
    1,
    3,
    5,
    2,
  ]]);
  await check(
    "fused matMul",
    (x, y, b) =>
      wsum(
        tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: b, activation: "relu" }),
      ),
    [[6, 5], [5, 3], [3]],
  );
});

Deno.test("batch norm gradients (moments + batchNorm, as tf.layers does)", async () => {
  await check(
    "batchNorm",
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 1]);
      return wsum(tf.batchNorm(x, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3));
    },
    [[3, 7, 4], [4], [4]],
  );
});

Deno.test("attention gradients (rank-5 transpose, unstack, batched matMul, softmax)", async () => {
  const B = 2, T = 5, H = 2, dh = 3, D = H * dh;
  await check(
    "attention",
    (x, wqkv, wo) => {
      const qkv = tf.matMul(x.reshape([B * T, D]), wqkv).reshape([B, T, 3, H, dh])
        .transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv, 0);
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dh)));
      const ctx = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, D]);
      return wsum(tf.matMul(ctx, wo));
    },
    [[B, T, D], [D, 3 * D], [D, D]],
  );
});

Deno.test("LSTM gradients (hand cell with split, and tf.layers.lstm)", async () => {
  const B = 2, T = 4, F = 3, U = 5;
  await check(
    "lstm cell",
    (x, w, u, b) => {
      let h = tf.zeros([B, U]), c = tf.zeros([B, U]);
      for (const xt of tf.unstack(x, 1)) {
        const z = tf.matMul(xt, w).add(tf.matMul(h, u)).add(b);
        const [i, f, g, o] = tf.split(z, 4, 1);
        c = tf.sigmoid(f).mul(c).add(tf.sigmoid(i).mul(tf.tanh(g)));
        h = tf.sigmoid(o).mul(tf.tanh(c));
      }
      return wsum(h);
    },
    [[B, T, F], [F, 4 * U], [U, 4 * U], [4 * U]],
  );
  // the layers LSTM: compare the loss and weight gradients on cpu vs each engine
  const run = () =>
    tf.tidy(() => {
      const layer = tf.layers.lstm({
        units: U,
        returnSequences: true,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      });
      const x = tf.tensor3d(seeded(B * T * F, 9), [B, T, F]);
      layer.apply(x); // build
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => wsum(layer.apply(x) as tf.Tensor), vars);
      const out = { value: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync()) };
      layer.dispose();
      return out;
    });
  await useEngine("cpu");
  const ref = run();
  for (const e of engines()) {
    await useEngine(e);
    const got = run();
    assert(
      Math.abs(got.value - ref.value) <= TOL * Math.abs(ref.value),
      `layers lstm [${e}] value`,
    );
    got.grads.forEach((g, i) =>
      assert(relErr(g, ref.grads[i]) <= TOL, `layers lstm [${e}] grad ${i}`)
    );
  }
});

Deno.test("data-movement kernels: slice, stridedSlice (with gradient), tile, sum/mean, int32", async () => {
  await check("slice", (x) => wsum(tf.slice(x, [1, 0, 2], [2, -1, 3])), [[4, 3, 6]]);
  await check("stridedSlice", (x) => wsum(tf.stridedSlice(x, [0, 1], [5, 7], [2, 3])), [[5, 8]]);
  await check("stridedSlice unit", (x) => wsum(tf.stridedSlice(x, [1, 0], [3, 4], [1, 1])), [[
    5,
    8,
  ]]);
  await check("tile", (x) => wsum(tf.tile(x, [3, 1, 2])), [[1, 4, 3]]);
  await check("sum/mean", (x) => wsum(tf.sum(x, [0, 1]).add(tf.mean(x, -1, true).sum())), [[
    3,
    4,
    5,
  ]]);
  await check("splitV", (x) => {
    const [a, b] = tf.split(x, [2, 3], 1);
    return wsum(a).add(wsum(b.square()));
  }, [[2, 5, 3]]);
  // int32 copies are exact on the wasm engine
  for (const e of engines()) {
    await useEngine(e);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "int32");
    assertEquals(Array.from(tf.transpose(x).dataSync()), [1, 5, 2, 6, 3, 7, 4, 8]);
    assertEquals(Array.from(tf.tile(x, [1, 2]).slice([1, 3], [1, 3]).dataSync()), [8, 5, 6]);
    x.dispose();
  }
});

Deno.test("no tensor leak across a training step; uninstall restores stock kernels", async () => {
  for (const e of engines()) {
    await useEngine(e);
    const w = tf.variable(tf.tensor3d(seeded(5 * 3 * 4, 1), [5, 3, 4]));
    const x = tf.tensor3d(seeded(2 * 10 * 3, 2), [2, 10, 3]);
    const opt = tf.train.adam(0.01);
    const step = () =>
      opt.minimize(() => tf.conv1d(x, w, 2, "same").square().mean() as tf.Scalar, true)!;
    const l0 = step().dataSync()[0];
    const before = tf.memory().numTensors;
    let l1 = l0;
    for (let i = 0; i < 5; i++) {
      const l = step();
      l1 = l.dataSync()[0];
      l.dispose();
    }
    assertEquals(tf.memory().numTensors, before - 0, `[${e}] tensor count grew`);
    assert(l1 < l0, `[${e}] loss did not decrease: ${l0} -> ${l1}`);
    opt.dispose();
    tf.dispose([w, x]);
  }
  uninstallWasmKernels();
  assert(
    tf.getKernel("Conv2DBackpropFilter", "wasm") === undefined,
    "stock wasm has no Conv2DBackpropFilter",
  );
});

Deno.test("fused batch norm: layers BN in training vs cpu; the wasm gradient kernel runs", async () => {
  // (tfjs 4.22 cannot differentiate BN without scale/offset: layers reads gamma/beta, and
  // tf.batchNorm puts `offset: undefined` on the tape; so scale and offset are always given)
  {
    const bn = tf.layers.batchNormalization({
      gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 2 }),
      betaInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 3 }),
    });
    await check(
      "layers BN",
      (x) => {
        const y = bn.apply(x, { training: true }) as tf.Tensor;
        return wsum(y.mul(y));
      },
      [[3, 6, 5]],
    );
    bn.dispose();
  }
  // the wasm path really runs our one-pass gradient kernel
  for (const e of engines()) {
    await useEngine(e);
    const x = tf.tensor3d(seeded(2 * 4 * 3, 5), [2, 4, 3]);
    const g = tf.tensor1d([0.5, 1, 2]), b = tf.tensor1d([0, 1, -1]);
    const info = await tf.profile(() => {
      tf.grad((z) => {
        const { mean, variance } = tf.moments(z, [0, 1]);
        return wsum(tf.batchNorm(z, mean, variance, b, g, 1e-3).square());
      })(x).dispose();
    });
    tf.dispose([g, b]);
    assert(
      info.kernels.some((k) => k.name === "HarBatchNormGrad"),
      `[${e}] HarBatchNormGrad did not run`,
    );
    x.dispose();
  }
  // cpu keeps tfjs-core's own gradient (no kernel of ours there)
  await useEngine("cpu");
  assertEquals(tf.getKernel("HarBatchNormGrad", "cpu"), undefined);
});

Deno.test("wide conv1d (Cin >= 16, stride 1): input gradient as a flipped conv", async () => {
  await check(
    "conv1d cin16 same",
    (x, w) => wsum(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, "same")),
    [[2, 12, 16], [5, 16, 4]],
  );
  await check(
    "conv2d cin3 3x3 same (narrow: col2im path)",
    (x, w) => wsum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same")),
    [[2, 6, 5, 3], [3, 3, 3, 8]],
  );
});

Deno.test("reductions over leading axes of a large tensor (BLAS sgemv path)", async () => {
  await check(
    "sum/mean leading",
    (x) => wsum(tf.sum(x, [0, 1])).add(wsum(tf.mean(x, [0]))),
    [[7, 300, 5]],
  );
  await check("mean trailing", (x) => wsum(tf.mean(x, [1, 2])), [[6, 40, 9]]);
});

Deno.test("Identity and same-dtype Cast share the buffer without leaking", async () => {
  for (const e of engines()) {
    await useEngine(e);
    const before = tf.memory();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.engine().runKernel("Identity", { x }) as tf.Tensor;
    const z = tf.cast(x, "float32");
    const k = tf.cast(x, "int32");
    x.dispose();
    assertEquals(Array.from(y.dataSync()), [1, 2, 3]);
    y.dispose();
    assertEquals(Array.from(z.dataSync()), [1, 2, 3]);
    assertEquals(k.dtype, "int32");
    tf.dispose([z, k]);
    const after = tf.memory();
    assertEquals(after.numTensors, before.numTensors, `[${e}] tensors`);
    assertEquals(after.numBytes, before.numBytes, `[${e}] bytes`);
  }
});

Deno.test("ReLU gradient: one fused kernel on wasm, equal to cpu (zeros and NaN as step gives)", async () => {
  await check("relu", (x) => wsum(tf.relu(x).square()), [[3, 17, 5]]);
  const x = tf.tensor1d([-1, 0, 2, NaN, 3]);
  const dy = tf.tensor1d([1, 2, 3, 4, 5]);
  await useEngine("cpu");
  const ref = tf.grad((v: tf.Tensor) => tf.relu(v).mul(dy).sum())(x).dataSync();
  for (const e of engines()) {
    await useEngine(e);
    const prof = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.relu(v).mul(dy).sum())(x));
    const names = prof.kernels.map((k) => k.name);
    assert(names.includes("HarReluGrad"), `[${e}] kernels ${names}`);
    assert(!names.includes("Step"), `[${e}] still runs Step`);
    const got = tf.grad((v: tf.Tensor) => tf.relu(v).mul(dy).sum())(x).dataSync();
    assertEquals(Array.from(got), Array.from(ref), `[${e}]`);
  }
  await tf.setBackend("cpu");
});

Deno.test("SimCLR (NT-Xent) and CPC (GRU context + InfoNCE) heads: gradients equal cpu", async () => {
  // SimCLR: 2B views, projection MLP, cosine similarities / τ, positives i <-> i ± B
  const B = 3, D = 6, H = 5, P = 4;
  const labels = tf.oneHot(tf.tensor1d([3, 4, 5, 0, 1, 2], "int32"), 2 * B);
  await check(
    "simclr nt-xent",
    (h, w1, w2) => {
      const z = tf.relu(tf.matMul(h, w1)).matMul(w2);
      const zn = z.div(z.square().sum(1, true).add(1e-8).sqrt());
      const sim = tf.matMul(zn, zn, false, true).div(0.5).sub(tf.eye(2 * B).mul(1e9));
      return tf.losses.softmaxCrossEntropy(labels, sim) as tf.Scalar;
    },
    [[2 * B, D], [D, H], [H, P]],
  );
  // CPC: GRU over T encodings, predict the encoding k steps ahead, InfoNCE over the batch
  const T = 4, E = 5, C = 4;
  await check(
    "cpc gru + infonce",
    (enc, wz, wr, wh, wk) => {
      const x = enc as tf.Tensor3D; // [B, T, E]
      let c = tf.zeros([B, C]);
      const steps = tf.unstack(x, 1);
      for (let t = 0; t < T - 1; t++) {
        const xc = tf.concat([steps[t], c], 1);
        const zg = tf.sigmoid(tf.matMul(xc, wz)), rg = tf.sigmoid(tf.matMul(xc, wr));
        const hh = tf.tanh(tf.matMul(tf.concat([steps[t], rg.mul(c)], 1), wh));
        c = zg.mul(c).add(tf.scalar(1).sub(zg).mul(hh));
      }
      const pred = tf.matMul(c, wk); // [B, E]: the next encoding
      const scores = tf.matMul(pred, steps[T - 1], false, true); // [B, B]
      return tf.losses.softmaxCrossEntropy(tf.eye(B), scores) as tf.Scalar;
    },
    [[B, T, E], [E + C, C], [E + C, C], [E + C, C], [C, E]],
  );
});
