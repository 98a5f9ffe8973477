/**
 * A built-in synthetic dataset, so the quickstart runs on a fresh machine
 * with no data downloaded. Every recording is labelled `dataset: "synthetic"`
 * and says so in `meta.synthetic`: results on it say nothing about real HAR.
 *
 * Each subject performs every activity for `secondsPerActivity`; activities
 * differ in gravity orientation, dominant frequency and amplitude, with
 * per-subject variation in cadence and orientation and white noise.
 *
 * @example
 * const recs = syntheticRecordings({ subjects: 6, seed: 1 });
 * recs[0].dataset; // "synthetic"
 */
import type { Recording } from "./types.ts";
import { rng } from "../random.ts";

/** Options for {@link syntheticRecordings}. */
export interface SyntheticArgs {
  /** Number of subjects (default 6). */
  subjects?: number;
  /** Sample rate (Hz) of the generated signals (default 30). */
  rateHz?: number;
  /** Duration of each activity bout per subject (s, default 120). */
  secondsPerActivity?: number;
  /** Noise standard deviation (g, default 0.05). */
  noiseG?: number;
  /** Seed of the generator (default 0). */
  seed?: number;
}

/** Activity prototypes: gravity direction (unit vector), cadence (Hz), amplitude (g). */
const ACTIVITIES: { name: string; gravity: [number, number, number]; hz: number; ampG: number }[] =
  [
    { name: "sitting", gravity: [0.2, 0.3, 0.93], hz: 0, ampG: 0.01 },
    { name: "standing", gravity: [0.95, 0.1, 0.29], hz: 0, ampG: 0.02 },
    { name: "walking", gravity: [0.9, 0.3, 0.3], hz: 1.8, ampG: 0.35 },
    { name: "running", gravity: [0.85, 0.35, 0.4], hz: 2.8, ampG: 0.9 },
    { name: "stairs", gravity: [0.8, 0.45, 0.4], hz: 1.4, ampG: 0.5 },
  ];

/** The class names of the synthetic dataset. */
export const SYNTHETIC_CLASSES: string[] = ACTIVITIES.map((a) => a.name);

/** Generate one labelled recording per synthetic subject. */
export function syntheticRecordings(args: SyntheticArgs = {}): Recording[] {
  const { subjects = 6, rateHz = 30, secondsPerActivity = 120, noiseG = 0.05, seed = 0 } = args;
  const r = rng(seed);
  const rand = () => r.next();
  const gauss = () => r.normal();
  const perAct = Math.round(secondsPerActivity * rateHz);
  const out: Recording[] = [];
  for (let s = 0; s < subjects; s++) {
    const n = perAct * ACTIVITIES.length;
    const axes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const labels = new Int32Array(n);
    const cadence = 1 + 0.15 * gauss();
    const tilt = [0.1 * gauss(), 0.1 * gauss(), 0.1 * gauss()];
    ACTIVITIES.forEach((act, a) => {
      const phase = rand() * 2 * Math.PI;
      for (let i = 0; i < perAct; i++) {
        const k = a * perAct + i;
        const t = i / rateHz;
        const w = 2 * Math.PI * act.hz * cadence * t + phase;
        const osc = act.hz > 0
          ? [Math.sin(w), 0.6 * Math.sin(2 * w + 1), 0.4 * Math.cos(w)]
          : [0, 0, 0];
        for (let c = 0; c < 3; c++) {
          axes[c][k] = act.gravity[c] + tilt[c] + act.ampG * osc[c] + noiseG * gauss();
        }
        labels[k] = a;
      }
    });
    out.push({
      dataset: "synthetic",
      subject: `syn${s + 1}`,
      placement: "wrist",
      device: "synthetic",
      rateHz,
      axes,
      axisNames: ["x", "y", "z"],
      labels,
      labelNames: [...SYNTHETIC_CLASSES],
      source: `synthetic:subject${s + 1}`,
      meta: { synthetic: true },
    });
  }
  return out;
}
