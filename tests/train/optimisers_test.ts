import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
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

// AMSGrad references from PyTorch 1.13 (float32 tensors), produced by hand
// with a small script: p = torch.tensor(P0, requires_grad=True), then for each
// row of G_AMS `p.grad = torch.tensor(row); opt.step()`, recording `p` after
// every step and `opt.state[p]["max_exp_avg_sq"]` / `["exp_avg_sq"]` at the
// end, with
//   Adam:  torch.optim.Adam([p], lr=0.05, betas=(0.9, 0.9), weight_decay=0.1, amsgrad=True)
//   AdamW: torch.optim.AdamW([p], lr=0.05, betas=(0.8, 0.95), weight_decay=0.05, amsgrad=True)
// and the last `p` of the same runs with amsgrad=False. The gradients fall
// after large ones, so `v` decreases at several steps and the maximum matters.
const P0_AMS = [1, -2, 0.5];
const G_AMS = [
  [2.0, -1.5, 0.8],
  [0.05, 0.3, -0.9],
  [-0.02, -0.01, 0.05],
  [0.6, 0.02, 0.01],
  [-0.01, 1.2, -0.03],
  [0.03, -0.05, 0.4],
  [0.0, 0.01, -0.02],
  [-0.4, 0.02, 0.005],
];
const TORCH_AMSGRAD = {
  adam: {
    spec: { name: "adam", lr: 0.05, beta1: 0.9, beta2: 0.9, weightDecay: 0.1, amsgrad: true },
    steps: [
      [0.949999988079071, -1.9500000476837158, 0.44999998807907104],
      [0.9148489236831665, -1.9195940494537354, 0.4527777433395386],
      [0.8873255848884583, -1.8930721282958984, 0.4524087607860565],
      [0.8564935326576233, -1.8691976070404053, 0.45084667205810547],
      [0.8301745057106018, -1.8643144369125366, 0.4492412209510803],
      [0.8067870140075684, -1.8570470809936523, 0.43914595246315],
      [0.7859981656074524, -1.8486239910125732, 0.43008995056152344],
      [0.7712976336479187, -1.8393707275390625, 0.4214334487915039],
    ],
    vmax: [0.44099995493888855, 0.2989334166049957, 0.13812749087810516],
    v: [0.25583770871162415, 0.22794680297374725, 0.09047594666481018],
    plainLast: [0.7449284791946411, -1.8292529582977295, 0.4162410497665405],
  },
  adamw: {
    spec: { name: "adamw", lr: 0.05, beta1: 0.8, beta2: 0.95, weightDecay: 0.05, amsgrad: true },
    steps: [
      [0.9474999904632568, -1.9450000524520874, 0.44874998927116394],
      [0.9131298661231995, -1.9168637990951538, 0.45609745383262634],
      [0.8883510231971741, -1.895228385925293, 0.45954933762550354],
      [0.8593786954879761, -1.8782237768173218, 0.46158939599990845],
      [0.8366341590881348, -1.8864710330963135, 0.46370652318000793],
      [0.8178280591964722, -1.8911123275756836, 0.4546487331390381],
      [0.8024610280990601, -1.8940128087997437, 0.44773852825164795],
      [0.7959994673728943, -1.8957396745681763, 0.4418553113937378],
    ],
    vmax: [0.20000000298023224, 0.1675136685371399, 0.07090000063180923],
    v: [0.16248084604740143, 0.1437595933675766, 0.059497639536857605],
    plainLast: [0.7889342308044434, -1.8955531120300293, 0.4412892460823059],
  },
} as const;

Deno.test("AMSGrad (Adam with L2 decay, AdamW) matches PyTorch amsgrad=True step by step", () => {
  for (const [name, ref] of Object.entries(TORCH_AMSGRAD)) {
    const opt = makeOptimizer(ref.spec);
    assertEquals(opt.config.amsgrad, true);
    const v = tf.variable(tf.tensor1d(P0_AMS));
    G_AMS.forEach((g, t) => {
      tf.tidy(() => opt.applyGradients([{ key: "p", variable: v }], [tf.tensor1d(g)]));
      close(Array.from(v.dataSync()), ref.steps[t] as unknown as number[], 2e-6);
    });
    const st = opt.getState().params.p;
    assertEquals(Object.keys(st.slots).sort(), ["m", "v", "vmax"], name);
    close(Array.from(st.slots.vmax.data), ref.vmax as unknown as number[], 1e-7);
    close(Array.from(st.slots.v.data), ref.v as unknown as number[], 1e-7);
    tf.dispose(v);
    opt.dispose();
    // without amsgrad: PyTorch's plain numbers, which differ from AMSGrad's
    const plain = run(makeOptimizer({ ...ref.spec, amsgrad: false }), P0_AMS, G_AMS).at(-1)!;
    close(plain, ref.plainLast as unknown as number[], 2e-6);
    const d = Math.max(...plain.map((x, i) => Math.abs(x - ref.steps.at(-1)![i])));
    assert(d > 5e-3, `${name}: AMSGrad should differ from plain Adam, max difference ${d}`);
  }
  assertEquals(adam().config.amsgrad, false); // PyTorch default
  assertEquals(adam().slotNames, ["m", "v"]);
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
    const spec of [
      { name: "adamw", lr: 0.05 },
      { name: "adam", lr: 0.05, amsgrad: true },
      { name: "sgd", lr: 0.1, momentum: 0.9 },
    ] as const
  ) {
    const a = makeOptimizer(spec);
    const va = tf.variable(tf.tensor1d([1, -2]));
    const step = (o: Optimizer, v: tf.Variable, g: number[]) =>
      tf.tidy(() => o.applyGradients([{ key: "p", variable: v }], [tf.tensor1d(g)]));
    // falling gradients after large ones: AMSGrad's maximum matters after the restore
    const seq = G_AMS.map((g) => g.slice(0, 2));
    step(a, va, seq[0]);
    step(a, va, seq[1]);
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
    for (const g of seq.slice(2, 6)) {
      step(a, va, g);
      step(b, vb, g);
    }
    assertEquals(Array.from(vb.dataSync()), Array.from(va.dataSync()));
    const sb = b.getState().params.p;
    assertEquals(sb.step, 6);
    if (spec.name === "adam") {
      assert("vmax" in saved.params.p.slots, "the state holds vmax");
      assert(sb.slots.vmax.data[0] > sb.slots.v.data[0], "vmax > v: the maximum mattered");
    }
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
  assertThrows(() => adam({ amsgrad: 1 as any }), ConfigError, "amsgrad");
  // a state saved without amsgrad lacks vmax (and one saved with it has it)
  const plainAdam = adam();
  const v = tf.variable(tf.tensor1d([1]));
  tf.tidy(() => plainAdam.applyGradients([{ key: "p", variable: v }], [tf.tensor1d([1])]));
  assertThrows(() => adam({ amsgrad: true }).setState(plainAdam.getState()), ConfigError, "vmax");
  const ams = adam({ amsgrad: true });
  tf.tidy(() => ams.applyGradients([{ key: "p", variable: v }], [tf.tensor1d([1])]));
  assertThrows(() => adam().setState(ams.getState()), ConfigError, "amsgrad");
  tf.dispose(v);
  // deno-lint-ignore no-explicit-any
  assertThrows(() => makeOptimizer({ name: "rmsprop" } as any), ConfigError, "rmsprop");
});
