import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  extractFeatures,
  featureNames,
  handcraftFeatures,
} from "../../lib/features/handcrafted.ts";
import { findPeaks, welch } from "../../lib/features/welch.ts";
import { fft, powerSpectrum } from "../../lib/signal/fft.ts";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError } from "../../lib/errors.ts";

interface RefCase {
  rateHz: number;
  x: number[];
  y: number[];
  z: number[];
  features: Record<string, number>;
  welchFreqs: number[];
  welchPsd: number[];
}

const ref: RefCase[] = JSON.parse(
  await Deno.readTextFile(new URL("./handcraft_ref.json", import.meta.url)),
);

function sine(n: number, rateHz: number, freqHz: number, amp = 1, offset = 0): Float64Array {
  return Float64Array.from(
    { length: n },
    (_, i) => offset + amp * Math.sin(2 * Math.PI * freqHz * i / rateHz),
  );
}

Deno.test("fft matches a direct DFT for power-of-two and other lengths", () => {
  for (const n of [1, 2, 8, 90, 300, 17]) {
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.1 * i);
    const re = Float64Array.from(x), im = new Float64Array(n);
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let r = 0, s = 0;
      for (let j = 0; j < n; j++) {
        r += x[j] * Math.cos(2 * Math.PI * j * k / n);
        s -= x[j] * Math.sin(2 * Math.PI * j * k / n);
      }
      assertAlmostEquals(re[k], r, 1e-9 * Math.max(1, n));
      assertAlmostEquals(im[k], s, 1e-9 * Math.max(1, n));
    }
    // inverse round trip
    fft(re, im, true);
    for (let j = 0; j < n; j++) assertAlmostEquals(re[j], x[j], 1e-9);
  }
  assertEquals(Array.from(powerSpectrum([1, 1, 1, 1])), [16, 0, 0]);
});

Deno.test("welch and findPeaks match SciPy", () => {
  for (const c of ref) {
    const m = c.x.map((_, i) => Math.hypot(c.x[i], c.y[i], c.z[i]));
    const { freqsHz, psd } = welch(m, {
      rateHz: c.rateHz,
      nperseg: 90,
      noverlap: 60,
      detrend: "constant",
      average: "median",
    });
    assertEquals(freqsHz.length, c.welchFreqs.length);
    for (let k = 0; k < psd.length; k++) {
      assertAlmostEquals(freqsHz[k], c.welchFreqs[k], 1e-12);
      assertAlmostEquals(psd[k], c.welchPsd[k], 1e-9 + 1e-7 * Math.abs(c.welchPsd[k]));
    }
  }
  assertEquals(findPeaks([0, 2, 1, 3, 3, 3, 0]), [1, 4]);
  assertEquals(findPeaks([3, 1, 1, 2]), []);
  assertEquals(findPeaks([0, 1, 1, 2, 2, 0]), [3]);
});

Deno.test("ssl-wearables features equal the NumPy/SciPy reference", () => {
  const names = featureNames("ssl-wearables");
  assertEquals(names.length, 22);
  for (const [i, c] of ref.entries()) {
    const f = handcraftFeatures(c.x, c.y, c.z, c.rateHz);
    assertEquals(f.length, names.length);
    names.forEach((name, j) => {
      const want = c.features[name];
      assert(want !== undefined, `reference lacks ${name}`);
      assertAlmostEquals(
        f[j],
        want,
        1e-6 + 1e-6 * Math.abs(want),
        `case ${i} ${name}: ${f[j]} vs ${want}`,
      );
    });
  }
});

Deno.test("features on known signals: sine frequency, constant signal", () => {
  const rateHz = 30, n = 300;
  // A 2 Hz sine on z: dominant frequency of the magnitude is 2 Hz (|sin| folds to 4 Hz,
  // so put the sine on top of a 1 g offset where m ≈ 1 + 0.3 sin).
  const z = sine(n, rateHz, 2, 0.3, 1);
  const zeros = new Float64Array(n);
  const names = featureNames("extended");
  const f = handcraftFeatures(zeros, zeros, z, rateHz, { set: "extended" });
  const get = (k: string) => f[names.indexOf(k)];
  assertAlmostEquals(get("f1"), 2, 1e-9);
  assertAlmostEquals(get("zMean"), 1, 1e-9);
  assertAlmostEquals(get("zStd"), 0.3 / Math.SQRT2, 1e-3);
  assertAlmostEquals(get("zRange"), 0.6, 1e-2);
  // nearly all detrended power sits in the 1–3 Hz bands (the Hann main lobe is ±1/3 Hz wide).
  const inBand = get("bp1_2") + get("bp2_3");
  assert(inBand > 0.99 * get("power"), `band power ${inBand} of ${get("power")}`);
  assert(get("bp5_8") < 1e-6 * get("power"));
  // autocorrelation: 1 s is 2 full periods -> ≈ 1; peak lag 0.5 s.
  assert(get("acf1s") > 0.85, `acf1s ${get("acf1s")}`);
  assertAlmostEquals(get("acfPeakLagSec"), 0.5, 1e-9);

  const c = Float64Array.from({ length: n }, () => 1);
  const fc = handcraftFeatures(zeros, zeros, c, rateHz, { set: "extended" });
  const getc = (k: string) => fc[names.indexOf(k)];
  for (const k of ["xStd", "zStd", "std", "range", "mad", "skew", "kurt", "enmomean", "f1", "f2"]) {
    assertEquals(getc(k), 0, k);
  }
  assertEquals(getc("xyCorr"), 0);
  assertAlmostEquals(getc("mean"), 1, 1e-12);
  for (const v of fc) assert(Number.isFinite(v));
});

Deno.test("extractFeatures: shape, names, per-sensor prefixes and errors", () => {
  const rateHz = 30, length = 300;
  const mk = (channels: number, n: number): Windows => {
    const x = new Float32Array(n * channels * length);
    for (let w = 0; w < n; w++) {
      for (let c = 0; c < channels; c++) {
        // only z moves: 1 g ± 0.2 g at (1 + w + sensor) Hz.
        if (c % 3 !== 2) continue;
        const s = sine(length, rateHz, 1 + w + Math.floor(c / 3), 0.2, 1);
        x.set(s, (w * channels + c) * length);
      }
    }
    return {
      x,
      n,
      channels,
      length,
      y: new Int32Array(n),
      classes: ["a"],
      subject: Array(n).fill("s"),
      rateHz,
    };
  };
  const fm = extractFeatures(mk(3, 2));
  assertEquals(fm.nFeatures, 22);
  assertEquals(fm.X.length, 2 * 22);
  assertAlmostEquals(fm.X[fm.names.indexOf("f1")], 1, 1e-6);
  assertAlmostEquals(fm.X[22 + fm.names.indexOf("f1")], 2, 1e-6);
  const f6 = extractFeatures(mk(6, 1), { set: "extended" });
  assertEquals(f6.nFeatures, 2 * 67);
  assertEquals(f6.names[0], "s0_xMean");
  assertEquals(f6.names[67], "s1_xMean");
  assertAlmostEquals(f6.X[f6.names.indexOf("s0_f1")], 1, 1e-6);
  assertAlmostEquals(f6.X[f6.names.indexOf("s1_f1")], 2, 1e-6);
  assertThrows(() => extractFeatures(mk(2, 1)), ConfigError, "multiple of 3");
});
