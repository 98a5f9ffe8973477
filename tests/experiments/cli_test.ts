import { assertEquals, assertThrows } from "@std/assert";
import { UsageError } from "../../lib/cli.ts";
import { experimentOutDir, parseExperimentFlags } from "../../lib/experiments/cli.ts";

const SCALES = ["smoke", "laptop", "paper"] as const;

Deno.test("parseExperimentFlags: --scale (default laptop), --resume, --out and the tool's own flags", () => {
  const d = parseExperimentFlags("toy", [], SCALES);
  assertEquals([d.scale, d.resume, d.out], ["laptop", false, undefined]);
  const f = parseExperimentFlags(
    "toy",
    ["--scale", "paper", "--resume", "--out", "/tmp/x", "--seeds", "0,1"],
    SCALES,
    { seeds: { type: "string" } },
  );
  assertEquals([f.scale, f.resume, f.out, f.values.seeds], ["paper", true, "/tmp/x", "0,1"]);
  assertThrows(
    () => parseExperimentFlags("toy", ["--scale", "huge"], SCALES),
    UsageError,
    "smoke | laptop | paper",
  );
  // a flag the tool did not declare
  assertThrows(() => parseExperimentFlags("toy", ["--seeds", "0"], SCALES), UsageError);
});

Deno.test("experimentOutDir: results/<name> at laptop, results/<name>-paper, .cache/<name>/smoke, or --out", () => {
  assertEquals(experimentOutDir("dontfreeze", "laptop"), "results/dontfreeze");
  assertEquals(experimentOutDir("dontfreeze", "paper"), "results/dontfreeze-paper");
  assertEquals(experimentOutDir("multiresnet", "smoke"), ".cache/multiresnet/smoke");
  assertEquals(experimentOutDir("multiresnet", "paper", "/data/run"), "/data/run");
});
