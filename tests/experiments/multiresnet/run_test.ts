// The Gjoreski et al. transfer experiment end to end at the smoke scale on the real data (once
// in the suite): the realised protocol, source models, every grid cell, the E1–E8 checks,
// resume without retraining, a different spec refused, and notebook 03 executed on this run.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { initBackend } from "../../../lib/backend/mod.ts";
import { ConfigError } from "../../../lib/errors.ts";
import {
  checkTransferExpectations,
  multiResNetSpec,
  runMultiResNet,
} from "../../../lib/experiments/multiresnet/mod.ts";
import { haveJupyter, sharedData, tempDir } from "../../_helpers.ts";
import { runAndCheckNotebook } from "../../notebooks/_check.ts";
import { PROJECT_ROOT } from "../../../tools/notebook_runner.ts";

await initBackend({ verbose: false });

Deno.test({
  name: "runMultiResNet smoke: 4 sources, 56 cells, checks, resume, notebook 03",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = sharedData();
    if (!data || !sharedData("wisdm-2019") || !sharedData("mobifall-v2")) {
      console.warn(
        "SKIP: runMultiResNet needs wisdm-2019, hmp-adl and mobifall-v2 in $HAR_DATA_DIR",
      );
      return;
    }
    const tmp = await tempDir();
    try {
      const spec = multiResNetSpec("smoke");
      const logs: string[] = [];
      const r = await runMultiResNet(spec, {
        outDir: tmp.path,
        dataDir: data,
        cacheDir: join(tmp.path, "cache"),
        log: (m) => logs.push(m),
      });
      assertEquals(Object.keys(r.data).sort(), [...spec.data.datasets].sort());
      for (const [name, rep] of Object.entries(r.data)) {
        for (const part of ["train", "test"] as const) {
          assert(rep.perClass[part].every((c) => c > 0), `${name} ${part}: ${rep.perClass[part]}`);
        }
        assert(rep.majorityF1Micro > 0 && rep.majorityF1Micro < 0.5, `${name} majority`);
      }
      assertEquals(r.ladder, [20, 100]);
      assertEquals(r.sources.length, 4);
      for (const s of r.sources) {
        assert(s.history.length >= 1 && s.bestEpoch !== null, s.dataset);
        assert((await Deno.stat(join(tmp.path, s.weights))).size > 100_000, s.weights);
      }
      // per target and n: the baseline + 3 sources × 2 k
      assertEquals(r.cells.length, 4 * 2 * (1 + 3 * 2));
      for (const c of r.cells) {
        assert(c.microF1 >= 0 && c.microF1 <= 1 && c.macroF1 >= 0 && c.macroF1 <= 1);
        assertEquals(c.run.metrics.n, Math.min(200, c.run.metrics.n));
        assertEquals(c.copiedWeights > 0, c.source !== "baseline");
        assertEquals(c.run.nTrain, c.n);
      }
      // the data path works: MobiFall's source model is well above its majority class
      const mf = r.sources.find((s) => s.dataset === "mobifall-8")!;
      assert(mf.testMicroF1 > r.data["mobifall-8"].majorityF1Micro, `MobiFall ${mf.testMicroF1}`);
      const checks = checkTransferExpectations(r.grid);
      assertEquals(checks.map((c) => c.id), ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]);
      assert(checks.every((c) => typeof c.measured === "string" && c.measured.length > 0));
      const md = await Deno.readTextFile(join(tmp.path, "summary.md"));
      assert(md.includes("| E8 |") && md.includes("HMP-10"), md.slice(0, 300));
      const grid = JSON.parse(await Deno.readTextFile(join(tmp.path, "grid.json")));
      assertEquals(grid.cells, { found: 56, expected: 56 });

      // resume: every piece read back, no training
      const logs2: string[] = [];
      const r2 = await runMultiResNet(spec, {
        outDir: tmp.path,
        dataDir: data,
        cacheDir: join(tmp.path, "cache"),
        resume: true,
        log: (m) => logs2.push(m),
      });
      assertEquals(JSON.stringify(r2.grid), JSON.stringify(r.grid));
      assert(logs.some((l) => l.includes("source wisdm-watch-18 seed 0: training")));
      assert(
        !logs2.some((l) => /: training$|piece (sources|cells)\/.*: done in/.test(l)),
        logs2.join("\n"),
      );
      assert(logs2.some((l) => /piece cells\/.*: reused/.test(l)));
      // onlyFinished: a cell the record does not list is skipped, not trained (its group with it)
      const runPath = join(tmp.path, "run.json");
      const rec = JSON.parse(await Deno.readTextFile(runPath));
      delete rec.pieces["cells/hmp-10/baseline/n100/s0"];
      await Deno.writeTextFile(runPath, JSON.stringify(rec));
      // … and nothing in the run folder changes (the scaffold's readOnly)
      const snapshot = () =>
        Promise.all(
          ["run.json", "run.log", "summary.md"].map((f) => Deno.readTextFile(join(tmp.path, f))),
        );
      const before = await snapshot();
      const logs3: string[] = [];
      const r3 = await runMultiResNet(spec, {
        outDir: tmp.path,
        dataDir: data,
        cacheDir: join(tmp.path, "cache"),
        resume: true,
        onlyFinished: true,
        log: (m) => logs3.push(m),
      });
      assertEquals(r3.cells.length, 56 - 7);
      assert(!r3.cells.some((c) => c.target === "hmp-10" && c.n === 100));
      assert(!logs3.some((l) => /piece (sources|cells)\/.*: done in/.test(l)), logs3.join("\n"));
      assertEquals(await snapshot(), before, "an onlyFinished read writes nothing");
      await assertRejects(
        () =>
          runMultiResNet({ ...spec, seeds: [5] }, {
            outDir: tmp.path,
            dataDir: data,
            resume: true,
            log: () => {},
          }),
        ConfigError,
      );

      // notebook 03 reads this run
      if (await haveJupyter()) {
        const nb = join(PROJECT_ROOT, "notebooks", "03_multiresnet_transfer.ipynb");
        await runAndCheckNotebook(nb, join(tmp.path, "03.ipynb"), join(tmp.path, "figures"), {
          env: { HAR_MULTIRESNET_OUT: tmp.path, HAR_DATA_DIR: data },
        });
        const out = await Deno.readTextFile(join(tmp.path, "03.ipynb"));
        assert(
          out.includes("frozen blocks unchanged, bit for bit"),
          "notebook 03's freezing check",
        );
      }
    } finally {
      await tmp.cleanup();
    }
  },
});
