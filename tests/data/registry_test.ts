import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { ConfigError, DatasetUnavailableError } from "../../lib/errors.ts";
import {
  DATASETS,
  datasetStatus,
  loadDataset,
  loadDatasetWindows,
  locateDataset,
} from "../../lib/data/registry.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("registry entries are complete and honest", () => {
  for (const [name, d] of Object.entries(DATASETS)) {
    assertEquals(d.name, name);
    assert(d.title && d.licence && d.citation && d.folder && d.layout, name);
    assert(d.urls.length > 0 || d.manual, `${name}: needs a URL or manual instructions`);
    assert(d.sha256 === null || /^[0-9a-f]{64}$/.test(d.sha256), name);
    assert(d.rateHz > 0, name);
    assert(d.kind === "windows" ? !!d.loadWindows : !!d.load, name);
  }
  for (
    const n of [
      "wisdm-watch",
      "wisdm-phone",
      "hmp-adl",
      "mobifall",
      "daphnet",
      "axivity-sample",
      "harth",
      "har70plus",
    ]
  ) {
    assert(n in DATASETS, n);
  }
  assertEquals(DATASETS["wisdm-watch"].classes.length, 18);
});

Deno.test("loadDataset: subjects and classes filters on the shared data", async () => {
  const dir = sharedData();
  if (!dir) return;
  const w = await loadDataset("wisdm-watch", { dir, subjects: ["1600", "1601"] });
  assertEquals(w.map((r) => r.subject), ["1600", "1601"]);
  const h = await loadDataset("hmp-adl", {
    dir,
    classes: ["walk", "climb_stairs"],
    subjects: ["f1"],
  });
  assert(h.length > 0);
  for (const r of h) {
    assertEquals(r.labelNames, ["walk", "climb_stairs"]);
    assertEquals(r.subject, "f1");
    assert(r.labels!.every((l) => l === 0 || l === 1));
  }
  const d = await loadDataset("daphnet", { dir, subjects: ["S01"] });
  assertEquals(d.length, 1);
  await assertRejects(
    () => loadDataset("hmp-adl", { dir, classes: ["fly"] }),
    ConfigError,
    'no class "fly"',
  );
  await assertRejects(() => loadDataset("nope", { dir }), ConfigError, "unknown dataset");
  const win = await loadDatasetWindows("ssl-wearables-adl", { dir });
  assertEquals(win.n, 635);
  const status = await datasetStatus(dir);
  assertEquals(status["wisdm-watch"], join("wisdm-2019"));
  assertEquals(status["harth"], null);
});

Deno.test("loadDataset: absent dataset names the folder and the download command; nested roots are found", async () => {
  const t = await tempDir();
  try {
    const e = await assertRejects(
      () => loadDataset("harth", { dir: t.path }),
      DatasetUnavailableError,
    );
    assertStringIncludes(e.message, join(t.path, "harth"));
    assertStringIncludes(e.message, "deno task har download harth");
    const m = await assertRejects(
      () => loadDataset("mobifall", { dir: t.path }),
      DatasetUnavailableError,
    );
    assertStringIncludes(m.message, "bmi.hmu.gr");
    // archives often add a folder level: harth/harth/S001.csv
    await Deno.mkdir(join(t.path, "harth", "harth"), { recursive: true });
    const rows = Array.from(
      { length: 60 },
      (_, i) =>
        `2019-01-12 00:00:${String(Math.floor(i / 50)).padStart(2, "0")}.${
          String((i % 50) * 20).padStart(3, "0")
        },0,0,-1,1,0,0,6`,
    );
    await Deno.writeTextFile(
      join(t.path, "harth", "harth", "S001.csv"),
      ["timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label", ...rows].join("\n"),
    );
    assertEquals(await locateDataset("harth", t.path), join(t.path, "harth", "harth"));
    const recs = await loadDataset("harth", { dir: t.path });
    assertEquals(recs.length, 1);
    assertEquals(recs[0].labelNames![recs[0].labels![0]], "standing");
  } finally {
    await t.cleanup();
  }
});
