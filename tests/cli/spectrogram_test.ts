import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { parseSpectrogramArgs, run, summary } from "../../cli/spectrogram.ts";
import { readNpy, writeNpy } from "../../lib/data/npy.ts";
import { UsageError } from "../../lib/cli.ts";
import { DataFormatError } from "../../lib/errors.ts";
import { hunt4NormDir, readNormParams } from "../../lib/signal/spectrogram.ts";
import { sharedData, tempDir } from "../_helpers.ts";

interface Info {
  nFft: number;
  hop: number;
  rateHz: number;
  norm: string;
  features: number;
  channels: string[];
  classes: string[];
  shape: number[];
  recordings: { recording: string; frames: number; windows?: number; offset: number }[];
}

const readInfo = async (dir: string) =>
  JSON.parse(await Deno.readTextFile(join(dir, "info.json"))) as Info;

Deno.test("har spectrogram: Daphnet windows and frames layouts agree, shapes, labels, mask", async () => {
  const data = sharedData();
  if (!data || !sharedData("daphnet-fog")) return;
  const tmp = await tempDir();
  try {
    assert(summary.includes("spectrogram"));
    const win = join(tmp.path, "win"), fr = join(tmp.path, "frames");
    const common = ["--dataset", "daphnet", "--subjects", "S03", "--data-dir", data];
    await run([...common, "--window-frames", "120", "--shift-frames", "60", "--out", win]);
    await run([...common, "--layout", "frames", "--out", fr]);
    const X = await readNpy(join(win, "X.npy")), Y = await readNpy(join(win, "Y.npy"));
    const mask = await readNpy(join(win, "mask.npy")),
      start = await readNpy(join(win, "start.npy"));
    const rec = await readNpy(join(win, "recording.npy")),
      pid = await readNpy(join(win, "pid.npy"));
    const n = X.shape[0];
    assert(n > 10, `${n} windows`);
    assertEquals(X.shape, [n, 120, 156]);
    assert(X.data instanceof Float32Array && X.data.every(Number.isFinite));
    assertEquals(Y.shape, [n, 120]);
    assertEquals(mask.shape, [n, 120]);
    for (const a of [start, rec, pid]) assertEquals(a.shape, [n]);
    assertEquals(new Set(pid.data as string[]), new Set(["S03"]));
    const info = await readInfo(win);
    assertEquals([info.nFft, info.hop, info.rateHz, info.norm, info.features], [
      50,
      25,
      50,
      "HUNT4",
      156,
    ]);
    assertEquals(info.recordings.length, 2); // S03R02, S03R03
    const nClasses = info.classes.length;
    const y = Y.data as Int32Array, m = mask.data as Uint8Array;
    assert(y.every((v) => v >= -1 && v < nClasses), "labels are -1 or class indices");
    assert(y.some((v) => v >= 0), "some frames labelled");
    // padding frames: mask 0, label -1, zeros
    const x = X.data as Float32Array;
    for (let i = 0; i < m.length; i++) {
      if (m[i] === 0) {
        assertEquals(y[i], -1);
        for (let f = 0; f < 156; f += 31) assertEquals(x[i * 156 + f], 0);
      }
    }
    // the frames layout holds the same frames: window k = frame rows offset_r + start[k]
    const FX = await readNpy(join(fr, "X.npy"));
    const finfo = await readInfo(fr);
    const total = finfo.recordings.reduce((s, r) => s + r.frames, 0);
    assertEquals(FX.shape, [total, 156]);
    const fx = FX.data as Float32Array;
    const offsets = new Map(finfo.recordings.map((r) => [r.recording, r]));
    const st = start.data as Int32Array, names = rec.data as string[];
    for (const k of [0, Math.floor(n / 2), n - 1]) {
      const r = offsets.get(names[k])!;
      for (const t of [0, 37, 119]) {
        if (m[k * 120 + t] === 0) continue;
        const row = r.offset + st[k] + t;
        assert(st[k] + t < r.frames);
        for (const f of [0, 25, 80, 155]) {
          assertEquals(x[(k * 120 + t) * 156 + f], fx[row * 156 + f]);
        }
      }
    }
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("har spectrogram: HUNT4 output = (raw - mean) / std; thigh gives 78 features", async () => {
  const data = sharedData();
  if (!data || !sharedData("daphnet-fog")) return;
  const tmp = await tempDir();
  try {
    const file = join(data, "daphnet-fog", "S03R02.txt.gz");
    const raw = join(tmp.path, "raw"), z = join(tmp.path, "z"), thigh = join(tmp.path, "thigh");
    await run(["--file", file, "--layout", "frames", "--norm", "none", "--out", raw]);
    await run(["--file", file, "--layout", "frames", "--out", z]);
    await run(["--file", file, "--layout", "frames", "--sensors", "thigh", "--out", thigh]);
    const R = (await readNpy(join(raw, "X.npy"))).data as Float32Array;
    const Z = (await readNpy(join(z, "X.npy"))).data as Float32Array;
    assertEquals(R.length, Z.length);
    const norm = await readNormParams(hunt4NormDir("HUNT4", data), { features: 156 });
    for (const row of [0, 100, 1000]) {
      for (const f of [0, 3, 77, 78, 150]) {
        const want = (R[row * 156 + f] - norm.mean[f]) / norm.std[f];
        assertAlmostEquals(Z[row * 156 + f], want, 1e-4 * Math.max(1, Math.abs(want)));
      }
    }
    assert(R.every((v) => v >= 0), "raw magnitudes are >= 0");
    const T = await readNpy(join(thigh, "X.npy"));
    assertEquals(T.shape, [R.length / 156, 78]);
    assertEquals((await readInfo(thigh)).norm, "HUNT4_T");
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("har spectrogram: a .npy file is resampled to 50 Hz; bad input named, nothing written", async () => {
  const tmp = await tempDir();
  try {
    const S = 100 * 60; // 60 s at 100 Hz
    const sig = new Float32Array(S * 3);
    for (let i = 0; i < S; i++) {
      sig[i * 3] = 1 + 0.3 * Math.sin((2 * Math.PI * 2 * i) / 100); // 1 g + 2 Hz
      sig[i * 3 + 1] = 0.1 * Math.cos((2 * Math.PI * 5 * i) / 100);
      sig[i * 3 + 2] = 0.05 + 0.02 * Math.sin((2 * Math.PI * 0.5 * i) / 100);
    }
    const npy = join(tmp.path, "rec.npy");
    await writeNpy(npy, sig, [S, 3]);
    const out = join(tmp.path, "o");
    await run([
      "--file",
      npy,
      "--rate",
      "100",
      "--layout",
      "frames",
      "--norm",
      "none",
      "--out",
      out,
    ]);
    const X = await readNpy(join(out, "X.npy"));
    // 3000 samples at 50 Hz → floor((3000 - 50) / 25) + 1 = 119 frames of 3 × 26 bins
    assertEquals(X.shape, [119, 78]);
    const x = X.data as Float32Array;
    // channel 1 (zero-mean 5 Hz cosine): bin 5 is the peak (bins 1 Hz apart); the resampling kept
    // the frequency, and the magnitude is A·N/4 = 0.1·50/4 under the periodic Hann window
    let best = 0;
    for (let f = 1; f < 26; f++) if (x[50 * 78 + 26 + f] > x[50 * 78 + 26 + best]) best = f;
    assertEquals(best, 5);
    assertAlmostEquals(x[50 * 78 + 26 + 5], 1.25, 0.02);
    // NaN in the file: fails naming it, and no output folder appears
    sig[1000 * 3 + 1] = NaN;
    const bad = join(tmp.path, "bad.npy");
    await writeNpy(bad, sig, [S, 3]);
    const badOut = join(tmp.path, "bad-out");
    const err = await assertRejects(() => run(["--file", bad, "--rate", "100", "--out", badOut]));
    assert(String((err as Error).message).includes("bad"), String(err));
    assert(!(await exists(badOut)), "no partial output after a failure");
    // truncated .npy
    const bytes = await Deno.readFile(npy);
    const cut = join(tmp.path, "cut.npy");
    await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 1000));
    await assertRejects(
      () => run(["--file", cut, "--rate", "100", "--out", badOut]),
      DataFormatError,
      "cut.npy",
    );
    assert(!(await exists(badOut)));
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("har spectrogram: usage errors name the flag", () => {
  const cases: [string[], string][] = [
    [["--dataset", "daphnet"], "--out"],
    [["--dataset", "daphnet", "--file", "a.txt", "--out", "o"], "exactly one of --dataset"],
    [["--dataset", "daphnet", "--out", "o", "--sensors", "wrist"], "--sensors"],
    [["--file", "a.npy", "--out", "o"], "--rate"],
    [["--file", "S01R02.txt", "--rate", "64", "--out", "o"], "--rate"],
    [["--dataset", "daphnet", "--out", "o", "--min-labelled", "0"], "--min-labelled"],
    [["--file", "a.txt", "--subjects", "S01", "--out", "o"], "--subjects"],
  ];
  for (const [args, want] of cases) {
    let err: unknown = null;
    try {
      parseSpectrogramArgs(args);
    } catch (e) {
      err = e;
    }
    assert(err instanceof UsageError, `${args.join(" ")}: ${err}`);
    assert((err as Error).message.includes(want), `${args.join(" ")}: ${(err as Error).message}`);
  }
});

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}
