import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { adam, adamW, makeOptimizer, type Optimizer, sgd } from "../../lib/train/optimisers.ts";
import { ConfigError } from "../../lib/errors.ts";
import { useCpu } from "./_fixtures.ts";

await useCpu();

/** Run steps with the given gradient sequence on p0; return the values after each step. */
function run(opt: Optimizer, p0: number[], grads: number[][]): number[][] {
  const v = tf.variable(tf.tensor1d(p0));
  const out: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    opt.applyGradients([{ key: "p", variable: v }], [gt]);
    gt.dispose();
    out.push(Array.from(v.dataSync()));
  }
  v.dispose();
  opt.dispose();
  return out;
}

function close(a: number[], b: number[], tol = 1e-6) {
  a.forEach((x, i) => assertAlmostEquals(x, b[i], tol, `index ${i}: ${x} vs ${b[i]}`));
}

/** PyTorch's Adam/AdamW update in float64, scalar by scalar. */
function refAdam(
  p0: number[],
  grads: number[][],
  o: { lr: number; b1?: number; b2?: number; eps?: number; wd?: number; decoupled?: boolean },
): number[][] {
  const b1 = o.b1 ?? 0.9, b2 = o.b2 ?? 0.999, eps = o.eps ?? 1e-8, wd = o.wd ?? 0;
  const p = p0.slice(), m = p0.map(() => 0), v = p0.map(() => 0);
  const out: number[][] = [];
  grads.forEach((g0, t) => {
    for (let i = 0; i < p.length; i++) {
      let g = g0[i];
      if (o.decoupled) p[i] *= 1 - o.lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const bc1 = 1 - b1 ** (t + 1), bc2 = 1 - b2 ** (t + 1);
      p[i] -= (o.lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
    }
    out.push(p.slice());
  });
  return out;
}

const G = [[0.5, 0.1], [-0.5, 0.2], [0.3, -0.4], [0.05, 0.05]];

Deno.test("Adam first step moves each weight by lr·sign(g) (hand-computed)", () => {
  const [s1] = run(adam({ lr: 0.1 }), [1, -2], [[0.5, 0.1]]);
  close(s1, [0.9, -2.1]);
});

Deno.test("Adam matches PyTorch's update over several steps, with L2 weight decay", () => {
  close(run(adam({ lr: 0.05 }), [1, -2], G).at(-1)!, refAdam([1, -2], G, { lr: 0.05 }).at(-1)!);
  const got = run(adam({ lr: 0.05, weightDecay: 0.1 }), [1, -2], G);
  close(got.at(-1)!, refAdam([1, -2], G, { lr: 0.05, wd: 0.1 }).at(-1)!);
});

Deno.test("AdamW decays decoupled: p·(1 − lr·wd) then the Adam step", () => {
  const [s1] = run(adamW({ lr: 0.1, weightDecay: 0.1 }), [1, -2], [[0.5, 0.1]]);
  close(s1, [0.99 - 0.1, -1.98 - 0.1]);
  const got = run(adamW({ lr: 0.05, weightDecay: 0.2 }), [1, -2], G);
  close(got.at(-1)!, refAdam([1, -2], G, { lr: 0.05, wd: 0.2, decoupled: true }).at(-1)!);
  assertEquals(adamW().config.weightDecay, 0.01); // PyTorch default
});

Deno.test("SGD with momentum: buf = g on the first step, then μ·buf + g", () => {
  const s = run(sgd({ lr: 0.1, momentum: 0.9 }), [1, -2], [[0.5, 0.1], [-0.5, 0.2]]);
  close(s[0], [0.95, -2.01]);
  close(s[1], [0.955, -2.039]);
  const n = run(sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), [1, -2], [[0.5, 0.1]]);
  close(n[0], [0.905, -2.019]);
  const plain = run(sgd({ lr: 0.1, weightDecay: 0.5 }), [1, -2], [[0.5, 0.1]]);
  close(plain[0], [1 - 0.1 * (0.5 + 0.5), -2 - 0.1 * (0.1 - 1)]);
});

/** PyTorch's SGD update in float64, scalar by scalar. */
function refSgd(
  p0: number[],
  grads: number[][],
  o: { lr: number; mu?: number; damp?: number; wd?: number; nesterov?: boolean },
): number[][] {
  const mu = o.mu ?? 0, damp = o.damp ?? 0, wd = o.wd ?? 0;
  const p = p0.slice(), buf = p0.map(() => 0);
  const out: number[][] = [];
  grads.forEach((g0, t) => {
    for (let i = 0; i < p.length; i++) {
      let g = g0[i] + wd * p[i];
      if (mu !== 0) {
        buf[i] = t === 0 ? g : mu * buf[i] + (1 - damp) * g;
        g = o.nesterov ? g + mu * buf[i] : buf[i];
      }
      p[i] -= o.lr * g;
    }
    out.push(p.slice());
  });
  return out;
}

Deno.test("SGD matches PyTorch's update over several steps (decay, dampening, Nesterov)", () => {
  const cases = [
    { lr: 0.1, wd: 0.05 },
    { lr: 0.1, mu: 0.9, damp: 0.3, wd: 0.01 },
    { lr: 0.05, mu: 0.8, nesterov: true, wd: 0.02 },
  ];
  for (const c of cases) {
    const opt = sgd({
      lr: c.lr,
      momentum: c.mu,
      dampening: c.damp,
      weightDecay: c.wd,
      nesterov: c.nesterov,
    });
    close(run(opt, [1, -2], G).at(-1)!, refSgd([1, -2], G, c).at(-1)!);
  }
});

Deno.test("learning rate is settable per step", () => {
  const opt = sgd({ lr: 0.1 });
  const v = tf.variable(tf.tensor1d([1]));
  const g = tf.tensor1d([1]);
  opt.applyGradients([{ key: "p", variable: v }], [g]);
  opt.lr = 0.5;
  opt.applyGradients([{ key: "p", variable: v }], [g]);
  assertAlmostEquals(v.dataSync()[0], 1 - 0.1 - 0.5, 1e-6);
  opt.applyGradients([{ key: "p", variable: v }], [null]); // no grad: untouched
  assertAlmostEquals(v.dataSync()[0], 0.4, 1e-6);
  tf.dispose([v, g]);
});

Deno.test("state round-trips: a restored optimiser continues identically", () => {
  for (
    const spec of [{ name: "adamw", lr: 0.05 }, { name: "sgd", lr: 0.1, momentum: 0.9 }] as const
  ) {
    const a = makeOptimizer(spec);
    const va = tf.variable(tf.tensor1d([1, -2]));
    const step = (o: Optimizer, v: tf.Variable, g: number[]) =>
      tf.tidy(() => o.applyGradients([{ key: "p", variable: v }], [tf.tensor1d(g)]));
    step(a, va, G[0]);
    step(a, va, G[1]);
    const saved = JSON.parse(
      JSON.stringify(
        a.getState(),
        (_k, x) => x instanceof Float32Array ? { f32: Array.from(x) } : x,
      ),
    );
    for (const p of Object.values(saved.params) as { slots: Record<string, { data: unknown }> }[]) {
      for (const s of Object.values(p.slots)) {
        s.data = Float32Array.from((s.data as { f32: number[] }).f32);
      }
    }
    const b = makeOptimizer(spec);
    b.setState(saved);
    const vb = tf.variable(va.clone());
    step(a, va, G[2]);
    step(b, vb, G[2]);
    assertEquals(Array.from(vb.dataSync()), Array.from(va.dataSync()));
    assertEquals(b.getState().params.p.step, 3);
    tf.dispose([va, vb]);
    a.dispose();
    b.dispose();
  }
});

Deno.test("optimiser errors name the field", () => {
  assertThrows(() => adam({ lr: -1 }), ConfigError, "lr");
  assertThrows(() => adam({ beta1: 1 }), ConfigError, "beta1");
  assertThrows(() => sgd({ nesterov: true }), ConfigError, "nesterov");
  assertThrows(() => adam().setState(sgd().getState()), ConfigError, "sgd");
  // deno-lint-ignore no-explicit-any
  assertThrows(() => makeOptimizer({ name: "rmsprop" } as any), ConfigError, "rmsprop");
});
