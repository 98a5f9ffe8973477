/**
 * Our native convolution kernels (lib/backend/native.ts): values and
 * gradients equal the cpu backend's through the registered tfjs kernels, on
 * geometries that reach every micro-kernel (channel tails, strides,
 * dilation, 2-D, padding), and the fallbacks say why they are off.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { loadNativeKernels } from "../../lib/backend/native.ts";
import { relErr, seeded, useEngine, valueAndGrads } from "./_grad_util.ts";
import { evalWithEnv } from "../_helpers.ts";

const native = loadNativeKernels().native;
const skip = native === null;

const wsum = (y: tf.Tensor) =>
  y.mul(tf.sin(tf.range(0, y.size).reshape(y.shape))).sum() as tf.Scalar;

/** Value and gradients on cpu and on wasm+native must agree to 1e-4 relative. */
async function check(name: string, f: (...xs: tf.Tensor[]) => tf.Scalar, shapes: number[][]) {
  const inputs = shapes.map((shape, i) => ({
    shape,
    values: seeded(shape.reduce((a, b) => a * b, 1), 17 + i),
  }));
  await useEngine("cpu");
  const ref = valueAndGrads(f, inputs);
  await useEngine("native");
  const got = valueAndGrads(f, inputs);
  await tf.setBackend("cpu");
  assert(
    Math.abs(got.value - ref.value) <= 1e-4 * Math.max(1, Math.abs(ref.value)),
    `${name}: value ${got.value} vs ${ref.value}`,
  );
  ref.grads.forEach((g, i) => {
    const e = relErr(got.grads[i], g);
    assert(e < 1e-4, `${name}: gradient ${i} relative error ${e}`);
  });
}

Deno.test({
  name: "native conv1d: forward and both gradients equal cpu (strides, padding, channel tails)",
  ignore: skip,
  fn: async () => {
    const cases: [number[], number[], number, "same" | "valid", number][] = [
      [[2, 23, 16], [5, 16, 64], 1, "same", 1], // one 4-vector block
      [[2, 23, 16], [5, 16, 20], 2, "same", 1], // 2 vectors, partial
      [[3, 19, 12], [4, 12, 50], 1, "valid", 1], // 4 vectors, partial; even kernel
      [[2, 31, 8], [5, 8, 130], 2, "same", 1], // 64 + 64 + 2 columns
      [[2, 17, 70], [5, 70, 3], 1, "same", 1], // 3 outputs: narrow kernel, dx wide
      [[2, 17, 5], [5, 5, 32], 2, "same", 1], // 5 inputs: dx narrow
      [[2, 21, 3], [3, 3, 18], 1, "valid", 1], // 3 inputs, 18 outputs
      [[3, 15, 40], [5, 40, 7], 1, "same", 1], // narrow 8, input-channel tail
      // Winograd F(4,5) / F(6,3) / F(5,4): lengths not a multiple of the tile, channel tails
      [[2, 30, 24], [5, 24, 40], 1, "same", 1],
      [[3, 13, 16], [3, 16, 16], 1, "same", 1],
      [[2, 22, 20], [5, 20, 17], 1, "valid", 1],
      [[2, 9, 33], [4, 33, 18], 1, "same", 1],
    ];
    for (const winograd of [true, false]) {
      native!.setWinograd(winograd);
      for (const [xs, ws, stride, pad, dil] of cases) {
        await check(
          `conv1d x${xs} w${ws} s${stride} ${pad} d${dil} winograd ${winograd}`,
          (x, w) => wsum(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, stride, pad, "NWC", dil)),
          [xs, ws],
        );
      }
    }
    native!.setWinograd(true);
    // dilation (tfjs has no dilated-conv gradient: forward only)
    const x = tf.tensor3d(seeded(2 * 40 * 9, 3), [2, 40, 9]);
    const w = tf.tensor3d(seeded(3 * 9 * 33, 4), [3, 9, 33]);
    await useEngine("cpu");
    const ref = tf.conv1d(x, w, 1, "same", "NWC", 2).dataSync() as Float32Array;
    await useEngine("native");
    const got = tf.conv1d(x, w, 1, "same", "NWC", 2).dataSync() as Float32Array;
    await tf.setBackend("cpu");
    assert(relErr(got, ref) < 1e-5, `dilated conv1d: relative error ${relErr(got, ref)}`);
  },
});

Deno.test({
  name: "native conv2d and fused conv2d (bias + relu, and an activation it leaves to tfjs)",
  ignore: skip,
  fn: async () => {
    await check(
      "conv2d 3x3 s1 same",
      (x, w) => wsum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same")),
      [[2, 7, 5, 8], [3, 3, 8, 32]],
    );
    await check(
      "conv2d 3x2 s2 valid",
      (x, w) => wsum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 2], "valid")),
      [[2, 9, 8, 10], [3, 2, 10, 24]],
    );
    for (const activation of ["relu", "elu"] as const) {
      await check(
        `fused conv2d ${activation}`,
        (x, w, b) =>
          wsum(tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            strides: 1,
            pad: "same",
            bias: b,
            activation,
          })),
        [[2, 6, 5, 12], [3, 3, 12, 40], [40]],
      );
    }
  },
});

Deno.test({
  name: "a second load reuses the cached library",
  ignore: skip,
  fn: () => {
    // a cached second load reports the same library without rebuilding
    const again = loadNativeKernels();
    assertEquals(again.native?.library, native!.library);
  },
});

Deno.test("native kernels: clear reasons when they cannot be used", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const noCc = loadNativeKernels({ compiler: "/nonexistent/cc", cacheDir: dir });
    assertEquals(noCc.native, null);
    assertMatch(noCc.reason!, /compiler|cannot|not granted|not running/);
    const noBuild = loadNativeKernels({ build: false, cacheDir: dir });
    assertEquals(noBuild.native, null);
    assertMatch(noBuild.reason!, /build disabled|not granted|not running/);
    // HAR_NATIVE=0 in a child process: test modules share this process's
    // environment, and another module's backend could start meanwhile
    const mod = new URL("../../lib/backend/native.ts", import.meta.url).href;
    const code = `const { loadNativeKernels } = await import(${JSON.stringify(mod)});
      const r = loadNativeKernels({ cacheDir: ${JSON.stringify(`${dir}/off`)} });
      console.log(JSON.stringify({ native: r.native === null ? null : "loaded", reason: r.reason }));`;
    const off = JSON.parse(await evalWithEnv(code, { HAR_NATIVE: "0" }));
    assertEquals(off.native, null);
    assertMatch(off.reason, /HAR_NATIVE=0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
