/**
 * `deno task quickstart`: the main job. Loads WISDM watch data when present
 * in the data folder (`--data DIR`, else `$HAR_DATA_DIR`, else `datasets/`),
 * else the real HMP ADL sample shipped in `datasets/hmp-adl-sample/` (the
 * `adl5` benchmark: 635 windows, leave one subject out; what a fresh clone
 * runs); windows it (30 Hz, 10 s, 5 s overlap); trains the hand-crafted
 * features + random-forest baseline; prints the table and writes it with the
 * confusion-matrix and per-class F1 figures to `out/quickstart/`
 * (git-ignored, so running it never changes committed files; the committed
 * `results/quickstart/` is `--sample --out results/quickstart`).
 *
 * Flags: --scale smoke|laptop (default laptop), --data DIR, --sample,
 * --synthetic, --out DIR.
 */
import { choiceFlag, cliMain, parseFlags, UsageError } from "../lib/cli.ts";
import {
  quickstartData,
  type QuickstartScale,
  runQuickstart,
  writeQuickstart,
} from "../lib/experiments/quickstart.ts";
import { toMarkdown } from "../lib/eval/tables.ts";

/** Default output folder: git-ignored, so the main job never modifies committed files. */
const DEFAULT_OUT = "out/quickstart";

const USAGE =
  `usage: deno task quickstart [--scale smoke|laptop] [--data DIR | --sample | --synthetic] [--out DIR] [--debug]

  --scale <s>    smoke (8 subjects, seconds) | laptop (default; $HAR_SCALE)
  --data <dir>   data folder searched for WISDM watch (default $HAR_DATA_DIR, else datasets/);
                 without WISDM there, the shipped ADL sample (datasets/hmp-adl-sample) is used
  --sample       use the shipped ADL sample even when WISDM watch is present
  --synthetic    use the built-in synthetic dataset (not real HAR; for tests)
  --out <dir>    output folder (default ${DEFAULT_OUT}, git-ignored)`;

/** Parsed quickstart flags. */
interface QuickstartFlags {
  scale: QuickstartScale;
  /** Data folder (`--data`); undefined: `$HAR_DATA_DIR` or `datasets/`. */
  data?: string;
  source: "auto" | "hmp-adl-sample" | "synthetic";
  out: string;
}

function parse(args: string[]): QuickstartFlags {
  const { values } = parseFlags("quickstart", args, {
    scale: { type: "string" },
    data: { type: "string" },
    sample: { type: "boolean" },
    synthetic: { type: "boolean" },
    out: { type: "string" },
  });
  if (values.sample === true && values.synthetic === true) {
    throw new UsageError("--sample and --synthetic exclude each other");
  }
  if (values.data === "") {
    throw new UsageError("--data needs a folder");
  }
  const scale = choiceFlag<QuickstartScale>(
    "scale",
    (values.scale as string | undefined) ?? Deno.env.get("HAR_SCALE"),
    ["smoke", "laptop"],
    "laptop",
  );
  return {
    scale,
    data: values.data as string | undefined,
    source: values.sample === true
      ? "hmp-adl-sample"
      : values.synthetic === true
      ? "synthetic"
      : "auto",
    out: (values.out as string | undefined) || DEFAULT_OUT,
  };
}

async function run(flags: QuickstartFlags): Promise<void> {
  const args = { scale: flags.scale, source: flags.source, dataDir: flags.data };
  const t0 = performance.now();
  const data = await quickstartData(args);
  if (data.fallback) console.log(data.fallback);
  console.log(`data: ${data.note}`);
  console.log(
    `windows: ${data.windows.n} (${data.windows.classes.length} classes, ` +
      `${new Set(data.windows.subject).size} subjects, ${data.windows.length} samples at ` +
      `${data.windows.rateHz} Hz)`,
  );
  const result = await runQuickstart(data, args, (m) => console.log(`  ${m}`));
  console.log("\n" + toMarkdown(result.table) + "\n");
  const paths = await writeQuickstart(result, flags.out);
  console.log(`wrote ${paths.join(", ")}`);
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (import.meta.main) {
  Deno.exit(await cliMain({ prog: "quickstart", usage: USAGE, parse, run }, Deno.args));
}
