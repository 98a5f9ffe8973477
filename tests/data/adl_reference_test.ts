/**
 * Our ADL preparation against ssl-wearables' own preprocessed ADL labels
 * (`ssl-wearables-adl-reference/Y.npy`, `pid.npy`; X.npy is not public).
 * The match is exact per (subject, class): 635 windows. It needs the `*_MODEL`
 * trials: without them pour_water loses 17 windows (f1 5, f2 3, m1 4, m3 5).
 */
import { assertEquals } from "@std/assert";
import { join } from "node:path";
import { readNpy } from "../../lib/data/npy.ts";
import { ADL_CLASSES, prepareAdl } from "../../lib/signal/adl.ts";
import { sharedData } from "../_helpers.ts";

function countPairs(subjects: string[], labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  subjects.forEach((s, i) => (out[`${s}/${labels[i]}`] = (out[`${s}/${labels[i]}`] ?? 0) + 1));
  return Object.fromEntries(Object.entries(out).sort());
}

Deno.test("prepareAdl matches ssl-wearables' ADL windows per (subject, class)", async () => {
  const hmp = sharedData("hmp-adl");
  const ref = sharedData("ssl-wearables-adl-reference");
  if (!hmp || !ref) return;
  const Y = (await readNpy(join(ref, "Y.npy"))).data as string[];
  const pid = (await readNpy(join(ref, "pid.npy"))).data as string[];
  assertEquals(Y.length, 635);

  const w = await prepareAdl(hmp);
  assertEquals([w.n, w.channels, w.length, w.rateHz], [635, 3, 300, 30]);
  assertEquals(w.classes, [...ADL_CLASSES]);
  assertEquals(countPairs(w.subject, Array.from(w.y, (k) => w.classes[k])), countPairs(pid, Y));
  // values are in g within the HMP code range
  let lo = Infinity, hi = -Infinity;
  for (const v of w.x) (lo = Math.min(lo, v), hi = Math.max(hi, v));
  assertEquals(lo >= -1.5 && hi <= 1.5, true);

  // without the _MODEL trials the exact difference is 17 pour_water windows
  const noModel = await prepareAdl(hmp, { includeModel: false });
  const a = countPairs(noModel.subject, Array.from(noModel.y, (k) => noModel.classes[k]));
  const b = countPairs(pid, Y);
  const diff: Record<string, number> = {};
  for (const k of Object.keys(b)) if ((a[k] ?? 0) !== b[k]) diff[k] = b[k] - (a[k] ?? 0);
  assertEquals(diff, {
    "f1/pour_water": 5,
    "f2/pour_water": 3,
    "m1/pour_water": 4,
    "m3/pour_water": 5,
  });
});
