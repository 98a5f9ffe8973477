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
import { initBackend } from "../lib/backend/mod.ts";
import type { BackendPath } from "../lib/backend/mod.ts";
import {
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

/** One-line description for `har --help`. */
export const summary =
  "features (and logits) of a pretrained harnet: --model --weights --input --out";

const USAGE = `usage: har embed --model <${
  Object.keys(HARNET_VARIANTS).join("|")
}> --weights <ckpt.mdl|.pt> --input <x.npy> --out <dir> [--batch-size 64] [--backend wasm|cpu|blas]

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

/** Parse `har embed` flags (`--flag value` or `--flag=value`). */
export function parseEmbedArgs(args: string[]): EmbedArgs {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") throw new ConfigError(USAGE);
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument '${a}'\n${USAGE}`);
    const eq = a.indexOf("=");
    if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new ConfigError(`flag ${a} needs a value`);
      flags[a.slice(2)] = args[++i];
    }
  }
  const known = ["model", "weights", "input", "out", "batch-size", "backend"];
  for (const k of Object.keys(flags)) {
    if (!known.includes(k)) throw new ConfigError(`unknown flag --${k}\n${USAGE}`);
  }
  for (const k of ["weights", "input", "out"]) {
    if (!flags[k]) throw new ConfigError(`missing --${k}\n${USAGE}`);
  }
  const model = (flags.model ?? "harnet10") as HarnetVariant;
  if (!(model in HARNET_VARIANTS)) {
    throw new ConfigError(
      `--model: unknown model '${model}' (expected ${Object.keys(HARNET_VARIANTS).join(", ")})`,
    );
  }
  const batchSize = Number(flags["batch-size"] ?? 64);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`--batch-size must be a positive integer, got '${flags["batch-size"]}'`);
  }
  const backend = flags.backend as BackendPath | undefined;
  return { model, weights: flags.weights, input: flags.input, out: flags.out, batchSize, backend };
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
    const outs = predictArrays(both, data, shape, { batchSize: a.batchSize });
    await Deno.mkdir(a.out, { recursive: true });
    const written: string[] = [];
    for (const [i, name] of (withLogits ? ["features", "logits"] : ["features"]).entries()) {
      const path = join(a.out, `${name}.npy`);
      await writeNpy(path, outs[i].data, outs[i].shape);
      written.push(path);
    }
    return written;
  } finally {
    model.dispose();
  }
}

/** `har embed` entry point. */
export async function run(args: string[]): Promise<void> {
  const written = await embed(parseEmbedArgs(args));
  for (const p of written) console.log(`wrote ${p}`);
}

if (import.meta.main) {
  try {
    await run(Deno.args);
  } catch (e) {
    console.error(`har embed: ${(e as Error).name}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
