import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { ConfigError } from "../../lib/errors.ts";
import {
  maskRegions,
  plotMasking,
  plotReconstruction,
  plotSpectrogram,
} from "../../lib/plots/spectrogram.ts";
import { teraAlter } from "../../lib/pretext/tera.ts";
import { rng } from "../../lib/random.ts";
import type { SpectrogramFrames } from "../../lib/signal/spectrogram.ts";

/** Frames whose value encodes (frame, channel, bin): 1000 t + 100 c + f. */
function coded(T: number, C: number, B: number): SpectrogramFrames {
  const F = C * B, data = new Float32Array(T * F);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      for (let f = 0; f < B; f++) data[t * F + c * B + f] = 1000 * t + 100 * c + f;
    }
  }
  return { data, frames: T, features: F, channels: C, bins: B };
}

Deno.test("plotSpectrogram: one panel per channel, z[bin][frame] of that channel, seconds and Hz", () => {
  const fr = coded(8, 3, 26);
  const fig = plotSpectrogram(fr, {
    channelNames: ["a", "b", "c"],
    hopSec: 0.5,
    rateHz: 50,
    startSec: 10,
    zTitle: "z",
  });
  assertEquals(fig.data.length, 3);
  fig.data.forEach((tr, c) => {
    assertEquals(tr.type, "heatmap");
    assertEquals(tr.coloraxis, "coloraxis");
    const z = tr.z!;
    assertEquals([z.length, z[0].length], [26, 8]);
    assertEquals(z[5][7], 1000 * 7 + 100 * c + 5);
    assertEquals(tr.yaxis, c === 0 ? "y" : `y${c + 1}`);
  });
  // frame t is centred at start + t·hop + nFft/(2·rate) = 10 + 0.5 t + 0.5; bin f at f Hz (50 Hz / 50)
  assertEquals((fig.data[0].x as number[])[0], 10.5);
  assertEquals((fig.data[0].x as number[])[3], 12);
  assertEquals((fig.data[0].y as number[])[25], 25);
  // panels are stacked top to bottom without overlap, the time axis under the last one
  const domains = [1, 2, 3].map((i) =>
    (fig.layout[i === 1 ? "yaxis" : `yaxis${i}`] as { domain: number[] }).domain
  );
  for (let i = 1; i < 3; i++) {
    assert(domains[i][1] < domains[i - 1][0], `panel ${i} overlaps panel ${i - 1}`);
  }
  assertEquals(fig.layout.xaxis!.anchor, "y3");
  assertEquals(fig.layout.xaxis!.title!.text, "time (s)");
  assertEquals((fig.layout.annotations ?? []).map((a) => a.text), [
    "<b>a</b>",
    "<b>b</b>",
    "<b>c</b>",
  ]);
  const ca = fig.layout.coloraxis as {
    cmin: number;
    cmax: number;
    colorbar: { title: { text: string } };
  };
  assertEquals(ca.colorbar.title.text, "z");
  assert(ca.cmin >= 0 && ca.cmax <= 7225 && ca.cmin < ca.cmax);
});

Deno.test("plotSpectrogram: the colour range ignores the top and bottom percent, or takes zRange", () => {
  const fr = coded(50, 1, 26);
  fr.data.fill(1);
  fr.data[7] = 1e6; // one glitch must not wash the rest out
  for (let i = 0; i < fr.data.length; i += 2) fr.data[i + 1] = 2;
  fr.data[7] = 1e6;
  const ca = plotSpectrogram(fr).layout.coloraxis as { cmin: number; cmax: number };
  assertEquals([ca.cmin, ca.cmax], [1, 2]);
  const fixed = plotSpectrogram(fr, { zRange: [-3, 3] }).layout.coloraxis as {
    cmin: number;
    cmax: number;
  };
  assertEquals([fixed.cmin, fixed.cmax], [-3, 3]);
  // channels subset in the given order
  const two = plotSpectrogram(coded(4, 3, 26), { channels: [2, 0] });
  assertEquals(two.data.map((t) => t.name), ["channel 2", "channel 0"]);
});

Deno.test("plotSpectrogram: clear errors on sizes, channels, names and non-finite values", () => {
  const fr = coded(4, 2, 26);
  assertThrows(
    () => plotSpectrogram({ ...fr, features: 50 }),
    ConfigError,
    "features 50 are not channels 2 × bins 26",
  );
  assertThrows(() => plotSpectrogram({ ...fr, frames: 5 }), ConfigError, "not frames 5");
  assertThrows(
    () => plotSpectrogram(fr, { channels: [2] }),
    ConfigError,
    "channel 2 is not in 0..1",
  );
  assertThrows(
    () => plotSpectrogram(fr, { channelNames: ["a"] }),
    ConfigError,
    "1 channelNames for 2 channels",
  );
  assertThrows(() => plotSpectrogram(fr, { hopSec: 0 }), ConfigError, "hopSec");
  assertThrows(() => plotSpectrogram(fr, { zRange: [1, 1] }), ConfigError, "zRange");
  const bad = { ...fr, data: fr.data.slice() };
  bad.data[2 * 52 + 26 + 3] = NaN;
  assertThrows(
    () => plotSpectrogram(bad, { channelNames: ["back", "thigh"] }),
    ConfigError,
    "thigh has a non-finite value (NaN) at frame 2, channel 1, bin 3",
  );
});

Deno.test("maskRegions: time spans are frames altered in every bin, bands are bins altered across frames", () => {
  const T = 20, C = 2, B = 26, F = C * B;
  const mask = new Float32Array(T * F);
  const span = (a: number, b: number) => {
    for (let t = a; t <= b; t++) for (let k = 0; k < F; k++) mask[t * F + k] = 1;
  };
  span(3, 5);
  span(6, 8); // adjacent spans merge
  span(15, 17);
  for (let t = 0; t < T; t++) {
    for (const c of [0, 1]) for (let f = 10; f <= 12; f++) mask[t * F + c * B + f] = 1;
  }
  assertEquals(maskRegions(mask, { frames: T, features: F, bins: B, channel: 1 }), {
    timeSpans: [[3, 8], [15, 17]],
    freqBands: [[10, 12]],
  });
  assertEquals(
    maskRegions(new Float32Array(T * F), { frames: T, features: F, bins: B, channel: 0 }),
    {
      timeSpans: [],
      freqBands: [],
    },
  );
});

Deno.test("plotMasking: clean above the altered input, outlines at the altered spans and band of a real TERA draw", () => {
  const fr = coded(60, 6, 26);
  let draw = null;
  for (let seed = 1; seed < 100 && !draw; seed++) {
    const a = teraAlter(fr.data, 60, rng(seed));
    if (
      a.alteration.branch === "zero" && a.alteration.freqStarts.length === 1 &&
      a.alteration.timeStarts.length > 0
    ) draw = a;
  }
  assert(draw, "no zero-branch draw with a band in 100 seeds");
  const fig = plotMasking(fr.data, draw.input, draw.mask, {
    frames: 60,
    features: 156,
    bins: 26,
    channel: 3,
    channelName: "thigh x",
  });
  assertEquals(fig.data.length, 2);
  assertEquals(fig.data[0].z![4][10], 1000 * 10 + 300 + 4);
  const regions = maskRegions(draw.mask, { frames: 60, features: 156, bins: 26, channel: 3 });
  const fb = draw.alteration.freqStarts[0];
  assertEquals(regions.freqBands, [[fb, fb + 2]]);
  // every zeroed span start is inside a time span
  for (const s of draw.alteration.timeStarts) {
    assert(regions.timeSpans.some(([a, b]) => s >= a && s <= b), `span ${s} not outlined`);
  }
  // the input is zero inside the spans
  for (const [a, b] of regions.timeSpans) {
    for (let t = a; t <= b; t++) assertEquals(fig.data[1].z![0][t], 0);
  }
  const shapes = fig.layout.shapes ?? [];
  assertEquals(shapes.length, 2 * (regions.timeSpans.length + regions.freqBands.length));
  const band = shapes.find((s) => s.line?.dash === "dot" && s.yref === "y2")!;
  assertAlmostEquals(band.y0 as number, fb - 0.5);
  assertAlmostEquals(band.y1 as number, fb + 2.5);
  assertThrows(
    () =>
      plotMasking(fr.data, draw!.input.subarray(1), draw!.mask, {
        frames: 60,
        features: 156,
        bins: 26,
        channel: 3,
      }),
    ConfigError,
    "input has 9359 values",
  );
  assertThrows(
    () =>
      plotMasking(fr.data, draw!.input, draw!.mask, {
        frames: 60,
        features: 156,
        bins: 26,
        channel: 6,
      }),
    ConfigError,
    "channel 6",
  );
});

Deno.test("plotReconstruction: truth, input and reconstruction panels; masked L1 on the drawn channel only", () => {
  const T = 10, F = 52, B = 26;
  const target = new Float32Array(T * F).fill(1);
  const input = target.slice(), rec = target.slice(), mask = new Float32Array(T * F);
  for (let f = 0; f < B; f++) {
    for (const t of [2, 3]) {
      mask[t * F + B + f] = 1; // channel 1
      input[t * F + B + f] = 0; // zeroed: |0 − 1| = 1
      rec[t * F + B + f] = 1.25; // off by 0.25
      rec[t * F + f] = 99; // channel 0 is not counted
    }
  }
  const fig = plotReconstruction(target, input, rec, mask, {
    frames: T,
    features: F,
    bins: B,
    channel: 1,
  });
  assertEquals(fig.data.map((t) => t.name), [
    "truth, channel 1",
    "masked input (masked L1 1.000)",
    "reconstruction (masked L1 0.250)",
  ]);
  assertEquals(maskRegions(mask, { frames: T, features: F, bins: B, channel: 1 }).timeSpans, [[
    2,
    3,
  ]]);
  const nan = rec.slice();
  nan[5] = Infinity;
  assertThrows(
    () =>
      plotReconstruction(target, input, nan, mask, { frames: T, features: F, bins: B, channel: 0 }),
    ConfigError,
    "reconstruction has a non-finite value (Infinity) at frame 0, channel 0, bin 5",
  );
});
