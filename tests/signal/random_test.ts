import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { rng } from "../../lib/signal/random.ts";

Deno.test("rng: same seed gives the same stream, different seeds differ", () => {
  const a = rng(7), b = rng(7), c = rng(8);
  const sa = Array.from({ length: 20 }, () => a.next());
  const sb = Array.from({ length: 20 }, () => b.next());
  const sc = Array.from({ length: 20 }, () => c.next());
  assertEquals(sa, sb);
  assertNotEquals(sa, sc);
  for (const v of sa) assert(v >= 0 && v < 1);
});

Deno.test("rng: uniform, int and normal have the right moments", () => {
  const r = rng(123);
  const n = 20000;
  let s = 0, s2 = 0;
  const hist = new Array(5).fill(0);
  let ns = 0, ns2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    s += u;
    s2 += u * u;
    hist[r.int(5)]++;
    const z = r.normal();
    ns += z;
    ns2 += z * z;
  }
  assertAlmostEquals(s / n, 0.5, 0.01);
  assertAlmostEquals(s2 / n - (s / n) ** 2, 1 / 12, 0.005);
  for (const h of hist) assertAlmostEquals(h / n, 0.2, 0.015);
  assertAlmostEquals(ns / n, 0, 0.03);
  assertAlmostEquals(ns2 / n, 1, 0.05);
});

Deno.test("rng: shuffle is a seeded permutation; fork is independent", () => {
  const arr = Array.from({ length: 50 }, (_, i) => i);
  const p1 = rng(3).shuffle([...arr]);
  const p2 = rng(3).shuffle([...arr]);
  assertEquals(p1, p2);
  assertNotEquals(p1, arr);
  assertEquals([...p1].sort((a, b) => a - b), arr);
  const r = rng(3);
  const f = r.fork();
  assertNotEquals(f.next(), rng(3).next());
  assertThrows(() => rng(NaN), RangeError);
  assertThrows(() => rng(1).int(0), RangeError);
});

Deno.test("rng state round-trips: a restored stream continues identically", () => {
  const r = rng(11);
  r.normal(); // leaves a spare normal in the state
  const saved = r.state();
  const a = [r.next(), r.normal(), r.uint32(), ...r.permutation(5)];
  const q = rng(999);
  q.setState(saved);
  const b = [q.next(), q.normal(), q.uint32(), ...q.permutation(5)];
  assertEquals(a, b);
  assertEquals([...rng(3).permutation(6)].sort(), [0, 1, 2, 3, 4, 5]);
});
