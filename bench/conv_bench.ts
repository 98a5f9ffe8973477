/**
 * Convolution kernel benchmark: GFLOP/s of our native kernels (direct and
 * Winograd, forward / input gradient / filter gradient) on the benchmark
 * models' conv shapes, next to OpenBLAS `sgemm` on the same GEMM (without
 * the im2col copy it would also need) and a square 1024³ sgemm (the core's
 * practical peak). One thread; best of `--repeats` calls. Writes
 * `bench/conv_results.json`.
 *
 * ```sh
 * deno task bench:conv            # or: deno run -A bench/conv_bench.ts --repeats=15 --out=
 * ```
 * @module
 */
import { loadNativeKernels } from "../lib/backend/native.ts";
import { loadOpenBlas } from "../lib/backend/blas.ts";
import { cpuModel } from "./train_bench.ts";

/** One conv shape: batch, input H×W×C, output channels, filter FH×FW, stride. */
export interface ConvCase {
  /** Which benchmark model has this layer. */
  model: string;
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  fh: number;
  fw: number;
  stride: number;
}

/**
 * The models' wide layers at a worker's share of the batch (2 workers).
 * `multiresnet`: lib/models/multi_resnet.ts's (bench/models.ts
 * BENCH_MULTIRESNET; each runs once per axis); `multiresnet2d-guess`: the
 * earlier 2-D-conv guess at that architecture (bench/torch_reference.py
 * `MultiResNet2dGuess`), kept for comparison with older results.
 */
export const CONV_CASES: ConvCase[] = [
  { model: "resnet1d", n: 32, h: 1, w: 300, c: 64, k: 64, fh: 1, fw: 5, stride: 1 },
  { model: "resnet1d", n: 32, h: 1, w: 150, c: 128, k: 128, fh: 1, fw: 5, stride: 1 },
  { model: "resnet1d", n: 32, h: 1, w: 75, c: 256, k: 256, fh: 1, fw: 5, stride: 1 },
  { model: "resnet1d", n: 32, h: 1, w: 300, c: 64, k: 128, fh: 1, fw: 5, stride: 2 },
  { model: "multiresnet", n: 128, h: 1, w: 80, c: 16, k: 16, fh: 1, fw: 5, stride: 1 },
  { model: "multiresnet", n: 128, h: 1, w: 39, c: 32, k: 32, fh: 1, fw: 5, stride: 1 },
  { model: "multiresnet", n: 128, h: 1, w: 19, c: 32, k: 64, fh: 1, fw: 8, stride: 1 },
  { model: "multiresnet", n: 128, h: 1, w: 19, c: 64, k: 64, fh: 1, fw: 5, stride: 1 },
  { model: "multiresnet2d-guess", n: 128, h: 33, w: 13, c: 32, k: 32, fh: 3, fw: 3, stride: 1 },
  { model: "multiresnet2d-guess", n: 128, h: 1, w: 100, c: 32, k: 32, fh: 1, fw: 5, stride: 1 },
  { model: "multiresnet2d-guess", n: 128, h: 33, w: 13, c: 3, k: 32, fh: 3, fw: 3, stride: 1 },
];

/** One benchmark row (GFLOP/s count the direct convolution's multiply-adds). */
export interface ConvBenchRow extends ConvCase {
  /** Native kernels with Winograd on (it applies to 1-D stride-1 kernels 3–5, ≥ 16 channels). */
  winograd: { fwd: number; dx: number; dw: number };
  /** Native direct kernels only. */
  direct: { fwd: number; dx: number; dw: number };
  /** OpenBLAS sgemm of the forward GEMM (rows × K·C by K·C × Cout), no im2col. */
  blasGemm: number;
  /** max |Winograd − direct| / max |direct| over the forward output (0 where Winograd does not apply). */
  winogradRelErr: number;
}

function best(f: () => void, repeats: number): number {
  f();
  let b = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
}

/** Run the benchmark; null native/BLAS fields are reported as NaN. */
export function runConvBench(repeats = 15): { peakGflops: number; rows: ConvBenchRow[] } {
  const { native, reason } = loadNativeKernels();
  if (!native) throw new Error(`conv bench: native kernels unavailable (${reason})`);
  const { blas } = loadOpenBlas({ threads: 1 });
  const gf = (flop: number, ms: number) => Math.round(flop / ms / 1e6);
  let peakGflops = NaN;
  if (blas) {
    const n = 1024, a = new Float32Array(n * n).fill(0.5), c = new Float32Array(n * n);
    peakGflops = gf(2 * n ** 3, best(() => blas.sgemm(false, false, n, n, n, a, a, c, false), 5));
  }
  const rows: ConvBenchRow[] = [];
  for (const cs of CONV_CASES) {
    const oh = Math.ceil(cs.h / cs.stride), ow = Math.ceil(cs.w / cs.stride);
    const pt = Math.floor(Math.max(0, (oh - 1) * cs.stride + cs.fh - cs.h) / 2);
    const pl = Math.floor(Math.max(0, (ow - 1) * cs.stride + cs.fw - cs.w) / 2);
    const g = new Int32Array([
      cs.n,
      cs.h,
      cs.w,
      cs.c,
      oh,
      ow,
      cs.k,
      cs.fh,
      cs.fw,
      cs.stride,
      cs.stride,
      1,
      1,
      pt,
      pl,
    ]);
    const xs = cs.n * cs.h * cs.w * cs.c, ws = cs.fh * cs.fw * cs.c * cs.k;
    const ys = cs.n * oh * ow * cs.k;
    const f = new Float32Array(2 * xs + 2 * ws + ys).map((_, i) => Math.sin(i) * 0.5);
    const heap = new Uint8Array(f.buffer);
    const x = 0, w = xs, y = xs + ws, dx = y + ys, dw = dx + xs;
    const flop = 2 * cs.n * oh * ow * cs.k * cs.fh * cs.fw * cs.c;
    const measure = () => ({
      fwd: gf(flop, best(() => native.convForward(heap, x, w, y, -1, g, 0), repeats)),
      dx: gf(flop, best(() => native.convBackpropInput(heap, y, w, dx, g), repeats)),
      dw: gf(flop, best(() => native.convBackpropFilter(heap, x, y, dw, g), repeats)),
    });
    const forward = (wino: boolean) => {
      native.setWinograd(wino);
      native.convForward(heap, x, w, y, -1, g, 0);
      return f.slice(y, y + ys);
    };
    const yDirect = forward(false), yWino = forward(true);
    let num = 0, den = 0;
    for (let i = 0; i < ys; i++) {
      num = Math.max(num, Math.abs(yWino[i] - yDirect[i]));
      den = Math.max(den, Math.abs(yDirect[i]));
    }
    const winogradRelErr = Number((num / den).toPrecision(2));
    native.setWinograd(true);
    const winograd = measure();
    native.setWinograd(false);
    const direct = measure();
    native.setWinograd(true);
    let blasGemm = NaN;
    if (blas) {
      const m = cs.n * oh * ow, kk = cs.fh * cs.fw * cs.c;
      const a = new Float32Array(m * kk).fill(0.5), c = new Float32Array(m * cs.k);
      blasGemm = gf(
        flop,
        best(
          () => blas.sgemm(false, false, m, cs.k, kk, a, f.subarray(w, w + ws), c, false),
          repeats,
        ),
      );
    }
    rows.push({ ...cs, winograd, direct, blasGemm, winogradRelErr });
  }
  return { peakGflops, rows };
}

if (import.meta.main) {
  const get = (k: string) => Deno.args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const repeats = Number(get("repeats") ?? 15);
  const out = get("out") ?? new URL("./conv_results.json", import.meta.url).pathname;
  const { peakGflops, rows } = runConvBench(repeats);
  console.log(`OpenBLAS sgemm 1024³, 1 thread: ${peakGflops} GFLOP/s`);
  for (const r of rows) {
    const t = (v: { fwd: number; dx: number; dw: number }) => `${v.fwd}/${v.dx}/${v.dw}`.padEnd(12);
    console.log(
      `${r.model.padEnd(19)} N${r.n} ${r.h}x${r.w}x${r.c}->${r.k} f${r.fh}x${r.fw} s${r.stride}`
        .padEnd(55) +
        `winograd ${t(r.winograd)} direct ${t(r.direct)} blas gemm ${r.blasGemm} GFLOP/s` +
        `  winograd rel err ${r.winogradRelErr}`,
    );
  }
  if (out) {
    const doc = { date: new Date().toISOString(), cpu: cpuModel(), peakGflops, rows };
    await Deno.writeTextFile(out, JSON.stringify(doc, null, 2) + "\n");
    console.log(`wrote ${out}`);
  }
}
