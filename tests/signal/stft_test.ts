// The library's STFT against torch.stft (oracle fixture), the spec's golden values
// (selfpab.md §6.3, computed with the numpy reference) and its frame counts (§7.0).
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { ConfigError } from "../../lib/errors.ts";
import { hannPeriodic, stft, stftFrameCount, stftInto } from "../../lib/signal/stft.ts";
import { rng } from "../../lib/random.ts";
import { oracle } from "../_helpers.ts";

const SELFPAB = { nFft: 50, hop: 25 } as const;

Deno.test("stft: equals torch.stft(n_fft=50, hop=25, periodic Hann, center=False) magnitudes", async () => {
  const dir = oracle("stft");
  if (!dir) return;
  const sig = await readNpy(join(dir, "signal.npy"));
  const ref = await readNpy(join(dir, "spectrogram.npy"));
  assertEquals(sig.shape, [6, 3000]);
  assertEquals(ref.shape, [119, 156]);
  const x = sig.data as Float32Array, want = ref.data as Float32Array;
  for (const method of ["dft", "fft"] as const) {
    for (let c = 0; c < 6; c++) {
      const s = stft(x.subarray(c * 3000, (c + 1) * 3000), { ...SELFPAB, method });
      assertEquals([s.frames, s.bins], [119, 26]);
      for (let t = 0; t < 119; t++) {
        // the oracle is float32 torch: its own rounding is ~2e-7 of a frame's peak, so tiny
        // bins (0.0035) are compared relative to that peak, every other value to itself
        let peak = 0;
        for (let f = 0; f < 26; f++) peak = Math.max(peak, want[t * 156 + c * 26 + f]);
        for (let f = 0; f < 26; f++) {
          const w = want[t * 156 + c * 26 + f], got = s.data[t * 26 + f];
          const tol = 1e-5 * Math.max(Math.abs(w), peak);
          assert(
            Math.abs(got - w) <= tol,
            `${method} channel ${c} frame ${t} bin ${f}: ${got} vs torch ${w}`,
          );
        }
      }
    }
  }
});

Deno.test("stft: golden values of selfpab.md §6.3", () => {
  const S = 100;
  const at = (fn: (t: number) => number) => Float64Array.from({ length: S }, (_, i) => fn(i / 50));
  const one = stft(at(() => 1), SELFPAB);
  assertEquals(one.frames, 3);
  for (let t = 0; t < 3; t++) {
    assertAlmostEquals(one.data[t * 26], 25, 1e-5);
    assertAlmostEquals(one.data[t * 26 + 1], 12.5, 1e-5);
    for (let f = 2; f < 26; f++) assertAlmostEquals(one.data[t * 26 + f], 0, 1e-5);
  }
  const half = stft(at(() => 0.5), SELFPAB);
  assertAlmostEquals(half.data[0], 12.5, 1e-5);
  assertAlmostEquals(half.data[1], 6.25, 1e-5);
  const cos5 = stft(at((t) => Math.cos(2 * Math.PI * 5 * t)), SELFPAB);
  for (let f = 0; f < 26; f++) {
    const want = f === 5 ? 12.5 : f === 4 || f === 6 ? 6.25 : 0;
    assertAlmostEquals(cos5.data[f], want, 1e-5, `bin ${f}`);
  }
  const sin25 = stft(at((t) => Math.sin(2 * Math.PI * 2.5 * t)), SELFPAB);
  const golden = [0.6063, 2.2231, 10.5644, 10.6350, 2.1072, 0.2936, 0.0945];
  golden.forEach((g, f) => assertAlmostEquals(sin25.data[f], g, 6e-5, `bin ${f}`));
});

Deno.test("stft: frame counts (center=False, tail dropped)", () => {
  const cases: [number, number][] = [[15000, 599], [15024, 599], [15025, 600], [50, 1], [49, 0], [
    0,
    0,
  ]];
  for (const [S, T] of cases) {
    assertEquals(stftFrameCount(S, 50, 25), T, `S = ${S}`);
    assertEquals(stft(new Float32Array(S), SELFPAB).frames, T, `stft S = ${S}`);
  }
  assertEquals(stft(new Float32Array(49), SELFPAB).data.length, 0);
});

Deno.test("stft: the periodic Hann is torch.hann_window (sum N/2, w[0] = 0, w[N/2] = 1)", () => {
  const w = hannPeriodic(50);
  let sum = 0;
  for (const v of w) sum += v;
  assertAlmostEquals(sum, 25, 1e-12); // symmetric Hann would sum to 24.5
  assertEquals(w[0], 0);
  assertAlmostEquals(w[25], 1, 1e-15);
  assert(w[49] > 0.003, "periodic: last weight is not 0");
});

Deno.test("stft: power, explicit windows, odd lengths, dft = fft for large nFft", () => {
  const r = rng(7);
  const x = Float64Array.from({ length: 1000 }, () => r.next() - 0.5);
  const mag = stft(x, SELFPAB), pow = stft(x, { ...SELFPAB, power: 2 });
  for (let i = 0; i < mag.data.length; i++) {
    assertAlmostEquals(pow.data[i], mag.data[i] ** 2, 1e-5 * (1 + pow.data[i]));
  }
  // rectangular window: a constant 1 gives bin 0 = nFft and nothing else
  const rect = stft(new Float32Array(64).fill(1), { nFft: 32, hop: 8, window: "rectangular" });
  assertEquals(rect.frames, 5);
  assertEquals(rect.bins, 17);
  assertAlmostEquals(rect.data[0], 32, 1e-5);
  for (let f = 1; f < 17; f++) assertAlmostEquals(rect.data[f], 0, 1e-5);
  const explicit = stft(x, { ...SELFPAB, window: hannPeriodic(50) });
  assertEquals(explicit.data, mag.data);
  // odd nFft: ⌊n/2⌋ + 1 bins; the DFT and FFT paths agree for every length
  for (const nFft of [7, 31, 32, 50, 65, 128, 200]) {
    const a = stft(x, { nFft, hop: 10, method: "dft" }),
      b = stft(x, { nFft, hop: 10, method: "fft" });
    assertEquals(a.bins, Math.floor(nFft / 2) + 1);
    assertEquals(a.frames, 1 + Math.floor((1000 - nFft) / 10));
    let peak = 0, err = 0;
    for (let i = 0; i < a.data.length; i++) {
      peak = Math.max(peak, a.data[i]);
      err = Math.max(err, Math.abs(a.data[i] - b.data[i]));
    }
    assert(err <= 1e-6 * peak, `nFft ${nFft}: dft vs fft differ by ${err} (peak ${peak})`);
  }
  // a 5 Hz cosine at 64 Hz with nFft 64 lands exactly on bin 5 (fft path: nFft > 64 is auto)
  const c = Float64Array.from({ length: 256 }, (_, i) => Math.cos((2 * Math.PI * 5 * i) / 128));
  const big = stft(c, { nFft: 128, hop: 64 });
  assertAlmostEquals(big.data[5], 32, 1e-4);
  assertAlmostEquals(big.data[4], 16, 1e-4);
});

Deno.test("stftInto: writes frames at a row stride and offset (channel-major layouts)", () => {
  const a = Float64Array.from({ length: 100 }, (_, i) => Math.sin(i / 3));
  const out = new Float32Array(3 * 52);
  assertEquals(stftInto(a, SELFPAB, out, 52, 26), 3);
  const s = stft(a, SELFPAB);
  for (let t = 0; t < 3; t++) {
    for (let f = 0; f < 26; f++) {
      assertEquals(out[t * 52 + 26 + f], s.data[t * 26 + f]);
      assertEquals(out[t * 52 + f], 0);
    }
  }
  assertThrows(() => stftInto(a, SELFPAB, new Float32Array(10), 26), ConfigError, "too small");
});

Deno.test("stft: bad arguments are ConfigErrors naming the argument", () => {
  const x = new Float32Array(100);
  assertThrows(() => stft(x, { nFft: 1, hop: 1 }), ConfigError, "nFft");
  assertThrows(() => stft(x, { nFft: 50, hop: 0 }), ConfigError, "hop");
  assertThrows(() => stft(x, { nFft: 50, hop: 2.5 }), ConfigError, "hop");
  assertThrows(
    () => stft(x, { nFft: 50, hop: 25, window: new Float64Array(49) }),
    ConfigError,
    "49 weights",
  );
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => stft(x, { nFft: 50, hop: 25, center: true as any }),
    ConfigError,
    "center",
  );
  // deno-lint-ignore no-explicit-any
  assertThrows(() => stft(x, { nFft: 50, hop: 25, power: 3 as any }), ConfigError, "power");
});
