import { assertAlmostEquals } from "@std/assert";
import { fft } from "../../lib/signal/fft.ts";

function naiveDft(x: number[]): [number[], number[]] {
  const n = x.length, re: number[] = [], im: number[] = [];
  for (let k = 0; k < n; k++) {
    let r = 0, i = 0;
    for (let t = 0; t < n; t++) {
      r += x[t] * Math.cos((2 * Math.PI * k * t) / n);
      i -= x[t] * Math.sin((2 * Math.PI * k * t) / n);
    }
    re.push(r);
    im.push(i);
  }
  return [re, im];
}

Deno.test("fft: matches a naive DFT for power-of-two and other lengths, and inverts", () => {
  for (const n of [1, 2, 8, 12, 17, 100]) {
    const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.1 * i);
    const re = Float64Array.from(x), im = new Float64Array(n);
    fft(re, im);
    const [er, ei] = naiveDft(x);
    for (let k = 0; k < n; k++) {
      assertAlmostEquals(re[k], er[k], 1e-8);
      assertAlmostEquals(im[k], ei[k], 1e-8);
    }
    fft(re, im, true);
    for (let k = 0; k < n; k++) assertAlmostEquals(re[k], x[k], 1e-9);
  }
});
