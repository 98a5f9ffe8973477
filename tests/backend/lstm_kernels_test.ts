/**
 * The LSTM heap kernels (lib/backend/lstm_kernels.ts), called directly on
 * wasm (+BLAS when it loads, and plain wasm): the forward outputs and the
 * backward `dL/dz` against a float64 JS recurrence to 1e-5 relative, both
 * gate activations, last step and full sequence, with and without a bias;
 * fastTanh / fastSigmoid within their documented error over [-12, 12].
 * (The layer-level checks against tf.layers.lstm are tests/models/lstm_test.ts.)
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import {
  fastSigmoid,
  fastTanh,
  LSTM_BACKWARD,
  LSTM_FORWARD,
  registerWasmLstmKernels,
} from "../../lib/backend/lstm_kernels.ts";
import { initBackend } from "../../lib/backend/select.ts";
import { relErr, seeded } from "./_grad_util.ts";

const B = 3, T = 6, F = 5, U = 4, G = 4 * U;
const TOL = 1e-5;

Deno.test("fastTanh / fastSigmoid: within 2.1e-8 relative / 1.1e-8 absolute on [-12, 12]", () => {
  let tanhErr = 0, sigErr = 0;
  for (let i = -120000; i <= 120000; i++) {
    const x = i / 10000;
    const t = Math.tanh(x);
    if (t !== 0) tanhErr = Math.max(tanhErr, Math.abs(fastTanh(x) - t) / Math.abs(t));
    sigErr = Math.max(sigErr, Math.abs(fastSigmoid(x) - 1 / (1 + Math.exp(-x))));
  }
  assert(tanhErr <= 2.1e-8, `fastTanh relative error ${tanhErr}`);
  assert(sigErr <= 1.1e-8, `fastSigmoid absolute error ${sigErr}`);
  assertEquals(fastTanh(0), 0);
  assert(Number.isNaN(fastTanh(NaN)));
});

interface Case {
  seq: boolean;
  hard: boolean;
  bias: boolean;
}

/** Float64 reference: forward states and outputs, then dz for `dy`. */
function reference(
  c: Case,
  x: Float32Array,
  w: Float32Array, // [R; W; (b)] rows of length G
  dy: Float32Array,
) {
  const act = (z: number) =>
    c.hard ? Math.min(1, Math.max(0, 0.2 * z + 0.5)) : 1 / (1 + Math.exp(-z));
  const dAct = (a: number) => c.hard ? (a > 0 && a < 1 ? 0.2 : 0) : a * (1 - a);
  const gates = new Float64Array(T * B * G), cells = new Float64Array(T * B * U);
  const tanhCells = new Float64Array(T * B * U);
  const y = new Float64Array(c.seq ? B * T * U : B * U);
  const h = new Float64Array(T * B * U); // h_t
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < G; j++) {
        let z = c.bias ? w[(U + F) * G + j] : 0;
        if (t > 0) { for (let u = 0; u < U; u++) z += h[((t - 1) * B + b) * U + u] * w[u * G + j]; }
        for (let f = 0; f < F; f++) z += x[(b * T + t) * F + f] * w[(U + f) * G + j];
        gates[(t * B + b) * G + j] = z;
      }
      for (let u = 0; u < U; u++) {
        const go = (t * B + b) * G, so = (t * B + b) * U;
        const i = act(gates[go + u]), f = act(gates[go + U + u]);
        const g = Math.tanh(gates[go + 2 * U + u]), o = act(gates[go + 3 * U + u]);
        [gates[go + u], gates[go + U + u], gates[go + 2 * U + u], gates[go + 3 * U + u]] = [
          i,
          f,
          g,
          o,
        ];
        const cPrev = t > 0 ? cells[so - B * U + u] : 0;
        cells[so + u] = f * cPrev + i * g;
        tanhCells[so + u] = Math.tanh(cells[so + u]);
        h[so + u] = o * tanhCells[so + u];
        if (c.seq) y[(b * T + t) * U + u] = h[so + u];
        else if (t === T - 1) y[b * U + u] = h[so + u];
      }
    }
  }
  const dz = new Float64Array(T * B * G);
  const dcNext = new Float64Array(B * U);
  let dhNext: Float64Array | null = null;
  for (let t = T - 1; t >= 0; t--) {
    const next = new Float64Array(B * U);
    for (let b = 0; b < B; b++) {
      for (let u = 0; u < U; u++) {
        const go = (t * B + b) * G, so = (t * B + b) * U;
        let dh = c.seq ? dy[(b * T + t) * U + u] : t === T - 1 ? dy[b * U + u] : 0;
        if (dhNext) dh += dhNext[b * U + u];
        const [i, f, g, o] = [0, 1, 2, 3].map((k) => gates[go + k * U + u]);
        const tc = tanhCells[so + u], cPrev = t > 0 ? cells[so - B * U + u] : 0;
        const dc = dcNext[b * U + u] + dh * o * (1 - tc * tc);
        dz[go + u] = dc * g * dAct(i);
        dz[go + U + u] = dc * cPrev * dAct(f);
        dz[go + 2 * U + u] = dc * i * (1 - g * g);
        dz[go + 3 * U + u] = dh * tc * dAct(o);
        dcNext[b * U + u] = dc * f;
      }
      // dh_{t-1} = dz_t · Rᵀ
      for (let u = 0; u < U; u++) {
        let s = 0;
        for (let j = 0; j < G; j++) s += dz[(t * B + b) * G + j] * w[u * G + j];
        next[b * U + u] = s;
      }
    }
    dhNext = next;
  }
  return { y, gates, cells, tanhCells, dz };
}

const CASES: Case[] = [
  { seq: false, hard: true, bias: true },
  { seq: true, hard: true, bias: false },
  { seq: false, hard: false, bias: false },
  { seq: true, hard: false, bias: true },
];

Deno.test("LSTM_FORWARD / LSTM_BACKWARD = float64 recurrence on wasm+BLAS and plain wasm", async () => {
  const seen = new Set<string>();
  try {
    for (const prefer of [["blas", "wasm"], ["wasm"]] as const) {
      const info = await initBackend({ prefer: [...prefer], verbose: false });
      if (seen.has(info.path)) continue; // no BLAS here: "blas" fell back to "wasm"
      seen.add(info.path);
      assertEquals(tf.getBackend(), "wasm");
      registerWasmLstmKernels();
      registerWasmLstmKernels(); // idempotent
      CASES.forEach((c, n) => {
        const what = `${info.path} seq=${c.seq} hard=${c.hard} bias=${c.bias}`;
        const k = U + F + (c.bias ? 1 : 0);
        const xv = seeded(B * T * F, 10 * n + 1, 2);
        const wv = seeded(k * G, 10 * n + 2, 1.5);
        const dyv = seeded(c.seq ? B * T * U : B * U, 10 * n + 3);
        const ref = reference(c, xv, wv, dyv);
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = tf.tensor3d(xv, [B, T, F]), weights = tf.tensor2d(wv, [k, G]);
          const attrs = { returnSequences: c.seq, hardSigmoid: c.hard };
          const [y, gates, cells, tanhCells, hx] = tf.engine().runKernel(
            LSTM_FORWARD,
            { x, weights },
            attrs,
          ) as tf.Tensor[];
          assertEquals(y.shape, c.seq ? [B, T, U] : [B, U], `${what}: y shape`);
          assertEquals(hx.shape, [T, B, k], `${what}: hx shape`);
          for (
            const [name, got, want] of [
              ["y", y, ref.y],
              ["gates", gates, ref.gates],
              ["cells", cells, ref.cells],
              ["tanhCells", tanhCells, ref.tanhCells],
            ] as const
          ) {
            const e = relErr(got.dataSync(), want);
            assert(e <= TOL, `${what}: ${name} rel err ${e}`);
          }
          const rT = weights.slice([0, 0], [U, G]).transpose();
          const dz = tf.engine().runKernel(
            LSTM_BACKWARD,
            {
              dy: tf.tensor(dyv, y.shape),
              gates,
              cells,
              tanhCells,
              recurrentKernelT: rT,
            },
            attrs,
          ) as tf.Tensor;
          assertEquals(dz.shape, [T, B, G], `${what}: dz shape`);
          const e = relErr(dz.dataSync(), ref.dz);
          assert(e <= TOL, `${what}: dz rel err ${e}`);
          // the check can fail: the other gate activation gives other numbers
          const other = reference({ ...c, hard: !c.hard }, xv, wv, dyv);
          assert(relErr(y.dataSync(), other.y) > 100 * TOL, `${what}: activation ignored`);
        });
        assertEquals(tf.memory().numTensors, before, `${what}: tensors leaked`);
      });
    }
  } finally {
    await tf.setBackend("cpu");
  }
});
