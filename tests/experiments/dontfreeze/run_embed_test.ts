/**
 * The frozen regime on cached embeddings (lib/experiments/dontfreeze/run.ts,
 * §5 [D]) is the frozen end-to-end model: for each encoder kind, the head
 * on `embedWindows(frozenEncoderOf(pretext))` gives the logits of
 * `dontFreezeClassifierFromPretext(pretext, { regime: "frozen" })` with the
 * same seed, in inference mode, after the pretext's batch-norm statistics
 * have moved away from their initial values.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "@std/assert";
import { embedWindows, frozenEncoderOf } from "../../../lib/experiments/dontfreeze/run.ts";
import {
  dontFreezeClassifierFromPretext,
  dontFreezeHead,
} from "../../../lib/models/dontfreeze_classifier.ts";
import { autoencoder, cpcModel, multitask8Model } from "../../../lib/models/dontfreeze_encoders.ts";
import type { Windows } from "../../../lib/data/types.ts";
import { forward } from "../../../lib/train/forward.ts";
import { rng } from "../../../lib/random.ts";
import { initBackend } from "../../../lib/backend/mod.ts";

await initBackend({ verbose: false });

function windows(n: number, seed: number): Windows {
  const r = rng(seed);
  const x = Float32Array.from({ length: n * 3 * 100 }, () => r.normal());
  return {
    x,
    y: Int32Array.from({ length: n }, (_, i) => i % 4),
    n,
    channels: 3,
    length: 100,
    classes: ["a", "b", "c", "d"],
  } as unknown as Windows;
}

for (
  const [kind, make] of [
    ["tpn", () => multitask8Model({ seed: 3 })],
    ["cpc", () => cpcModel({ seed: 3, steps: 4 })],
    ["autoencoder", () => autoencoder({ seed: 3 })],
  ] as const
) {
  Deno.test(`embedWindows + head = the frozen end-to-end classifier (${kind})`, () => {
    const pre = make();
    // move every moving statistic off its init so inference-mode batch norm matters
    const r = rng(9);
    for (const w of pre.weights) {
      if (/moving_(mean|variance)/.test(w.originalName)) {
        const v = w.read();
        const vals = Float32Array.from(v.dataSync(), () => 0.5 + r.next());
        w.write(tf.tensor(vals, v.shape));
      }
    }
    const w = windows(37, 1);
    const frozen = dontFreezeClassifierFromPretext(pre, {
      numClasses: 4,
      encoder: { kind },
      seed: 5,
      regime: "frozen",
    });
    const enc = frozenEncoderOf(pre, kind);
    const emb = embedWindows(enc, w, 16);
    assertEquals(emb.shape, [37, 256]);
    const head = dontFreezeHead({ numClasses: 4, seed: 5, inputUnits: 256 });
    const a = tf.tidy(() =>
      forward(frozen, [tf.tensor(w.x, [37, 3, 100])], { training: false, channelsLast: true })[0]
        .dataSync() as Float32Array
    );
    const b = tf.tidy(() =>
      forward(head, [tf.tensor(emb.x, [37, 256])], { training: false })[0]
        .dataSync() as Float32Array
    );
    let max = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    assert(scale > 1e-3, `logits ${scale}`);
    assert(max <= 1e-4 * Math.max(1, scale), `${kind}: max |Δ| ${max} (scale ${scale})`);
    for (const m of [pre, frozen, enc, head]) m.dispose();
  });
}
