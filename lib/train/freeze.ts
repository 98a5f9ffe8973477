/**
 * Model-agnostic access to weights by name: select weights (prefix, regex,
 * predicate, first k blocks), freeze/unfreeze them, copy them between
 * models (Gjoreski et al.: transfer the first k residual blocks), and read
 * or write their values as Float32Arrays.
 *
 * Works with a `tf.LayersModel` (weights are `LayerVariable`s, matched by
 * their `originalName`, e.g. `"layer1/conv1/kernel"`, which is stable across
 * models in one process, unlike the uniquified `name`) and with any object
 * exposing `weights: tf.Variable[]`.
 *
 * @example
 * freeze(model, "encoder");                       // prefix
 * freeze(model, firstKBlocks(2));                 // layer1*, layer2*
 * transferWeights(pretrained, model, { select: firstKBlocks(3) });
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";

/** A tfjs-layers weight (LayerVariable): what `tf.LayersModel.weights` holds. */
export interface LayerWeightLike {
  readonly name: string;
  readonly originalName: string;
  readonly shape: (number | null)[];
  trainable: boolean;
  read(): tf.Tensor;
  write(v: tf.Tensor): unknown;
}

/** Anything with a list of weights: `tf.LayersModel` or a custom model. */
export interface HasWeights {
  /** All weights (trainable and not, e.g. batch-norm running statistics). */
  readonly weights: (LayerWeightLike | tf.Variable)[];
}

/** A normalised view of one weight. */
export interface WeightEntry {
  /** Index in `model.weights`. */
  index: number;
  /** Stable name (`originalName` for layer weights, `name` for variables). */
  name: string;
  /** Shape. */
  shape: number[];
  /** The underlying variable. */
  variable: tf.Variable;
  /** Whether the model marks it trainable (false for batch-norm statistics). */
  trainable: boolean;
  /** Set the trainable flag on the model's weight object. */
  setTrainable(t: boolean): void;
}

/** The model's weights as {@link WeightEntry}s, in `model.weights` order. */
export function weightEntries(model: HasWeights): WeightEntry[] {
  return model.weights.map((w, index) => {
    if (typeof (w as LayerWeightLike).read === "function") {
      const lw = w as LayerWeightLike;
      return {
        index,
        name: lw.originalName ?? lw.name,
        shape: lw.read().shape.slice(),
        variable: lw.read() as tf.Variable,
        trainable: lw.trainable,
        setTrainable: (t: boolean) => {
          lw.trainable = t;
        },
      };
    }
    const v = w as tf.Variable;
    return {
      index,
      name: v.name,
      shape: v.shape.slice(),
      variable: v,
      trainable: v.trainable,
      setTrainable: (t: boolean) => {
        v.trainable = t;
      },
    };
  });
}

/**
 * Copies of the entries' values, in order (e.g. to keep the best weights or
 * send them to workers).
 *
 * @example
 * const best = readWeights(weightEntries(model)); // Float32Array per weight
 * writeWeights(weightEntries(model), best);       // restore them
 */
export function readWeights(entries: WeightEntry[]): Float32Array[] {
  return entries.map((e) => Float32Array.from(e.variable.dataSync() as Float32Array));
}

/**
 * Assign `values[i]` (as many values as `entries[i]` holds, row-major) to
 * each entry's variable: the inverse of {@link readWeights}.
 *
 * @throws ConfigError when the counts or sizes differ (naming the weight)
 */
export function writeWeights(entries: WeightEntry[], values: Float32Array[]): void {
  if (values.length !== entries.length) {
    throw new ConfigError(`writeWeights: ${values.length} arrays for ${entries.length} weights`);
  }
  entries.forEach((e, i) => {
    if (values[i].length !== e.variable.size) {
      throw new ConfigError(
        `writeWeights: weight ${i} ("${e.name}") has ${e.variable.size} values, got ${
          values[i].length
        }`,
      );
    }
  });
  tf.tidy(() => {
    entries.forEach((e, i) => e.variable.assign(tf.tensor(values[i], e.shape, "float32")));
  });
}

/**
 * Which weights: a name prefix (matches `p`, `p/…`, `p.…`, `p_…`), a list of
 * prefixes, a RegExp tested against the name, or a predicate over the name.
 */
export type WeightSelector = string | string[] | RegExp | ((name: string) => boolean);

/** Turn a {@link WeightSelector} into a predicate over weight names. */
export function selectorFn(sel: WeightSelector): (name: string) => boolean {
  if (typeof sel === "function") return sel;
  if (sel instanceof RegExp) return (n) => sel.test(n);
  const prefixes = typeof sel === "string" ? [sel] : sel;
  return (n) =>
    prefixes.some((p) =>
      n === p || (n.startsWith(p) && (/[/._]$/.test(p) || /^[/._]/.test(n.slice(p.length))))
    );
}

/** Options for {@link firstKBlocks}. */
export interface BlockArgs {
  /**
   * Pattern whose first capture group is the 1-based block number in a
   * weight name. Default matches `layer3`, `block3`, `stage3`, `res3`,
   * `layer_3`, … anywhere in the name (harnet/ssl-wearables `layer1…layer5`).
   */
  pattern?: RegExp;
  /** Block numbering starts at this number (default 1). */
  firstIndex?: number;
}

/**
 * Weights of the first `k` blocks: names whose block number (see
 * {@link BlockArgs.pattern}) is `< firstIndex + k`.
 */
export function firstKBlocks(k: number, args: BlockArgs = {}): (name: string) => boolean {
  const pattern = args.pattern ?? /(?:^|[/._])(?:layer|block|stage|res)_?(\d+)(?=$|[/._])/;
  const first = args.firstIndex ?? 1;
  if (!(k >= 0)) throw new ConfigError(`firstKBlocks k: must be >= 0, got ${k}`);
  return (name) => {
    const m = pattern.exec(name);
    return m !== null && Number(m[1]) < first + k;
  };
}

/** The entries matching a selector. */
export function selectWeights(model: HasWeights, sel: WeightSelector): WeightEntry[] {
  const f = selectorFn(sel);
  return weightEntries(model).filter((e) => f(e.name));
}

/**
 * Mark matching trainable weights as frozen (trainable = false) and return
 * their names. Batch-norm statistics are never trainable and stay as they
 * are. Throws if nothing matches (a typo would otherwise train everything).
 */
export function freeze(model: HasWeights, sel: WeightSelector): string[] {
  const hit = selectWeights(model, sel);
  if (hit.length === 0) {
    throw new ConfigError(
      `freeze: selector ${String(sel)} matches no weight (names: ${
        weightEntries(model).slice(0, 6).map((e) => e.name).join(", ")
      }, …)`,
    );
  }
  const out: string[] = [];
  for (const e of hit) {
    if (e.trainable) {
      e.setTrainable(false);
      out.push(e.name);
    }
  }
  return out;
}

/** Mark the named weights (as returned by {@link freeze}) trainable again. */
export function unfreeze(model: HasWeights, names: string[] | WeightSelector): void {
  const f = Array.isArray(names) ? (n: string) => names.includes(n) : selectorFn(names);
  for (const e of weightEntries(model)) if (f(e.name)) e.setTrainable(true);
}

/** Options for {@link transferWeights}. */
export interface TransferArgs {
  /** Weights to copy (default: all with a matching name). */
  select?: WeightSelector;
  /** Map a source name to the destination name (default: identity). */
  rename?: (srcName: string) => string;
  /** Throw when a selected source weight has no destination (default true). */
  strict?: boolean;
}

/**
 * Copy selected weights (including batch-norm statistics) from `src` to
 * `dst` by name. Shapes must match. Returns the copied destination names.
 */
export function transferWeights(
  src: HasWeights,
  dst: HasWeights,
  args: TransferArgs = {},
): string[] {
  const sel = selectorFn(args.select ?? (() => true));
  const rename = args.rename ?? ((n: string) => n);
  const strict = args.strict ?? true;
  const dstByName = new Map(weightEntries(dst).map((e) => [e.name, e]));
  const copied: string[] = [];
  for (const s of weightEntries(src)) {
    if (!sel(s.name)) continue;
    const d = dstByName.get(rename(s.name));
    if (!d) {
      if (strict) {
        throw new ConfigError(`transferWeights: source weight "${s.name}" has no destination`);
      }
      continue;
    }
    if (s.shape.join() !== d.shape.join()) {
      throw new ConfigError(
        `transferWeights "${s.name}": shape [${s.shape}] vs destination [${d.shape}]`,
      );
    }
    d.variable.assign(s.variable);
    copied.push(d.name);
  }
  if (copied.length === 0) throw new ConfigError("transferWeights: selector matched no weight");
  return copied;
}
