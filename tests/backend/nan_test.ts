/**
 * NaN and ±Inf propagate on our wasm kernels (plain wasm, BLAS, native) as
 * on the pure-JS cpu backend: every kernel path a model takes (ReLU and its
 * gradient, convolutions with and without a fused ReLU, Winograd, batch norm
 * in training and inference, matmuls, pooling, clip/relu6/maximum) and a
 * whole harnet forward give non-finite values exactly where cpu gives them.
 * Before the fix the native fused ReLU and the stock XNNPACK clamps turned
 * NaN into 0 or -Inf, so one NaN sample gave finite features.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { engines, seeded, useEngine } from "./_grad_util.ts";
import { uninstallWasmKernels } from "../../lib/backend/install.ts";
import { harnet } from "../../lib/models/harnet.ts";
import { loadNativeKernels } from "../../lib/backend/native.ts";
import { type BackendWasm, heapAlloc, heapF32, heapFree } from "../../lib/backend/heap_gemm.ts";

/** `seeded` values with `bad` written at the given flat indices. */
function withBad(shape: number[], seed: number, bad: [number, number][], scale = 1): tf.Tensor {
  const v = seeded(shape.reduce((a, b) => a * b, 1), seed, scale);
  for (const [i, x] of bad) v[i] = x;
  return tf.tensor(v, shape);
}

/** "N" NaN, "+"/"-" ±Inf, "." finite, per element. */
function pattern(v: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    s += Number.isNaN(x) ? "N" : x === Infinity ? "+" : x === -Infinity ? "-" : ".";
  }
  return s;
}

type Case = [string, () => tf.Tensor];

const x4 = (bad: [number, number][], c = 1, w = 12) => withBad([1, 1, w, c], 3, bad) as tf.Tensor4D;
const BAD_SETS: [string, [number, number][]][] = [
  ["NaN", [[1, NaN]]],
  ["+Inf", [[1, Infinity]]],
  ["-Inf", [[2, -Infinity]]],
  ["NaN and Inf", [[0, NaN], [5, Infinity], [9, -Infinity]]],
];

function cases(bad: [number, number][]): Case[] {
  return [
    ["relu", () => tf.relu(withBad([4, 6], 1, bad))],
    ["relu6", () => tf.relu6(withBad([4, 6], 1, bad, 8))],
    ["clipByValue", () => tf.clipByValue(withBad([4, 6], 1, bad), -0.3, 0.4)],
    ["maximum (bad on the right)", () => tf.maximum(tf.zeros([24]), withBad([24], 1, bad))],
    ["minimum (bad on the right)", () => tf.minimum(tf.zeros([24]), withBad([24], 1, bad))],
    ["maximum (bad on the left)", () => tf.maximum(withBad([24], 1, bad), tf.zeros([24]))],
    ["avgPool valid", () => tf.avgPool(x4(bad), [1, 2], [1, 2], "valid")],
    ["avgPool same", () => tf.avgPool(x4(bad), [1, 3], [1, 1], "same")],
    ["maxPool", () => tf.maxPool(x4(bad), [1, 2], [1, 2], "valid")],
    ["matMul", () => tf.matMul(withBad([4, 6], 1, bad), tf.tensor(seeded(18, 2), [6, 3]))],
    [
      "matMul (bad weights)",
      () => tf.matMul(tf.tensor(seeded(24, 2), [4, 6]), withBad([6, 4], 1, bad)),
    ],
    ["fused matMul + relu", () =>
      tf.fused.matMul({
        a: withBad([4, 6], 1, bad) as tf.Tensor2D,
        b: tf.tensor(seeded(18, 2), [6, 3]) as tf.Tensor2D,
        bias: tf.zeros([3]),
        activation: "relu",
      })],
    ["conv1d narrow", () =>
      tf.conv1d(
        withBad([2, 12, 3], 1, bad) as tf.Tensor3D,
        tf.tensor(seeded(60, 2), [5, 3, 4]) as tf.Tensor3D,
        1,
        "same",
      )],
    ["conv1d wide (Winograd on native)", () =>
      tf.conv1d(
        withBad([2, 24, 16], 1, bad) as tf.Tensor3D,
        tf.tensor(seeded(5 * 16 * 32, 2, 0.2), [5, 16, 32]) as tf.Tensor3D,
        1,
        "same",
      )],
    ["conv1d stride 2", () =>
      tf.conv1d(
        withBad([2, 24, 16], 1, bad) as tf.Tensor3D,
        tf.tensor(seeded(3 * 16 * 16, 2, 0.2), [3, 16, 16]) as tf.Tensor3D,
        2,
        "valid",
      )],
    ["fused conv2d + relu, 1 channel", () =>
      tf.fused.conv2d({
        x: x4(bad),
        filter: tf.tensor(seeded(3, 2), [1, 3, 1, 1]) as tf.Tensor4D,
        strides: 1,
        pad: "same",
        activation: "relu",
      })],
    ["fused conv2d + bias + relu, 16 → 32 channels", () =>
      tf.fused.conv2d({
        x: x4(bad, 16, 20),
        filter: tf.tensor(seeded(5 * 16 * 32, 2, 0.2), [1, 5, 16, 32]) as tf.Tensor4D,
        bias: tf.tensor(seeded(32, 4, 0.1)),
        strides: 1,
        pad: "same",
        activation: "relu",
      })],
    ["fused depthwise conv + relu", () =>
      tf.fused.depthwiseConv2d({
        x: x4(bad, 2),
        filter: tf.tensor(seeded(6, 2), [1, 3, 2, 1]) as tf.Tensor4D,
        strides: 1,
        pad: "same",
        activation: "relu",
      })],
    [
      "batch norm inference",
      () =>
        tf.batchNorm(
          withBad([6, 4], 1, bad),
          seeded(4, 5),
          tf.ones([4]),
          seeded(4, 6),
          tf.ones([4]),
        ),
    ],
    ["batch norm training (layers, moments)", () => {
      const bn = tf.layers.batchNormalization({ axis: -1 });
      const y = bn.apply(withBad([6, 4], 1, bad), { training: true }) as tf.Tensor;
      bn.dispose(); // its 4 variables
      return y;
    }],
    [
      "relu gradient",
      () =>
        tf.grad((x: tf.Tensor) => tf.relu(x).mul(tf.tensor(seeded(24, 9), [4, 6])).sum())(
          withBad([4, 6], 1, bad),
        ),
    ],
    ["conv1d filter gradient", () => {
      const x = withBad([2, 12, 3], 1, bad) as tf.Tensor3D;
      return tf.grad((w: tf.Tensor) => tf.conv1d(x, w as tf.Tensor3D, 1, "same").sum())(
        tf.tensor(seeded(60, 2), [5, 3, 4]),
      );
    }],
  ];
}

Deno.test("NaN/Inf: every kernel path gives non-finite values exactly where cpu does", async () => {
  try {
    for (const [what, bad] of BAD_SETS) {
      await useEngine("cpu");
      const ref = cases(bad).map(([name, f]) => {
        const y = tf.tidy(f);
        const p = pattern(y.dataSync());
        y.dispose();
        return { name, p };
      });
      // a NaN reaches the output of every case on cpu (but tfjs cpu's maxPool,
      // which skips a NaN as a window maximum: the guard then matches that too;
      // an Inf is legitimately clipped by relu6, clip, minimum, relu)
      if (what === "NaN") {
        const finite = ref.filter((r) => !/N/.test(r.p)).map((r) => r.name);
        assertEquals(finite, ["maxPool"], "cpu cases without NaN");
      }
      const cpu = tf.findBackend("cpu")!;
      const cpuData = cpu.numDataIds();
      for (const e of engines()) {
        await useEngine(e);
        const wasmData = tf.backend().numDataIds();
        cases(bad).forEach(([name, f], i) => {
          const y = tf.tidy(f);
          const got = pattern(y.dataSync());
          y.dispose();
          assertEquals(got, ref[i].p, `${name} [${e}] with ${what}: ${got} vs cpu ${ref[i].p}`);
        });
        // the cpu copies of the fallback are freed, and nothing stays on wasm
        assertEquals(cpu.numDataIds(), cpuData, `[${e}] cpu backend data after the fallback`);
        assertEquals(tf.backend().numDataIds(), wasmData, `[${e}] wasm backend data`);
      }
    }
  } finally {
    uninstallWasmKernels();
    await tf.setBackend("cpu");
  }
});

Deno.test("NaN: one NaN sample gives NaN features in a harnet forward on every engine", async () => {
  const x = seeded(2 * 3 * 300, 11);
  x[1 * 900 + 2 * 300 + 17] = NaN; // window 1, channel z, sample 17
  const run = () => {
    const m = harnet({ variant: "laptop10", seed: 1 });
    const y = tf.tidy(() => m.predict(tf.tensor3d(x, [2, 3, 300])) as tf.Tensor);
    const v = y.dataSync();
    const n = y.shape[1]!;
    y.dispose();
    m.dispose();
    return { first: pattern(v.subarray(0, n)), second: pattern(v.subarray(n)) };
  };
  try {
    await useEngine("cpu");
    const ref = run();
    assert(!/[N+-]/.test(ref.first), "cpu: the clean window stays finite");
    assert(/N/.test(ref.second), "cpu: the window with a NaN gives NaN");
    for (const e of engines()) {
      await useEngine(e);
      const got = run();
      assertEquals(got.first, ref.first, `[${e}] clean window`);
      assertEquals(got.second, ref.second, `[${e}] window with a NaN`);
    }
  } finally {
    uninstallWasmKernels();
    await tf.setBackend("cpu");
  }
});

Deno.test("native conv forward with fused ReLU keeps NaN (direct and Winograd paths)", async () => {
  const { native } = loadNativeKernels();
  if (!native) return; // no C compiler here: nothing native to check
  await tf.setBackend("wasm");
  await tf.ready();
  const be = tf.backend() as unknown as BackendWasm;
  // 1-D valid conv, stride 1, kernel 3, 16 → 32 channels: vector store and Winograd
  const L = 20, K = 3, CI = 16, CO = 32, OL = L - K + 1, BAD = 9;
  const g = new Int32Array([1, 1, L, CI, 1, OL, CO, 1, K, 1, 1, 1, 1, 0, 0]);
  const xv = seeded(L * CI, 1);
  xv[BAD * CI + 4] = NaN; // sample 9, channel 4
  const wv = seeded(K * CI * CO, 2, 0.2).map((v) => v - 0.3); // mostly negative: ReLU zeros most
  const xo = heapAlloc(be, xv.length), wo = heapAlloc(be, wv.length), yo = heapAlloc(be, OL * CO);
  try {
    const run = (winograd: boolean) => {
      const h = heapF32(be);
      h.set(xv, xo);
      h.set(wv, wo);
      const prev = native.setWinograd(winograd);
      try {
        native.convForward(be.wasm.HEAPU8, xo, wo, yo, -1, g, 1);
      } finally {
        native.setWinograd(prev);
      }
      return heapF32(be).slice(yo, yo + OL * CO);
    };
    // outputs whose window covers the NaN sample: every channel there is NaN
    const expectNaN = (o: number) => o <= BAD && BAD < o + K;
    const direct = run(false);
    for (let o = 0; o < OL; o++) {
      for (let c = 0; c < CO; c++) {
        const v = direct[o * CO + c];
        assertEquals(Number.isNaN(v), expectNaN(o), `direct: output ${o}, channel ${c} = ${v}`);
      }
    }
    const wino = run(true);
    for (let o = 0; o < OL; o++) {
      if (!expectNaN(o)) continue;
      for (let c = 0; c < CO; c++) {
        assert(Number.isNaN(wino[o * CO + c]), `Winograd: output ${o}, channel ${c} lost its NaN`);
      }
    }
  } finally {
    for (const o of [xo, wo, yo]) heapFree(be, o);
    await tf.setBackend("cpu");
  }
});
