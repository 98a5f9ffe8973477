/**
 * The GRU heap kernels (lib/backend/gru_kernels.ts) through
 * lib/models/gru.ts `torchGruSequence`: on every engine (plain wasm, +BLAS,
 * +native gate arithmetic) and with the JS gate loops, the output and all
 * five gradients (input, kernel, recurrent kernel, both biases) equal the
 * tfjs-ops implementation on cpu to 1e-5 (norm-relative), last step and full
 * sequence, one step and several; no tensor leaks. (The ops path itself is
 * checked against PyTorch's equations in float64 in
 * tests/models/dontfreeze_encoders_test.ts.)
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { torchGruSequence, type TorchGruSequenceOptions } from "../../lib/models/gru.ts";
import { engines, relErr, seeded, useEngine } from "./_grad_util.ts";

const N = 3, F = 5, H = 4;
const TOL = 1e-5;

function inputs(t: number) {
  return [
    { shape: [N, t, F], values: seeded(N * t * F, 11) },
    { shape: [F, 3 * H], values: seeded(F * 3 * H, 12, 0.6) },
    { shape: [H, 3 * H], values: seeded(H * 3 * H, 13, 0.6) },
    { shape: [3 * H], values: seeded(3 * H, 14, 0.3) },
    { shape: [3 * H], values: seeded(3 * H, 15, 0.3) },
  ];
}

/** Output and gradients of Σ y ⊙ pattern (so every step and unit counts differently). */
function run(t: number, opts: TorchGruSequenceOptions): { y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = inputs(t).map((i) => tf.tensor(i.values, i.shape));
    const ySize = opts.returnSequences ? N * t * H : N * H;
    const pattern = tf.tensor(seeded(ySize, 16, 1, 0.2));
    const f = (x: tf.Tensor, w: tf.Tensor, r: tf.Tensor, b: tf.Tensor, bh: tf.Tensor) =>
      torchGruSequence(
        x as tf.Tensor3D,
        w as tf.Tensor2D,
        r as tf.Tensor2D,
        b as tf.Tensor1D,
        bh as tf.Tensor1D,
        opts,
      ).reshape([-1]).mul(pattern).sum() as tf.Scalar;
    const y = torchGruSequence(
      xs[0] as tf.Tensor3D,
      xs[1] as tf.Tensor2D,
      xs[2] as tf.Tensor2D,
      xs[3] as tf.Tensor1D,
      xs[4] as tf.Tensor1D,
      opts,
    );
    const { grads } = tf.valueAndGrads(f)(xs);
    return {
      y: y.dataSync() as Float32Array,
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
}

const CASES = [
  { t: 1, returnSequences: false },
  { t: 6, returnSequences: false },
  { t: 6, returnSequences: true },
];

Deno.test("GRU heap kernels = tfjs ops on cpu: output and all five gradients, every engine, native and JS gates", async () => {
  await useEngine("cpu");
  const want = CASES.map((c) => run(c.t, { returnSequences: c.returnSequences, impl: "ops" }));
  assertThrows(
    () => run(2, { impl: "wasm" }),
    Error,
    "impl 'wasm' needs the wasm backend",
  );
  for (const engine of engines()) {
    await useEngine(engine);
    for (const impl of ["wasm", "wasm-js", "auto"] as const) {
      CASES.forEach((c, k) => {
        const before = tf.memory().numTensors;
        const got = run(c.t, { returnSequences: c.returnSequences, impl });
        assertEquals(tf.memory().numTensors, before, `${engine} ${impl}: tensors leaked`);
        const where = `${engine} ${impl} t=${c.t} seq=${c.returnSequences}`;
        assert(relErr(got.y, want[k].y) < TOL, `${where}: output ${relErr(got.y, want[k].y)}`);
        got.grads.forEach((g, i) => {
          const e = relErr(g, want[k].grads[i]);
          assert(e < TOL, `${where}: gradient ${i} off by ${e}`);
        });
      });
    }
  }
  await useEngine("cpu");
});
