/**
 * `har embed`: features (and logits) from a pretrained harnet, without code.
 *
 * ```
 * deno task har embed --model harnet10 --weights mtl_best.mdl --input x.npy --out out/
 * ```
 *
 * Reads `x.npy` (`[N, 3, T]` float, in g, 30 Hz; T = 150/300/900 for
 * harnet5/10/30), loads the PyTorch checkpoint safely, and writes
 * `<out>/features.npy` (`[N, F]`, float32) and, when the checkpoint has a
 * classifier head (`classifier.*`), `<out>/logits.npy` (`[N, classes]`).
 * Checkpoints holding only the multi-task pretext heads give features only.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { CheckpointError, ConfigError } from "../lib/errors.ts";
import { readNpy, writeNpy } from "../lib/data/npy.ts";
import { writeDirAtomic } from "../lib/fs.ts";
import { BACKEND_PATHS, initBackend } from "../lib/backend/mod.ts";
import {
  choiceFlag,
  type CliCommand,
  cliMain,
  intFlag,
  parseFlags,
  UsageError,
} from "../lib/cli.ts";
import type { BackendPath } from "../lib/backend/mod.ts";
import {
  checkFiniteInput,
  checkHarnetInput,
  harnet,
  HARNET_VARIANTS,
  harnetConfig,
  type HarnetHead,
  type HarnetVariant,
  loadHarnetWeights,
  loadTorchStateDict,
  predictArrays,
  stripModulePrefix,
} from "../lib/models/mod.ts";

/** The files an embed output consists of (replaced together in `--out`). */
const EMBED_FILES = ["features.npy", "logits.npy"];

/** One-line description for `har --help`. */
export const summary =
  "features (and logits) of a pretrained harnet: --model --weights --input --out";

const USAGE = `usage: har embed --model <${
  Object.keys(HARNET_VARIANTS).join("|")
}> --weights <ckpt.mdl|.pt> --input <x.npy> --out <dir>
       [--batch-size 64] [--backend ${BACKEND_PATHS.join("|")}] [--debug]

Writes <dir>/features.npy ([N, F] float32) and, when the checkpoint has a
classifier head, <dir>/logits.npy ([N, classes]).`;

/** Parsed flags of `har embed`. */
export interface EmbedArgs {
  /** Architecture, e.g. `"harnet10"`. */
  model: HarnetVariant;
  /** PyTorch checkpoint path. */
  weights: string;
  /** Input `.npy` path (`[N, 3, T]`). */
  input: string;
  /** Output folder (created). */
  out: string;
  /** Windows per forward pass. */
  batchSize: number;
  /** Backend to prefer (default: the fastest available). */
  backend?: BackendPath;
}

/** Parse `har embed` flags (`--flag value` or `--flag=value`). @throws UsageError naming the flag. */
export function parseEmbedArgs(args: string[]): EmbedArgs {
  const { values } = parseFlags("har embed", args, {
    model: { type: "string" },
    weights: { type: "string" },
    input: { type: "string" },
    out: { type: "string" },
    "batch-size": { type: "string" },
    backend: { type: "string" },
  });
  const flags = values as Record<string, string | undefined>;
  for (const k of ["weights", "input", "out"]) {
    if (!flags[k]) throw new UsageError(`missing --${k}`);
  }
  const model = (flags.model ?? "harnet10") as HarnetVariant;
  if (!(model in HARNET_VARIANTS)) {
    throw new UsageError(
      `--model: unknown model '${model}' (expected ${Object.keys(HARNET_VARIANTS).join(", ")})`,
    );
  }
  const batchSize = intFlag("batch-size", flags["batch-size"], { default: 64, min: 1 });
  const backend = flags.backend === undefined
    ? undefined
    : choiceFlag("backend", flags.backend, BACKEND_PATHS, "wasm");
  return {
    model,
    weights: flags.weights!,
    input: flags.input!,
    out: flags.out!,
    batchSize,
    backend,
  };
}

function requireFile(path: string, what: string): void {
  try {
    if (!Deno.statSync(path).isFile) throw new ConfigError(`${what} ${path} is not a file`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`${what} ${path} not found`);
    throw e;
  }
}

/** Run `har embed` with parsed flags; returns the written files. */
export async function embed(a: EmbedArgs): Promise<string[]> {
  requireFile(a.weights, "--weights");
  requireFile(a.input, "--input");
  const x = await readNpy(a.input);
  if (!(x.data instanceof Float32Array || x.data instanceof Float64Array)) {
    throw new ConfigError(`${a.input}: expected float32/float64 data, got dtype ${x.dtype}`);
  }
  try {
    checkHarnetInput(harnetConfig({ variant: a.model }), x.shape);
  } catch (e) {
    throw new ConfigError(`${a.input}: ${(e as Error).message}`);
  }
  // a NaN/Inf window fails here, naming the file, window, channel and sample
  checkFiniteInput(x.data, x.shape, a.input);
  const sd = await loadTorchStateDict(a.weights);
  const keys = [...sd.keys()].map(stripModulePrefix);
  const lin2 = sd.get(
    [...sd.keys()].find((k) => stripModulePrefix(k) === "classifier.linear2.weight") ?? "",
  );
  const lin1 = sd.get(
    [...sd.keys()].find((k) => stripModulePrefix(k) === "classifier.linear1.weight") ?? "",
  );
  let head: HarnetHead = "none";
  let numClasses = 2;
  let hiddenUnits = 512;
  if (lin2 && lin1) {
    head = "eva";
    numClasses = lin2.shape[0];
    hiddenUnits = lin1.shape[0];
  } else if (lin1) {
    head = "linear";
    numClasses = lin1.shape[0];
  } else if (keys.some((k) => k.startsWith("aot_h."))) {
    head = "mtl";
  }
  if (!keys.some((k) => k.startsWith("feature_extractor."))) {
    throw new CheckpointError(
      a.weights,
      "no 'feature_extractor.*' weights: not a harnet checkpoint",
    );
  }
  await initBackend({ prefer: a.backend ? [a.backend] : undefined, verbose: false });
  const model = harnet({ variant: a.model, head, numClasses, hiddenUnits });
  try {
    // strict: every model weight must be present, nothing may be left over.
    loadHarnetWeights(model, sd, { file: a.weights, strict: true });
    const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    const shape = x.shape as [number, number, number];
    // One forward pass for features and (with a classifier) logits.
    const withLogits = head === "eva" || head === "linear";
    const features = model.getLayer("feature_extractor.flatten").output as tf.SymbolicTensor;
    const both = tf.model({
      inputs: model.inputs,
      outputs: withLogits ? [features, model.outputs[0]] : [features],
    });
    // (float64 values beyond float32's range became ±Inf: predictArrays names them too)
    const outs = predictArrays(both, data, shape, { batchSize: a.batchSize, file: a.input });
    // One atomic folder: features.npy and logits.npy are replaced together (a stale
    // logits.npy from an earlier checkpoint is dropped); other files in --out are kept.
    const names = withLogits ? ["features", "logits"] : ["features"];
    await writeDirAtomic(a.out, async (tmp) => {
      for (const [i, name] of names.entries()) {
        await writeNpy(join(tmp, `${name}.npy`), outs[i].data, outs[i].shape);
      }
    }, { owns: EMBED_FILES });
    return names.map((name) => join(a.out, `${name}.npy`));
  } finally {
    model.dispose();
  }
}

/** `har embed` under the shared CLI convention (lib/cli.ts). */
export const command: CliCommand<EmbedArgs> = {
  prog: "har embed",
  usage: USAGE,
  parse: parseEmbedArgs,
  run: async (a) => {
    for (const p of await embed(a)) console.log(`wrote ${p}`);
  },
};

/** `har embed` with command-line `args`; errors are thrown. */
export async function run(args: string[]): Promise<void> {
  await command.run(parseEmbedArgs(args));
}

if (import.meta.main) Deno.exit(await cliMain(command, Deno.args));
