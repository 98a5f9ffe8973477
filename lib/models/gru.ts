/**
 * A PyTorch-convention GRU over a whole sequence as one op with its own
 * gradient (`tf.customGrad`): {@link torchGruSequence}, the engine of
 * lib/models/dontfreeze_layers.ts `TorchGRU` (CPC's encoder).
 *
 * Differentiating the unrolled loop with tfjs' tape keeps a dozen
 * `[batch, units]` intermediates per step and direction and, for a CPC batch
 * of 512 windows × 100 steps × 2 layers, outgrows the 4 GiB wasm heap. This
 * op keeps five per step (`h_{t−1}`, `r`, `z`, `n` and `h_{t−1}·R_n + b_hn`)
 * and back-propagates through time explicitly; the weight gradients are one
 * matmul over all steps.
 *
 * Equations (`torch.nn.GRU`, gate blocks `r, z, n` of the kernel columns):
 * `r = σ(x·W_r + b_r + h·R_r + b_hr)`, `z = σ(x·W_z + b_z + h·R_z + b_hz)`,
 * `n = tanh(x·W_n + b_n + r ⊙ (h·R_n + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`,
 * `h_0 = 0`.
 *
 * @example
 * ```ts
 * const y = torchGruSequence(x, kernel, recurrentKernel, bias, recurrentBias, {
 *   returnSequences: true,
 * }); // x [batch, time, features] → [batch, time, units]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { GRU_BACKWARD, GRU_FORWARD, registerWasmGruKernels } from "../backend/gru_kernels.ts";

/** The op's inputs: x, kernel, recurrent kernel, bias, recurrent bias. */
type GruInputs = [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];

/** Options of {@link torchGruSequence}. */
export interface TorchGruSequenceOptions {
  /** Return `h` of every step, `[batch, time, units]`, instead of the last step's `[batch, units]`. Default false. */
  returnSequences?: boolean;
  /**
   * Implementation. `"auto"` (default): the heap kernels
   * (lib/backend/gru_kernels.ts: the time loop in one kernel, native gate
   * arithmetic where installed) on the wasm backend, tfjs ops elsewhere.
   * `"ops"`: tfjs ops on any backend. `"wasm"`: the heap kernels (wasm
   * backend only). `"wasm-js"`: the heap kernels with JS gate loops (tests).
   */
  impl?: "auto" | "ops" | "wasm" | "wasm-js";
}

/**
 * Run a GRU over `x` `[batch, time, features]` (time ≥ 1) with `kernel`
 * `[features, 3·units]`, `recurrentKernel` `[units, 3·units]`, `bias` and
 * `recurrentBias` `[3·units]` (PyTorch's `weight_ih_l0ᵀ`, `weight_hh_l0ᵀ`,
 * `bias_ih_l0`, `bias_hh_l0`). Differentiable in every input.
 *
 * @throws RangeError on mismatched shapes or an empty sequence
 */
export function torchGruSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  recurrentBias: tf.Tensor1D,
  opts: TorchGruSequenceOptions = {},
): tf.Tensor {
  const [n, t, f] = x.shape;
  const h = recurrentKernel.shape[0];
  if (
    t < 1 || kernel.shape[0] !== f || kernel.shape[1] !== 3 * h ||
    recurrentKernel.shape[1] !== 3 * h || bias.shape[0] !== 3 * h ||
    recurrentBias.shape[0] !== 3 * h
  ) {
    throw new RangeError(
      `torchGruSequence: x [${x.shape}], kernel [${kernel.shape}], recurrent [${recurrentKernel.shape}], ` +
        `biases [${bias.shape}] [${recurrentBias.shape}] do not fit (time ≥ 1, [f, 3h], [h, 3h], [3h])`,
    );
  }
  const seq = opts.returnSequences ?? false;
  const impl = opts.impl ?? "auto";
  if (impl === "wasm" || impl === "wasm-js" || (impl === "auto" && tf.getBackend() === "wasm")) {
    if (tf.getBackend() !== "wasm") {
      throw new Error(
        `torchGruSequence: impl '${impl}' needs the wasm backend (now '${tf.getBackend()}')`,
      );
    }
    registerWasmGruKernels();
    return gruOnHeap(x, kernel, recurrentKernel, bias, recurrentBias, seq, impl === "wasm-js");
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[5] as tf.GradSaveFunc;
    const [xs, w, r, b, bh] = args as GruInputs;
    const xw = inputProjection(xs, w, b);
    const steps = tf.unstack(xw, 0);
    xw.dispose();
    const keep: {
      hp: tf.Tensor[];
      r: tf.Tensor[];
      z: tf.Tensor[];
      nn: tf.Tensor[];
      hn: tf.Tensor[];
    } = {
      hp: [],
      r: [],
      z: [],
      nn: [],
      hn: [],
    };
    const hs: tf.Tensor[] = [];
    let hPrev: tf.Tensor2D = tf.zeros([n, h]);
    for (let s = 0; s < t; s++) {
      const out = tf.tidy(() => {
        const hw = s === 0
          ? tf.tile(bh.reshape([1, 3 * h]), [n, 1])
          : tf.fused.matMul({ a: hPrev, b: r, bias: bh });
        const [xr, xz, xn] = tf.split(steps[s], 3, 1);
        const [hr, hz, hn] = tf.split(hw, 3, 1);
        const rg = tf.sigmoid(xr.add(hr));
        const zg = tf.sigmoid(xz.add(hz));
        const ng = tf.tanh(xn.add(rg.mul(hn)));
        const hNew = ng.add(zg.mul(hPrev.sub(ng))) as tf.Tensor2D;
        return { rg, zg, ng, hn, hNew };
      });
      steps[s].dispose();
      keep.hp.push(hPrev);
      keep.r.push(out.rg);
      keep.z.push(out.zg);
      keep.nn.push(out.ng);
      keep.hn.push(out.hn);
      if (seq) hs.push(out.hNew);
      hPrev = out.hNew;
    }
    const stackT = (ts: tf.Tensor[]) => {
      const st = tf.stack(ts);
      tf.dispose(ts);
      return st;
    };
    const value = seq ? tf.tidy(() => tf.stack(hs).transpose([1, 0, 2])) : hPrev.clone();
    // hs holds the h of every step; all but the last are also keep.hp[s + 1]
    if (!seq) hPrev.dispose();
    else hs[t - 1].dispose();
    const saved = [
      stackT(keep.hp),
      stackT(keep.r),
      stackT(keep.z),
      stackT(keep.nn),
      stackT(keep.hn),
    ];
    save([xs, w, r, ...saved]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, sv: tf.Tensor[]) => gruGradients(dy, sv, seq),
    };
  });
  return op(x, kernel, recurrentKernel, bias, recurrentBias);
}

/** Back-propagation through time of {@link torchGruSequence}: `[dx, dKernel, dRecurrent, dBias, dRecurrentBias]`. */
function gruGradients(dy: tf.Tensor, saved: tf.Tensor[], seq: boolean): tf.Tensor[] {
  const [xs, w, r, hpAll, rAll, zAll, nAll, hnAll] = saved;
  const [n, t, f] = xs.shape as [number, number, number];
  const h = r.shape[0];
  const at = (a: tf.Tensor, s: number) => a.slice([s, 0, 0], [1, n, h]).reshape([n, h]);
  const dys = seq ? tf.tidy(() => dy.transpose([1, 0, 2])) : null;
  const dxw: tf.Tensor[] = new Array(t);
  const dhw: tf.Tensor[] = new Array(t);
  let dh: tf.Tensor = seq ? tf.zeros([n, h]) : dy.clone();
  for (let s = t - 1; s >= 0; s--) {
    const out = tf.tidy(() => {
      const g = seq ? dh.add(at(dys!, s)) : dh;
      const hp = at(hpAll, s), rg = at(rAll, s), zg = at(zAll, s), ng = at(nAll, s);
      const hn = at(hnAll, s);
      const dnPre = g.mul(tf.scalar(1).sub(zg)).mul(tf.scalar(1).sub(ng.square()));
      const dzPre = g.mul(hp.sub(ng)).mul(zg.mul(tf.scalar(1).sub(zg)));
      const drPre = dnPre.mul(hn).mul(rg.mul(tf.scalar(1).sub(rg)));
      const dHw = tf.concat([drPre, dzPre, dnPre.mul(rg)], 1);
      const dXw = tf.concat([drPre, dzPre, dnPre], 1);
      const dhPrev = s > 0 ? g.mul(zg).add(tf.matMul(dHw, r, false, true)) : tf.zeros([n, h]);
      return { dHw, dXw, dhPrev };
    });
    dh.dispose();
    dh = out.dhPrev;
    dhw[s] = out.dHw;
    dxw[s] = out.dXw;
  }
  dh.dispose();
  if (dys) dys.dispose();
  return tf.tidy(() => {
    const dHwAll = tf.stack(dhw).reshape([t * n, 3 * h]); // time-major
    const dXwAll = tf.stack(dxw).transpose([1, 0, 2]).reshape([n * t, 3 * h]); // batch-major
    tf.dispose([...dhw, ...dxw]);
    const dR = tf.matMul(hpAll.reshape([t * n, h]), dHwAll, true, false);
    const dBh = dHwAll.sum(0);
    const xFlat = xs.reshape([n * t, f]);
    const dW = tf.matMul(xFlat, dXwAll, true, false);
    const dB = dXwAll.sum(0);
    const dx = tf.matMul(dXwAll, w, false, true).reshape([n, t, f]);
    return [dx, dW, dR, dB, dBh];
  });
}

/**
 * {@link torchGruSequence} on the wasm heap kernels: the input projection of
 * every step as one matmul, the time loop and its back-propagation as one
 * kernel each, the weight gradients and `dx` as one matmul over all steps.
 */
function gruOnHeap(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  recurrentBias: tf.Tensor1D,
  seq: boolean,
  js: boolean,
): tf.Tensor {
  const [n, t] = x.shape;
  const h = recurrentKernel.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[5] as tf.GradSaveFunc;
    const [xs, w, r, b, bh] = args as GruInputs;
    const xw = inputProjection(xs, w, b);
    const [hs, gates, hn] = tf.engine().runKernel(
      GRU_FORWARD,
      { xw, recurrentKernel: r, recurrentBias: bh },
      { js },
    ) as tf.Tensor[];
    xw.dispose();
    const value = tf.tidy(() =>
      seq
        ? hs.slice([1, 0, 0], [t, n, h]).transpose([1, 0, 2])
        : hs.slice([t, 0, 0], [1, n, h]).reshape([n, h])
    );
    save([xs, w, r, hs, gates, hn]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, sv: tf.Tensor[]) => heapGruGradients(dy, sv, seq, js),
    };
  });
  return op(x, kernel, recurrentKernel, bias, recurrentBias);
}

/** Gradients of {@link gruOnHeap}: `[dx, dKernel, dRecurrent, dBias, dRecurrentBias]`. */
function heapGruGradients(
  dy: tf.Tensor,
  saved: tf.Tensor[],
  seq: boolean,
  js: boolean,
): tf.Tensor[] {
  const [xs, w, r, hs, gates, hn] = saved;
  const [n, t, f] = xs.shape as [number, number, number];
  const h = r.shape[0];
  return tf.tidy(() => {
    // dL/dh_t of every step's output, time-major; without sequences only the
    // last step's (the kernel gives the others none)
    const dhs = seq ? dy.transpose([1, 0, 2]) : dy.reshape([1, n, h]);
    const [dgx, dgh] = tf.engine().runKernel(
      GRU_BACKWARD,
      { dhs, hs, gates, hn, recurrentKernelT: r.transpose() },
      { js },
    ) as tf.Tensor[];
    const dHw = dgh.reshape([t * n, 3 * h]);
    const hPrev = hs.slice([0, 0, 0], [t, n, h]).reshape([t * n, h]);
    const dR = tf.matMul(hPrev, dHw, true, false);
    const dBh = dHw.sum(0);
    const dXw = dgx.transpose([1, 0, 2]).reshape([n * t, 3 * h]); // batch-major
    const dW = tf.matMul(xs.reshape([n * t, f]), dXw, true, false);
    const dB = dXw.sum(0);
    const dx = tf.matMul(dXw, w, false, true).reshape([n, t, f]);
    return [dx, dW, dR, dB, dBh];
  });
}

/** `x_t·W + b` of every step at once (one matmul), time-major: `[time, batch, 3·units]`. */
function inputProjection(xs: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const [n, t, f] = xs.shape;
  return tf.tidy(() =>
    tf.fused.matMul({ a: xs.reshape([n * t, f]), b: w, bias: b }).reshape([n, t, w.shape[1]])
      .transpose([1, 0, 2])
  );
}
