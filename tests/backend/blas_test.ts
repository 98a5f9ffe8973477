/** OpenBLAS through FFI: sgemm/sgemv against a plain JS reference (skips without the library). */
import { assert } from "@std/assert";
import { loadOpenBlas } from "../../lib/backend/blas.ts";
import { relErr, seeded } from "./_grad_util.ts";

const { blas, reason } = loadOpenBlas();

Deno.test({
  name: "sgemv: y = alpha·op(A)·x (+ y), both forms",
  ignore: blas === null,
  fn() {
    const m = 7, n = 5;
    const a = seeded(m * n, 3);
    for (const trans of [false, true]) {
      const nx = trans ? m : n, ny = trans ? n : m;
      const x = seeded(nx, 4), y0 = seeded(ny, 5);
      const want = new Float32Array(ny);
      for (let i = 0; i < ny; i++) {
        let s = 0;
        for (let j = 0; j < nx; j++) s += (trans ? a[j * n + i] : a[i * n + j]) * x[j];
        want[i] = 0.5 * s + y0[i];
      }
      const y = y0.slice();
      blas!.sgemv(trans, m, n, 0.5, a, x, y, true);
      assert(relErr(y, want) < 1e-5, `trans=${trans}: rel err ${relErr(y, want)}`);
    }
  },
});

Deno.test({
  name: "sgemm: every transpose form against a JS reference",
  ignore: blas === null,
  fn() {
    const m = 4, n = 3, k = 6;
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = seeded(m * k, 1), b = seeded(k * n, 2), c = new Float32Array(m * n);
      const want = new Float32Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) {
            s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
          }
          want[i * n + j] = s;
        }
      }
      blas!.sgemm(ta, tb, m, n, k, a, b, c, false);
      assert(relErr(c, want) < 1e-5, `ta=${ta} tb=${tb}: rel err ${relErr(c, want)}`);
    }
  },
});

if (blas === null) console.log(`SKIP blas_test: ${reason}`);
