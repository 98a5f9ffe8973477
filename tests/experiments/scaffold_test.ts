import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/select.ts";
import type { Windows } from "../../lib/data/types.ts";
import { ConfigError, DataFormatError } from "../../lib/errors.ts";
import {
  canonicalJson,
  COMPACT_PIECE_BYTES,
  type ExperimentArgs,
  jsonDiff,
  runExperiment,
  type RunRecord,
  specHash,
  startExperiment,
} from "../../lib/experiments/scaffold.ts";
import { tempDir } from "../_helpers.ts";

interface ToySpec {
  seed: number;
  downstream: { epochs: number; lr: number };
  classes: string[];
}

const SPEC: ToySpec = { seed: 0, downstream: { epochs: 5, lr: 1e-3 }, classes: ["a", "b"] };

/** Args writing into `dir` with the log captured in `lines` and no git (fast, deterministic). */
function args(
  dir: string,
  over: Partial<ExperimentArgs<ToySpec>> = {},
  lines: string[] = [],
): ExperimentArgs<ToySpec> {
  return {
    name: "toy",
    spec: SPEC,
    outDir: join(dir, "out"),
    cacheDir: join(dir, "cache"),
    dataDir: join(dir, "data"),
    gitDir: dir,
    log: (l) => lines.push(l),
    ...over,
  };
}

async function readRun(dir: string): Promise<RunRecord<ToySpec>> {
  return JSON.parse(await Deno.readTextFile(join(dir, "out", "run.json")));
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await walk(p));
    else out.push(p);
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

function toyWindows(n: number, seed: number): Windows {
  const channels = 3, length = 7;
  const x = new Float32Array(n * channels * length);
  let s = seed + 1;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s / 2147483648 - 0.5) * 1e3;
  }
  x[0] = -0; // sign of zero and a NaN survive byte for byte
  x[1] = NaN;
  return {
    x,
    n,
    channels,
    length,
    y: Int32Array.from({ length: n }, (_, i) => (i % 3) - 1),
    classes: ["walk", "sit"],
    subject: Array.from({ length: n }, (_, i) => `s${i % 4}`),
    rateHz: 30,
    startSec: Float64Array.from({ length: n }, (_, i) => i * 0.1 + 1 / 3),
    source: Array.from({ length: n }, (_, i) => `file${i % 2}.csv`),
  };
}

Deno.test("specHash: key order does not matter, values do; non-JSON specs are refused", () => {
  assertEquals(
    canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }], u: undefined }),
    '{"a":[2,{"c":4,"d":3}],"b":1}',
  );
  assertEquals(specHash({ a: 1, b: { c: [1, 2] } }), specHash({ b: { c: [1, 2] }, a: 1 }));
  assert(specHash({ a: 1 }) !== specHash({ a: 2 }));
  assert(specHash([1, 2]) !== specHash([2, 1]));
  assertEquals(specHash({}).length, 64);
  assertThrows(() => specHash({ x: { lr: NaN } }), ConfigError, "value.x.lr: NaN");
  assertThrows(() => specHash({ w: new Float32Array(2) }), ConfigError, "Float32Array");
  assertEquals(jsonDiff({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 }, d: 4 }).map((d) => d.path), [
    "b.c",
    "d",
  ]);
});

Deno.test("piece: computed once, reused with resume, recomputed without", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    let calls = 0;
    interface Fold {
      f1: number;
      perSubject: { s: string; f1: number }[];
      kappa: number | null;
    }
    const compute = (v: number) => (): Promise<Fold> => {
      calls++;
      return Promise.resolve({ f1: v, perSubject: [{ s: "1", f1: v / 2 }], kappa: NaN });
    };
    const e1 = await startExperiment(args(dir));
    const a = await e1.piece("folds/adl5/frozen/fold0", compute(0.5));
    // the JSON round trip is returned (as a resumed run would read it)
    assertEquals(a, { f1: 0.5, perSubject: [{ s: "1", f1: 0.25 }], kappa: null });
    await e1.piece("folds/adl5/frozen/fold1", compute(0.7));
    // the same key again in the same run: stored value, no computation
    assertEquals(await e1.piece("folds/adl5/frozen/fold1", compute(99)), {
      f1: 0.7,
      perSubject: [{ s: "1", f1: 0.35 }],
      kappa: null,
    });
    assertEquals(await e1.piece("empty", () => Promise.resolve(null)), null);
    await e1.finish();
    assertEquals(calls, 2);
    assert(await exists(join(dir, "out", "folds", "adl5", "frozen", "fold0.json")));

    const e2 = await startExperiment(args(dir, { resume: true }));
    const a2 = await e2.piece("folds/adl5/frozen/fold0", compute(0.5));
    const b2 = await e2.piece("folds/adl5/frozen/fold1", compute(0.7));
    const c2 = await e2.piece("folds/adl5/frozen/fold2", compute(0.9));
    // a stored null is a value like any other
    assertEquals(await e2.piece("empty", () => Promise.reject(new Error("recomputed"))), null);
    const r2 = await e2.finish();
    assertEquals(calls, 3); // only fold2 was computed
    assertEquals([a2.f1, b2.f1, c2.f1], [0.5, 0.7, 0.9]);
    assertEquals(r2.cache.piecesReused, 3);
    assertEquals(r2.cache.piecesComputed, 1);
    assert(r2.resumed);
    assertEquals(r2.previousRuns.length, 1);
    assertEquals(Object.keys(r2.pieces).sort(), [
      "empty",
      "folds/adl5/frozen/fold0",
      "folds/adl5/frozen/fold1",
      "folds/adl5/frozen/fold2",
    ]);
    assert(r2.pieces["folds/adl5/frozen/fold0"].reused);
    assert(!r2.pieces["folds/adl5/frozen/fold2"].reused);

    // without resume the previous pieces are deleted and recomputed
    const e3 = await startExperiment(args(dir));
    assert(!(await exists(join(dir, "out", "folds", "adl5", "frozen", "fold0.json"))));
    await e3.piece("folds/adl5/frozen/fold0", compute(0.5));
    const r3 = await e3.finish();
    assertEquals(calls, 4);
    assertEquals(Object.keys(r3.pieces), ["folds/adl5/frozen/fold0"]);
    assertEquals(r3.previousRuns.length, 0);
  } finally {
    await cleanup();
  }
});

Deno.test("readOnly: reads the finished pieces of a run in progress and writes nothing", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    // no run yet: a clear error, and no folder is created
    await assertRejects(
      () => startExperiment(args(dir, { readOnly: true })),
      ConfigError,
      "no run to read",
    );
    assert(!(await exists(join(dir, "out"))));
    // a run that dies after one piece (status stays "running")
    const e1 = await startExperiment(args(dir));
    await e1.piece("cells/a", () => Promise.resolve({ f1: 0.5 }));
    await e1.writeJson("table.json", { rows: 1 });
    const before = new Map<string, string>();
    for (const f of await walk(join(dir, "out"))) before.set(f, await Deno.readTextFile(f));

    const lines: string[] = [];
    const r = await startExperiment(args(dir, { readOnly: true }, lines));
    assert(r.readOnly && r.resume);
    assertEquals(await r.piece("cells/a", () => Promise.reject(new Error("computed"))), {
      f1: 0.5,
    });
    await assertRejects(
      () => r.piece("cells/b", () => Promise.resolve({ f1: 0.7 })),
      ConfigError,
      "piece cells/b: not finished",
    );
    await r.writeJson("table.json", { rows: 2 });
    await r.writeText("summary.md", "partial");
    await r.stage("tables", () => Promise.resolve());
    const rec = await r.finish();
    assertEquals(rec.status, "running"); // the recorded run's status, not "done"
    assertEquals(rec.cache.piecesReused, 1);
    assert(lines.some((l) => l.includes("read-only")));
    // byte for byte the same files, none added
    const after = await walk(join(dir, "out"));
    assertEquals(after.sort(), [...before.keys()].sort());
    for (const f of after) assertEquals(await Deno.readTextFile(f), before.get(f), f);
    // a different spec is refused as with resume
    await assertRejects(
      () =>
        startExperiment(
          args(dir, { readOnly: true, spec: { ...SPEC, seed: 1 } }),
        ),
      ConfigError,
      "seed: 0 → 1",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("piece: a large piece is written without indentation and reads back equal", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const big = { scores: Array.from({ length: COMPACT_PIECE_BYTES / 4 }, (_, i) => (i % 7) / 7) };
    const e1 = await startExperiment(args(dir));
    await e1.piece("big", () => Promise.resolve(big));
    await e1.piece("small", () => Promise.resolve({ a: [1, 2] }));
    await e1.finish();
    const bigText = await Deno.readTextFile(join(dir, "out", "big.json"));
    assertEquals(bigText, JSON.stringify(big));
    assertEquals(
      await Deno.readTextFile(join(dir, "out", "small.json")),
      JSON.stringify({ a: [1, 2] }, null, 1),
    );
    const e2 = await startExperiment(args(dir, { resume: true }));
    assertEquals(await e2.piece("big", () => Promise.reject(new Error("recomputed"))), big);
    await e2.finish();
  } finally {
    await cleanup();
  }
});

Deno.test("piece: a throwing compute leaves no file; the run fails and keeps finished pieces", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const exp = await startExperiment(args(dir));
    await exp.piece("a", () => Promise.resolve({ ok: 1 }));
    const boom = new Error("out of memory in fold 3");
    const err = await exp.stage("downstream", () =>
      exp.piece("folds/b", () => {
        exp.progress("epoch 1");
        return Promise.reject(boom);
      })).catch((e) => e);
    assertEquals(err, boom);
    // a value that is not plain JSON is refused before anything is written
    await assertRejects(
      () => exp.piece("c", () => Promise.resolve({ x: new Float32Array(3) })),
      ConfigError,
      'piece "c".x: a Float32Array',
    );
    const rec = await exp.fail(boom);
    assertEquals(rec.status, "failed");
    assertEquals(rec.error?.message, "out of memory in fold 3");
    const files = (await walk(join(dir, "out"))).map((f) => f.slice(dir.length + 5)).sort();
    assertEquals(files, ["a.json", "run.json", "run.log"]); // no b.json, c.json or temp file
    const onDisk = await readRun(dir);
    assertEquals(onDisk.status, "failed");
    assertEquals(Object.keys(onDisk.pieces), ["a"]);
    assert(onDisk.durations.stages.downstream >= 0);
    await assertRejects(
      () => exp.piece("d", () => Promise.resolve(1)),
      ConfigError,
      "already finished",
    );

    // resume: a is reused, b computed
    let calls = 0;
    const again = await startExperiment(args(dir, { resume: true }));
    await again.piece("a", () => Promise.resolve({ ok: calls++ }));
    assertEquals(await again.piece("folds/b", () => Promise.resolve(++calls)), 1);
    assertEquals(calls, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("piece: bad keys are refused", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const exp = await startExperiment(args(dir));
    for (const k of ["../x", "/abs", "a//b", "a/../b", "x.json", "run", ""]) {
      await assertRejects(() => exp.piece(k, () => Promise.resolve(1)), ConfigError, "key");
    }
  } finally {
    await cleanup();
  }
});

Deno.test("resume: a different spec is a clear error naming the fields", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const exp = await startExperiment(args(dir));
    await exp.piece("p", () => Promise.resolve(1));
    await exp.finish();
    const other: ToySpec = { ...SPEC, seed: 1, downstream: { ...SPEC.downstream, epochs: 10 } };
    await assertRejects(
      () => startExperiment(args(dir, { spec: other, resume: true })),
      ConfigError,
      "downstream.epochs: 5 → 10; seed: 0 → 1",
    );
    await assertRejects(
      () => startExperiment(args(dir, { name: "other", resume: true })),
      ConfigError,
      '(name): "toy" → "other"',
    );
    // the same spec written with another key order resumes fine
    const same = await startExperiment(args(dir, {
      spec: { classes: ["a", "b"], downstream: { lr: 1e-3, epochs: 5 }, seed: 0 },
      resume: true,
    }));
    assertEquals(await same.piece("p", () => Promise.resolve(2)), 1);
    // a NaN in a spec is refused up front
    await assertRejects(
      () => startExperiment(args(dir, { spec: { ...SPEC, seed: NaN } })),
      ConfigError,
      "spec.seed: NaN",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("resume: a corrupt piece file is an error naming it, or recomputed on request", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const exp = await startExperiment(args(dir));
    await exp.piece("folds/x", () => Promise.resolve({ values: [1, 2, 3, 4, 5, 6] }));
    await exp.finish();
    const file = join(dir, "out", "folds", "x.json");
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.slice(0, text.length >> 1)); // truncated copy

    const e1 = await startExperiment(args(dir, { resume: true }));
    await assertRejects(
      () => e1.piece("folds/x", () => Promise.resolve({ values: [] })),
      DataFormatError,
      `${file}: sha256 differs`,
    );

    const lines: string[] = [];
    const e2 = await startExperiment(args(dir, { resume: true, corrupt: "recompute" }, lines));
    assertEquals(await e2.piece("folds/x", () => Promise.resolve({ values: [7] })), {
      values: [7],
    });
    assert(lines.some((l) => l.includes("warning: piece folds/x") && l.includes("recomputing")));
    assertEquals(JSON.parse(await Deno.readTextFile(file)), { values: [7] });

    // a recorded piece whose file was deleted is recomputed with a warning
    await Deno.remove(file);
    const e4 = await startExperiment(args(dir, { resume: true }, lines));
    assertEquals(await e4.piece("folds/x", () => Promise.resolve({ values: [8] })), {
      values: [8],
    });
    assert(lines.some((l) => l.includes("is recorded but missing; recomputing")));

    // a piece file not listed in run.json (died before recording it) is recomputed
    await Deno.writeTextFile(join(dir, "out", "orphan.json"), '{"stale": true}');
    const e3 = await startExperiment(args(dir, { resume: true }));
    assertEquals(await e3.piece("orphan", () => Promise.resolve({ stale: false })), {
      stale: false,
    });
  } finally {
    await cleanup();
  }
});

Deno.test("windows: cache round trip is byte-identical, keyed by spec and inputs", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    await Deno.mkdir(join(dir, "data", "toyset"), { recursive: true });
    const input = join(dir, "data", "toyset", "raw.csv");
    await Deno.writeTextFile(input, "t,x,y,z\n0,1,2,3\n");
    const w0 = toyWindows(11, 3);
    let makes = 0;
    const make = () => {
      makes++;
      return Promise.resolve(w0);
    };

    const e1 = await startExperiment(args(dir));
    const a = await e1.windows("adl5", make, ["toyset/raw.csv"]);
    assertEquals(a.x, w0.x);
    const r1 = await e1.finish();
    assertEquals([makes, r1.cache.misses, r1.cache.hits], [1, 1, 0]);

    // another run (no resume needed: the cache is content-keyed)
    const e2 = await startExperiment(args(dir));
    const b = await e2.windows("adl5", make, ["toyset/raw.csv"]);
    const r2 = await e2.finish();
    assertEquals([makes, r2.cache.hits], [1, 1]);
    assertEquals(
      new Uint8Array(b.x.buffer, b.x.byteOffset, b.x.byteLength),
      new Uint8Array(w0.x.buffer),
    );
    assert(Object.is(b.x[0], -0) && Number.isNaN(b.x[1]));
    assertEquals([b.n, b.channels, b.length, b.rateHz], [11, 3, 7, 30]);
    assertEquals(b.y, w0.y);
    assertEquals(b.classes, w0.classes);
    assertEquals(b.subject, w0.subject);
    assertEquals(b.startSec, w0.startSec);
    assertEquals(b.source, w0.source);
    assert(r2.cache.windows[0].file?.endsWith(".npy"));

    // a different experiment spec invalidates it …
    const e3 = await startExperiment(args(dir, { spec: { ...SPEC, seed: 7 } }));
    await e3.windows("adl5", make, ["toyset/raw.csv"]);
    assertEquals(makes, 2);
    // … unless the windows' own spec is given and unchanged
    const narrow = { inputs: ["toyset/raw.csv"], spec: { rateHz: 30, classes: ["walk", "sit"] } };
    await e3.windows("adl5", make, narrow);
    const e4 = await startExperiment(args(dir, { spec: { ...SPEC, seed: 8 } }));
    await e4.windows("adl5", make, narrow);
    assertEquals(makes, 3);
    // a changed input file invalidates it
    await Deno.writeTextFile(input, "t,x,y,z\n0,1,2,4\n");
    const lines: string[] = [];
    const e5 = await startExperiment(args(dir, { resume: false }, lines));
    await e5.windows("adl5", make, narrow);
    assertEquals(makes, 4);
    // a damaged cache file is rebuilt with a warning
    const npy = (await e5.finish()).cache.windows[0].file!;
    const bytes = await Deno.readFile(npy);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(npy, bytes);
    const e6 = await startExperiment(args(dir, {}, lines));
    const c = await e6.windows("adl5", make, narrow);
    assertEquals(makes, 5);
    assertEquals(c.x, w0.x);
    assert(lines.some((l) => l.includes("warning: windows adl5") && l.includes("rebuilding")));
    // cacheDir null: always built, nothing written
    const e7 = await startExperiment(args(dir, { cacheDir: null, outDir: join(dir, "nocache") }));
    await e7.windows("adl5", make, narrow);
    await e7.windows("adl5", make, narrow);
    assertEquals(makes, 7);
    assertEquals((await walk(join(dir, "nocache"))).map((f) => f.slice(dir.length + 9)).sort(), [
      "run.json",
      "run.log",
    ]);
    // inconsistent windows are refused
    await assertRejects(
      () => e6.windows("bad", () => Promise.resolve({ ...w0, n: 12 })),
      ConfigError,
      'windows "bad": x has 231 values',
    );
  } finally {
    await cleanup();
  }
});

Deno.test("run.json: commit, backend, checksums, durations and status transitions", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    await initBackend({ prefer: ["cpu"], verbose: false });
    await Deno.mkdir(join(dir, "data", "set", "sub"), { recursive: true });
    const f1 = join(dir, "data", "set", "a.bin");
    const big = new Uint8Array((5 << 20) + 123).map((_, i) => (i * 31) & 0xff); // > one hash chunk
    await Deno.writeFile(f1, big);
    await Deno.writeTextFile(join(dir, "data", "set", "sub", "b.txt"), "hello");
    const hex = async (b: Uint8Array<ArrayBuffer>) =>
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", b)),
        (v) => v.toString(16).padStart(2, "0"),
      ).join("");

    const lines: string[] = [];
    const exp = await startExperiment(args(dir, { gitDir: undefined }, lines));
    let rec = await readRun(dir);
    assertEquals(rec.status, "running");
    assertEquals(rec.finishedAt, null);
    assertEquals(rec.spec, SPEC);
    assertEquals(rec.specHash, specHash(SPEC));
    assert(/^[0-9a-f]{40}$/.test(rec.git.commit ?? ""), `commit ${rec.git.commit}`);
    assertEquals(typeof rec.git.dirty, "boolean");
    assertEquals(rec.runtime.deno, Deno.version.deno);
    assertEquals(rec.runtime.cpus, navigator.hardwareConcurrency);

    const sums = await exp.checksums(["set/a.bin", join(dir, "data", "set")]);
    assertEquals(sums["set/a.bin"].sha256, await hex(big));
    assertEquals(sums["set/a.bin"].bytes, big.length);
    assertEquals(sums["set"].kind, "dir");
    assertEquals(sums["set"].files, 2);
    const manifest = `a.bin\t${big.length}\t${await hex(big)}\nsub/b.txt\t5\t${await hex(
      new TextEncoder().encode("hello"),
    )}\n`;
    assertEquals(sums["set"].sha256, await hex(new TextEncoder().encode(manifest)));

    await exp.stage("pretrain", async () => {
      await exp.piece("pretrain/history", async () => {
        await new Promise((r) => setTimeout(r, 30));
        exp.progress("epoch 1/1");
        return [{ epoch: 1, loss: 0.5 }];
      });
    });
    exp.note("workers", 2);
    rec = await readRun(dir);
    assertEquals(rec.status, "running");
    assertEquals(Object.keys(rec.pieces), ["pretrain/history"]);
    assert(rec.durations.pieces["pretrain/history"] >= 0.02);
    assert(rec.durations.stages.pretrain >= rec.durations.pieces["pretrain/history"]);
    assertEquals(rec.pieces["pretrain/history"].commit, rec.git.commit);
    assertEquals(rec.data["set/a.bin"].sha256, await hex(big));
    assert(lines.some((l) => /^\[\d\d:\d\d\] pretrain › pretrain\/history: epoch 1\/1$/.test(l)));

    const done = await exp.finish();
    rec = await readRun(dir);
    assertEquals(rec.status, "done");
    assertEquals(rec, done);
    assert(rec.finishedAt !== null && rec.durations.total !== null);
    assertEquals(rec.backend.name, "cpu");
    assertEquals(rec.backend.path, "cpu");
    assertEquals(rec.backend.threads, 1);
    assertEquals(rec.notes, { workers: 2 });
    const log = await Deno.readTextFile(join(dir, "out", "run.log"));
    assert(log.includes("stage pretrain: done"));

    // without git: recorded as null, not an error
    const noGit = await startExperiment(args(dir));
    assertEquals(noGit.record.git.commit, null);
    assert(noGit.record.git.error);
  } finally {
    await cleanup();
  }
});

Deno.test("runExperiment: finish on success, fail and rethrow on error", async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const out = await runExperiment(args(dir), (exp) => exp.piece("x", () => Promise.resolve(3)));
    assertEquals(out, 3);
    assertEquals((await readRun(dir)).status, "done");
    await assertRejects(
      () =>
        runExperiment(args(dir, { resume: true }), async (exp) => {
          await exp.piece("x", () => Promise.reject(new Error("not reused?")));
          await exp.stage("eval", () => Promise.reject(new Error("bad fold")));
        }),
      Error,
      "bad fold",
    );
    const rec = await readRun(dir);
    assertEquals(rec.status, "failed");
    assertEquals(rec.error?.message, "bad fold");
    assertEquals(rec.error?.stage, "eval");
    assertEquals(Object.keys(rec.pieces), ["x"]);
  } finally {
    await cleanup();
  }
});
