/**
 * `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter`
 * for the wasm backend as im2col + GEMM over a {@link HeapGemm} (channels-last,
 * as tfjs uses; `conv1d` reaches these as a conv2d of height 1).
 *
 * - forward: `out[rows, Cout] = cols[rows, FH·FW·Cin] · W[FH·FW·Cin, Cout]`
 * - filter gradient: `dW = colsᵀ · dy`, accumulated over batch chunks
 * - input gradient: `dcols = dy · Wᵀ`, then col2im (scatter-add) into dx
 *
 * Work is chunked over the batch so the scratch `cols` matrix stays under
 * {@link CONV_SCRATCH_FLOATS} floats.
 *
 * With our native kernels (native.ts) every non-pointwise convolution runs
 * as a direct convolution instead (no im2col matrix, no col2im scatter);
 * 1×1 convolutions stay a single GEMM.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm, HeapGemm } from "./heap_gemm.ts";
import { heapAlloc, heapF32, heapFree, offsetOf } from "./heap_gemm.ts";
import { applyBiasActivation } from "./matmul_kernels.ts";
import type { NativeKernels } from "./native.ts";
import { hasNonFinite } from "./nan_guard.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;
type ConvInfo = tf.backend_util.Conv2DInfo;

/** Upper bound (float32 elements, i.e. 4 bytes each) of one im2col scratch chunk: 16 MiB. */
export const CONV_SCRATCH_FLOATS = 4 * 1024 * 1024;

function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  dilations: number | [number, number] = 1,
): ConvInfo {
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? "NHWC");
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    fmt,
  );
}

/** The int32 geometry the native kernels take (see native.ts `ConvGeometry`). */
export function nativeGeometry(c: ConvInfo): Int32Array {
  return new Int32Array([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

/** True when the convolution is a 1×1, stride-1, unpadded one (cols = x itself). */
function isPointwise(c: ConvInfo): boolean {
  const p = c.padInfo;
  return c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 &&
    c.strideWidth === 1 && p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0;
}

/** Samples per im2col chunk. */
function chunkSamples(c: ConvInfo): number {
  const perSample = c.outHeight * c.outWidth * c.filterHeight * c.filterWidth * c.inChannels;
  return Math.max(
    1,
    Math.min(c.batchSize, Math.floor(CONV_SCRATCH_FLOATS / Math.max(1, perSample))),
  );
}

/**
 * Fill `cols` (heap offset) with the im2col matrix of samples [n0, n0+nb) of
 * the NHWC input at heap offset `x`: row `(n, oh, ow)`, column `(kh, kw, c)`.
 */
export function im2col(
  h: Float32Array,
  x: number,
  cols: number,
  c: ConvInfo,
  n0: number,
  nb: number,
): void {
  const H = c.inHeight, W = c.inWidth, C = c.inChannels;
  const OH = c.outHeight, OW = c.outWidth, FH = c.filterHeight, FW = c.filterWidth;
  const sh = c.strideHeight, sw = c.strideWidth, dh = c.dilationHeight, dw = c.dilationWidth;
  const pt = c.padInfo.top, pl = c.padInfo.left;
  const rowW = FW * C;
  let r = cols;
  for (let n = n0; n < n0 + nb; n++) {
    const xn = x + n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        const wholeRow = dw === 1 && iw0 >= 0 && iw0 + FW <= W;
        for (let kh = 0; kh < FH; kh++) {
          const ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            h.fill(0, r, r + rowW);
            r += rowW;
            continue;
          }
          const xr = xn + ih * W * C;
          if (wholeRow) {
            const s = xr + iw0 * C;
            if (rowW >= 64) h.copyWithin(r, s, s + rowW);
            else for (let i = 0; i < rowW; i++) h[r + i] = h[s + i];
            r += rowW;
            continue;
          }
          for (let kw = 0; kw < FW; kw++) {
            const iw = iw0 + kw * dw;
            if (iw < 0 || iw >= W) {
              for (let i = 0; i < C; i++) h[r + i] = 0;
            } else {
              const s = xr + iw * C;
              if (C >= 64) h.copyWithin(r, s, s + C);
              else for (let i = 0; i < C; i++) h[r + i] = h[s + i];
            }
            r += C;
          }
        }
      }
    }
  }
}

/** Scatter-add the im2col-shaped `cols` of samples [n0, n0+nb) into the NHWC `dx` (heap offsets). */
export function col2im(
  h: Float32Array,
  cols: number,
  dx: number,
  c: ConvInfo,
  n0: number,
  nb: number,
): void {
  const H = c.inHeight, W = c.inWidth, C = c.inChannels;
  const OH = c.outHeight, OW = c.outWidth, FH = c.filterHeight, FW = c.filterWidth;
  const sh = c.strideHeight, sw = c.strideWidth, dh = c.dilationHeight, dw = c.dilationWidth;
  const pt = c.padInfo.top, pl = c.padInfo.left;
  const rowW = FW * C;
  let r = cols;
  for (let n = n0; n < n0 + nb; n++) {
    const xn = dx + n * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        for (let kh = 0; kh < FH; kh++) {
          const ih = oh * sh - pt + kh * dh;
          if (ih < 0 || ih >= H) {
            r += rowW;
            continue;
          }
          const xr = xn + ih * W * C;
          for (let kw = 0; kw < FW; kw++) {
            const iw = iw0 + kw * dw;
            if (iw >= 0 && iw < W) {
              const d = xr + iw * C;
              for (let i = 0; i < C; i++) h[d + i] += h[r + i];
            }
            r += C;
          }
        }
      }
    }
  }
}

/** Forward convolution `x * filter` (NHWC) on the heap. */
export function heapConv2D(
  backend: BackendWasm,
  gemm: HeapGemm,
  x: Info,
  filter: Info,
  c: ConvInfo,
): Info {
  const out = backend.makeOutput(
    [c.batchSize, c.outHeight, c.outWidth, c.outChannels],
    "float32",
  );
  const xOff = offsetOf(backend, x.dataId), wOff = offsetOf(backend, filter.dataId);
  const oOff = offsetOf(backend, out.dataId);
  const KK = c.filterHeight * c.filterWidth * c.inChannels, Cout = c.outChannels;
  const rowsPer = c.outHeight * c.outWidth;
  if (isPointwise(c)) {
    gemm.sgemm(false, false, c.batchSize * rowsPer, Cout, KK, xOff, wOff, oOff, false);
    return out;
  }
  const nbMax = chunkSamples(c);
  const cols = heapAlloc(backend, nbMax * rowsPer * KK);
  try {
    for (let n0 = 0; n0 < c.batchSize; n0 += nbMax) {
      const nb = Math.min(nbMax, c.batchSize - n0);
      im2col(heapF32(backend), xOff, cols, c, n0, nb);
      gemm.sgemm(
        false,
        false,
        nb * rowsPer,
        Cout,
        KK,
        cols,
        wOff,
        oOff + n0 * rowsPer * Cout,
        false,
      );
    }
  } finally {
    heapFree(backend, cols);
  }
  return out;
}

/** Filter gradient `dW[FH, FW, Cin, Cout]` of a conv with input `x` and output gradient `dy`. */
export function heapConv2DBackpropFilter(
  backend: BackendWasm,
  gemm: HeapGemm,
  x: Info,
  dy: Info,
  c: ConvInfo,
): Info {
  const dw = backend.makeOutput(
    [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels],
    "float32",
  );
  const xOff = offsetOf(backend, x.dataId), dyOff = offsetOf(backend, dy.dataId);
  const dwOff = offsetOf(backend, dw.dataId);
  const KK = c.filterHeight * c.filterWidth * c.inChannels, Cout = c.outChannels;
  const rowsPer = c.outHeight * c.outWidth;
  if (c.batchSize * rowsPer === 0) {
    heapF32(backend).fill(0, dwOff, dwOff + KK * Cout);
    return dw;
  }
  if (isPointwise(c)) {
    gemm.sgemm(true, false, KK, Cout, c.batchSize * rowsPer, xOff, dyOff, dwOff, false);
    return dw;
  }
  const nbMax = chunkSamples(c);
  const cols = heapAlloc(backend, nbMax * rowsPer * KK);
  try {
    for (let n0 = 0; n0 < c.batchSize; n0 += nbMax) {
      const nb = Math.min(nbMax, c.batchSize - n0);
      im2col(heapF32(backend), xOff, cols, c, n0, nb);
      gemm.sgemm(
        true,
        false,
        KK,
        Cout,
        nb * rowsPer,
        cols,
        dyOff + n0 * rowsPer * Cout,
        dwOff,
        n0 > 0,
      );
    }
  } finally {
    heapFree(backend, cols);
  }
  return dw;
}

/** Input gradient `dx` (shape `c.inShape`) of a conv with output gradient `dy` and `filter`. */
export function heapConv2DBackpropInput(
  backend: BackendWasm,
  gemm: HeapGemm,
  dy: Info,
  filter: Info,
  c: ConvInfo,
): Info {
  if (
    c.strideHeight === 1 && c.strideWidth === 1 && c.dilationHeight === 1 &&
    c.dilationWidth === 1 && !isPointwise(c) && c.inChannels >= 16
  ) {
    // (a narrow Cin would make the flipped conv's GEMM N = Cin: slow in BLAS)
    return backpropInputAsConv(backend, gemm, dy, filter, c);
  }
  const dx = backend.makeOutput(
    [c.batchSize, c.inHeight, c.inWidth, c.inChannels],
    "float32",
  );
  const dyOff = offsetOf(backend, dy.dataId), wOff = offsetOf(backend, filter.dataId);
  const dxOff = offsetOf(backend, dx.dataId);
  const KK = c.filterHeight * c.filterWidth * c.inChannels, Cout = c.outChannels;
  const rowsPer = c.outHeight * c.outWidth;
  if (isPointwise(c)) {
    gemm.sgemm(false, true, c.batchSize * rowsPer, KK, Cout, dyOff, wOff, dxOff, false);
    return dx;
  }
  heapF32(backend).fill(0, dxOff, dxOff + c.batchSize * c.inHeight * c.inWidth * c.inChannels);
  const nbMax = chunkSamples(c);
  const cols = heapAlloc(backend, nbMax * rowsPer * KK);
  try {
    for (let n0 = 0; n0 < c.batchSize; n0 += nbMax) {
      const nb = Math.min(nbMax, c.batchSize - n0);
      gemm.sgemm(
        false,
        true,
        nb * rowsPer,
        KK,
        Cout,
        dyOff + n0 * rowsPer * Cout,
        wOff,
        cols,
        false,
      );
      col2im(heapF32(backend), cols, dxOff, c, n0, nb);
    }
  } finally {
    heapFree(backend, cols);
  }
  return dx;
}

/**
 * Stride-1 input gradient as a forward correlation of `dy` with the flipped,
 * in/out-swapped filter (im2col is a block copy; no scatter-add):
 * `dx[i] = Σ_k dy[i + pad - k] · W[k]ᵀ = Σ_j dy[i - (F-1-pad) + j] · W[F-1-j]ᵀ`.
 */
function backpropInputAsConv(
  backend: BackendWasm,
  gemm: HeapGemm,
  dy: Info,
  filter: Info,
  c: ConvInfo,
): Info {
  const FH = c.filterHeight, FW = c.filterWidth, Cin = c.inChannels, Cout = c.outChannels;
  const flipped = backend.makeOutput([FH, FW, Cout, Cin], "float32");
  const h = heapF32(backend);
  const src = offsetOf(backend, filter.dataId), dst = offsetOf(backend, flipped.dataId);
  for (let kh = 0; kh < FH; kh++) {
    for (let kw = 0; kw < FW; kw++) {
      const s = src + ((FH - 1 - kh) * FW + (FW - 1 - kw)) * Cin * Cout;
      const d = dst + (kh * FW + kw) * Cout * Cin;
      for (let ci = 0; ci < Cin; ci++) {
        for (let co = 0; co < Cout; co++) h[d + co * Cin + ci] = h[s + ci * Cout + co];
      }
    }
  }
  const top = FH - 1 - c.padInfo.top, left = FW - 1 - c.padInfo.left;
  const info = {
    ...c,
    inHeight: c.outHeight,
    inWidth: c.outWidth,
    inChannels: Cout,
    outHeight: c.inHeight,
    outWidth: c.inWidth,
    outChannels: Cin,
    padInfo: { ...c.padInfo, top, left, bottom: -1, right: -1 },
  } as ConvInfo;
  try {
    return heapConv2D(backend, gemm, dy, flipped, info);
  } finally {
    backend.disposeData(flipped.dataId);
  }
}

/**
 * Kernel configs over `gemm` (and `native` when given). `forward` also
 * replaces `Conv2D`/`FusedConv2D` (worth it with BLAS or native kernels; the
 * stock XNNPACK forward is already good on plain wasm). NCHW and non-float
 * inputs go to `original`.
 */
export function convKernels(
  gemm: HeapGemm,
  original: (name: string) => tf.KernelConfig | undefined,
  forward: boolean,
  native: NativeKernels | null = null,
): tf.KernelConfig[] {
  const heap = (be: BackendWasm) => be.wasm.HEAPU8;
  const off = (be: BackendWasm, t: Info) => offsetOf(be, t.dataId);
  const nativeFwd = (
    be: BackendWasm,
    x: Info,
    filter: Info,
    c: ConvInfo,
    bias?: Info,
    relu = false,
  ) => {
    const out = be.makeOutput([c.batchSize, c.outHeight, c.outWidth, c.outChannels], "float32");
    // Winograd mixes a tile's inputs: one NaN/Inf would spread to its whole
    // output tile (and Inf - Inf gives NaN), so non-finite inputs take the
    // direct convolution, which has NaN exactly where cpu has it
    const inputs: Record<string, Info> = bias ? { x, filter, bias } : { x, filter };
    const direct = hasNonFinite(be, inputs);
    const wino = direct ? native!.setWinograd(false) : false;
    try {
      native!.convForward(
        heap(be),
        off(be, x),
        off(be, filter),
        off(be, out),
        bias ? off(be, bias) : -1,
        nativeGeometry(c),
        relu ? 1 : 0,
      );
    } finally {
      if (direct) native!.setWinograd(wino);
    }
    return out;
  };
  // every non-pointwise conv: the native kernels cover all channel counts
  const useNative = (c: ConvInfo) => native !== null && !isPointwise(c);
  const nhwc = (attrs: Attrs) => (attrs.dataFormat ?? "NHWC") === "NHWC";
  const conv2d: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as Record<string, Info>;
    const a = attrs as Attrs;
    if (!nhwc(a) || x.dtype !== "float32") {
      return original("Conv2D")!.kernelFunc({ inputs, backend, attrs });
    }
    const c = convInfoOf(x.shape, filter.shape, a, a.dilations);
    const be = backend as unknown as BackendWasm;
    if (useNative(c)) return nativeFwd(be, x, filter, c);
    return heapConv2D(be, gemm, x, filter, c);
  };
  const fusedConv2d: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, Info>;
    const a = attrs as Attrs;
    if (!nhwc(a) || x.dtype !== "float32") {
      return original("FusedConv2D")!.kernelFunc({ inputs, backend, attrs });
    }
    const be = backend as unknown as BackendWasm;
    const c = convInfoOf(x.shape, filter.shape, a, a.dilations);
    const act = a.activation ?? "linear";
    const perChannelBias = !bias || (bias.shape.length === 1 && bias.shape[0] === c.outChannels);
    if (useNative(c) && perChannelBias && (act === "linear" || act === "relu")) {
      // bias and ReLU fused into the native kernel's store
      return nativeFwd(be, x, filter, c, bias, act === "relu");
    }
    const out = useNative(c) ? nativeFwd(be, x, filter, c) : heapConv2D(be, gemm, x, filter, c);
    return applyBiasActivation(be, out, bias, act, preluActivationWeights, a.leakyreluAlpha);
  };
  const backpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as Record<string, Info>;
    const a = attrs as Attrs;
    if (!nhwc(a)) throw new Error("Conv2DBackpropFilter (wasm): only NHWC is supported");
    const c = convInfoOf(x.shape, a.filterShape, a);
    const be = backend as unknown as BackendWasm;
    if (useNative(c) && x.dtype === "float32") {
      const dw = be.makeOutput(a.filterShape, "float32");
      native!.convBackpropFilter(heap(be), off(be, x), off(be, dy), off(be, dw), nativeGeometry(c));
      return dw;
    }
    return heapConv2DBackpropFilter(be, gemm, x, dy, c);
  };
  const backpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as Record<string, Info>;
    const a = attrs as Attrs;
    if (!nhwc(a)) return original("Conv2DBackpropInput")!.kernelFunc({ inputs, backend, attrs });
    const c = convInfoOf(a.inputShape, filter.shape, a);
    const be = backend as unknown as BackendWasm;
    if (useNative(c) && dy.dtype === "float32") {
      const dx = be.makeOutput(a.inputShape, "float32");
      native!.convBackpropInput(
        heap(be),
        off(be, dy),
        off(be, filter),
        off(be, dx),
        nativeGeometry(c),
      );
      return dx;
    }
    return heapConv2DBackpropInput(be, gemm, dy, filter, c);
  };
  const configs: tf.KernelConfig[] = [
    { kernelName: "Conv2DBackpropFilter", backendName: "wasm", kernelFunc: backpropFilter },
    { kernelName: "Conv2DBackpropInput", backendName: "wasm", kernelFunc: backpropInput },
  ];
  if (forward) {
    configs.push(
      { kernelName: "Conv2D", backendName: "wasm", kernelFunc: conv2d },
      { kernelName: "FusedConv2D", backendName: "wasm", kernelFunc: fusedConv2d },
    );
  }
  return configs;
}
