// The SelfPAB pipeline end to end at the smoke scale on the real data (once in the suite):
// every stage's pieces, the tables, resume without retraining, a different spec refused, and
// notebook 02 executed on this run.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import {
  runSelfpab,
  SELFPAB_SETTING_NAMES,
  selfpabChecks,
  selfpabSpec,
} from "../../lib/experiments/selfpab/mod.ts";
import { haveJupyter, sharedData, tempDir } from "../_helpers.ts";
import { runAndCheckNotebook } from "../notebooks/_check.ts";
import { PROJECT_ROOT } from "../../tools/notebook_runner.ts";

await initBackend({ verbose: false });

Deno.test({
  name: "runSelfpab smoke: dual + thigh + amount stages, tables, resume, notebook 02",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = sharedData();
    if (
      !data || !sharedData("daphnet-fog") || !sharedData("mobifall-v2") || !sharedData("wisdm-2019")
    ) {
      console.warn(
        "SKIP: runSelfpab needs daphnet-fog, mobifall-v2 and wisdm-2019 in $HAR_DATA_DIR",
      );
      return;
    }
    const tmp = await tempDir();
    try {
      const spec = selfpabSpec("smoke");
      const logs: string[] = [];
      const r = await runSelfpab(spec, {
        outDir: tmp.path,
        dataDir: data,
        log: (m) => logs.push(m),
      });
      // pre-trainings: one per dual LOSO fold, per thigh fold, per amount point; all finite
      const variants = new Set(r.pretraining.map((p) => p.variant));
      assertEquals(variants, new Set(["dual", "thigh", "amount"]));
      for (const p of r.pretraining) {
        assert(
          Number.isFinite(p.finalValL1) && p.finalValL1 > 0,
          `${p.variant}/${p.name}: ${p.finalValL1}`,
        );
        assert(p.history.length > 0 && p.history.every((h) => Number.isFinite(h.valL1)));
        assert(p.trivial.mean > 0 && p.trivial.interpolate > 0);
      }
      // every (task, setting) has a score; names are the documented ones
      for (const task of ["daphnet-fog", "mobifall", "wisdm-phone"]) {
        const rows = r.scores.filter((s) => s.task === task && !/-[0-9.]+h$/.test(s.setting));
        assert(rows.length >= 5, `${task}: ${rows.length} settings`);
        for (const s of rows) {
          assert(SELFPAB_SETTING_NAMES[s.setting], `unnamed setting ${s.setting}`);
        }
      }
      for (const s of r.scores.filter((s) => s.task === "daphnet-fog")) {
        const a = s.freeze!.aurocFrames;
        assert(a === null || (a >= 0 && a <= 1), `${s.setting} AUROC ${a}`);
      }
      for (const s of r.scores.filter((s) => s.task !== "daphnet-fog" && s.activity)) {
        const f = s.activity!.subjectF1Mean;
        assert(f >= 0 && f <= 1, `${s.task}/${s.setting} F1 ${f}`);
        assertEquals(s.activity!.perClassF1.length, s.activity!.labelNames.length);
      }
      // the random forest must be far above chance on MobiFall (9 classes), or the data path is broken
      const rf = r.scores.find((s) => s.task === "mobifall" && s.setting === "forest")!.activity!;
      assert(rf.subjectF1Mean > 0.4, `MobiFall RF F1 ${rf.subjectF1Mean}`);
      assert(r.amount.length >= 2 && r.amount.every((p) => p.hours > 0));
      const checks = selfpabChecks(r);
      assert(checks.length >= 4 && checks.every((c) => typeof c.measured === "string"));
      const md = await Deno.readTextFile(join(tmp.path, "summary.md"));
      assert(md.includes("Daphnet freezing of gait") && md.includes("HARTH"), md.slice(0, 400));
      assert(!/\d\.\d{6,} %/.test(md), "no unrounded percentages in summary.md");
      const run = JSON.parse(await Deno.readTextFile(join(tmp.path, "run.json")));
      assertEquals(run.status, "done");

      // resume: every piece read back, the same numbers, no training step
      const logs2: string[] = [];
      const r2 = await runSelfpab(spec, {
        outDir: tmp.path,
        dataDir: data,
        resume: true,
        log: (m) => logs2.push(m),
      });
      assertEquals(JSON.stringify(r2.scores), JSON.stringify(r.scores));
      assert(logs.some((l) => l.includes("selfpab pretrain step")));
      assert(
        !logs2.some((l) => /selfpab pretrain step|selfpab downstream/.test(l)),
        logs2.join("\n"),
      );
      // a different spec must not resume into these results
      await assertRejects(
        () =>
          runSelfpab(selfpabSpec("smoke", { seed: 1 }), {
            outDir: tmp.path,
            dataDir: data,
            resume: true,
            log: () => {},
          }),
        ConfigError,
      );

      // notebook 02 reads this run
      if (await haveJupyter()) {
        const nb = join(PROJECT_ROOT, "notebooks", "02_selfpab.ipynb");
        await runAndCheckNotebook(nb, join(tmp.path, "02.ipynb"), join(tmp.path, "figures"), {
          env: { HAR_SELFPAB_OUT: tmp.path, HAR_DATA_DIR: data },
        });
      }
    } finally {
      await tmp.cleanup();
    }
  },
});
