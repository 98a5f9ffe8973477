/** Test helper: a few real WISDM watch windows (no reader dependency). */
import { join } from "node:path";
import type { Windows } from "../../lib/data/types.ts";
import { sharedData } from "../_helpers.ts";

const G = 9.80665;

/**
 * Up to `maxWindows` non-overlapping windows of `length` samples (20 Hz) from
 * the given WISDM watch subjects, in g; null when the data is absent.
 */
export async function wisdmWindows(
  subjects: string[] = ["1600", "1601"],
  length = 200,
  maxWindows = 40,
): Promise<Windows | null> {
  const dir = sharedData("wisdm-2019/raw/watch/accel");
  if (!dir) return null;
  const xs: number[] = [];
  const subj: string[] = [];
  for (const pid of subjects) {
    const file = join(dir, `data_${pid}_accel_watch.txt.gz`);
    const stream = (await Deno.open(file)).readable.pipeThrough(
      new DecompressionStream("gzip"),
    ).pipeThrough(new TextDecoderStream());
    let text = "";
    for await (const chunk of stream) text += chunk;
    const rows = text.split("\n").filter((l) => l.trim()).map((l) => l.replace(";", "").split(","));
    const per = Math.min(maxWindows / subjects.length, Math.floor(rows.length / length));
    for (let w = 0; w < per; w++) {
      for (let c = 0; c < 3; c++) {
        for (let t = 0; t < length; t++) xs.push(Number(rows[w * length + t][3 + c]) / G);
      }
      subj.push(pid);
    }
  }
  const n = subj.length;
  return {
    x: Float32Array.from(xs),
    n,
    channels: 3,
    length,
    y: new Int32Array(n).fill(-1),
    classes: [],
    subject: subj,
    rateHz: 20,
  };
}
