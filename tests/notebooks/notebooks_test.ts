/**
 * Executes every notebook in notebooks/ at the smoke scale with the real
 * Deno kernel, into a temporary copy, and checks that every code cell ran,
 * no cell produced an error, and every figure was exported as PNG + HTML.
 * 99_smoke is covered by the runner's own test; 01_multitask_resnet by
 * tests/experiments/yuan_test.ts, on the smoke run that test makes (so the
 * suite runs the Yuan pipeline once); 02_selfpab by
 * tests/experiments/selfpab_run_test.ts, likewise; 03_multiresnet_transfer by
 * tests/experiments/multiresnet/run_test.ts; 04_dont_freeze by
 * tests/experiments/dontfreeze/run_test.ts.
 *
 * Skips (with a message) when /usr/bin/python3 lacks jupyter_client.
 */
import { basename, join } from "node:path";
import { haveJupyter, tempDir } from "../_helpers.ts";
import { listNotebooks, PROJECT_ROOT } from "../../tools/notebook_runner.ts";
import { runAndCheckNotebook } from "./_check.ts";

/** Notebooks executed by another test. */
export const COVERED_ELSEWHERE = [
  "99_smoke.ipynb",
  "01_multitask_resnet.ipynb",
  "02_selfpab.ipynb",
  "03_multiresnet_transfer.ipynb",
  "04_dont_freeze.ipynb",
];

const notebooks = (await listNotebooks(join(PROJECT_ROOT, "notebooks")))
  .filter((p) => !COVERED_ELSEWHERE.includes(basename(p)));

for (const nbPath of notebooks) {
  Deno.test(`notebook ${basename(nbPath)} runs end to end at smoke scale`, async () => {
    if (!(await haveJupyter())) return;
    const tmp = await tempDir();
    try {
      await runAndCheckNotebook(
        nbPath,
        join(tmp.path, basename(nbPath)),
        join(tmp.path, "results"),
      );
    } finally {
      await tmp.cleanup();
    }
  });
}
