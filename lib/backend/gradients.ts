/**
 * Gradients tfjs-core 4.22 lacks, registered for every backend.
 *
 * - `StridedSlice`: scatter `dy` back into zeros of the input's shape (a pad
 *   when every stride is 1, else a scatter at the strided positions).
 *
 * @example
 * ```ts
 * registerMissingGradients();
 * tf.grad((x) => tf.stridedSlice(x, [0], [6], [2]).sum())(tf.ones([6])); // [1,0,1,0,1,0]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";

// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

/** dx of `StridedSlice(x)` given dy, for x of shape `xShape` and the op's attrs. */
export function stridedSliceGrad(dy: tf.Tensor, xShape: number[], attrs: Attrs): tf.Tensor {
  const info = tf.slice_util.sliceInfo(
    xShape,
    attrs.begin,
    attrs.end,
    attrs.strides,
    attrs.beginMask ?? 0,
    attrs.endMask ?? 0,
    attrs.ellipsisMask ?? 0,
    attrs.newAxisMask ?? 0,
    attrs.shrinkAxisMask ?? 0,
  );
  return tf.tidy(() => {
    const sparse = info.finalShapeSparse;
    const g = tf.reshape(dy, sparse);
    if (info.strides.every((s) => s === 1)) {
      const pads = xShape.map((d, i) => {
        const b = info.begin[i];
        return [b, d - b - sparse[i]] as [number, number];
      });
      return tf.pad(g, pads);
    }
    // general strides: linear target index of every dy element
    const n = tf.util.sizeFromShape(sparse);
    const xStrides = tf.util.computeStrides(xShape);
    const idx = new Int32Array(n);
    const pos = new Array(sparse.length).fill(0);
    for (let e = 0; e < n; e++) {
      let lin = 0;
      for (let a = 0; a < sparse.length; a++) {
        const coord = info.begin[a] + pos[a] * info.strides[a];
        lin += coord * (a < xStrides.length ? xStrides[a] : 1);
      }
      idx[e] = lin;
      for (let a = sparse.length - 1; a >= 0; a--) {
        if (++pos[a] < sparse[a]) break;
        pos[a] = 0;
      }
    }
    const size = tf.util.sizeFromShape(xShape);
    const flat = tf.scatterND(tf.tensor2d(idx, [n, 1], "int32"), tf.reshape(g, [n]), [size]);
    return tf.reshape(flat, xShape);
  });
}

let done = false;

/** Register the gradients above (once; no-op when tfjs already has one). */
export function registerMissingGradients(): void {
  if (done) return;
  done = true;
  if (!tf.getGradient("StridedSlice")) {
    tf.registerGradient({
      kernelName: "StridedSlice",
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        return { x: () => stridedSliceGrad(dy as tf.Tensor, x.shape, attrs as Attrs) };
      },
    });
  }
}
