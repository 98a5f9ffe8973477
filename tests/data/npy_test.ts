import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import {
  decodeNpy,
  encodeNpy,
  npyToNumbers,
  readNpy,
  readSslWearablesNpy,
  windowsToNpy,
  writeNpy,
} from "../../lib/data/npy.ts";
import type { Windows } from "../../lib/data/types.ts";
import { sharedData, tempDir } from "../_helpers.ts";

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
// np.save outputs (numpy 2.4) of small arrays
const NUMPY = {
  f4: b64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEAAAJBA",
  ),
  u4: b64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPFU0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAp3AAAAYQAAAGwAAABrAAAAZgAAADEAAAAAAAAAAAAAAA==",
  ),
  b1: b64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAE=",
  ),
  i8: b64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr//////////wAAAAAAAQAA",
  ),
};

Deno.test("decodeNpy reads numpy-written float32, <U, bool and int64 arrays", () => {
  const f = decodeNpy(NUMPY.f4);
  assertEquals(f.shape, [2, 2]);
  assertEquals(Array.from(f.data as Float32Array), [1, 2, 3, 4.5]);
  assertEquals(decodeNpy(NUMPY.u4).data, ["walk", "f1"]);
  const b = decodeNpy(NUMPY.b1);
  assertEquals([b.dtype, Array.from(b.data as Uint8Array)], ["|b1", [1, 0, 1]]);
  const i = decodeNpy(NUMPY.i8);
  assertEquals(Array.from(i.data as BigInt64Array), [-1n, 2n ** 40n]);
  assertEquals(Array.from(npyToNumbers(i.data)), [-1, 2 ** 40]);
});

Deno.test("encodeNpy is byte-identical to np.save for these arrays", () => {
  assertEquals(encodeNpy(new Float32Array([1, 2, 3, 4.5]), [2, 2]), NUMPY.f4);
  assertEquals(encodeNpy(["walk", "f1"], [2]), NUMPY.u4);
  assertEquals(encodeNpy(new Uint8Array([1, 0, 1]), [3], { dtype: "|b1" }), NUMPY.b1);
  assertEquals(encodeNpy(new BigInt64Array([-1n, 2n ** 40n]), [2]), NUMPY.i8);
});

Deno.test("npy round trips every supported dtype", async () => {
  const t = await tempDir();
  try {
    const arrays = [
      new Float32Array([1.5, -2, NaN]),
      new Float64Array([Math.PI, -1e300, 0]),
      new Int32Array([-5, 7, 2 ** 31 - 1]),
      new BigInt64Array([-(2n ** 62n), 0n, 3n]),
      new Int16Array([-3, 4, 5]),
      new Uint8Array([0, 255, 7]),
      ["climb_stairs", "wälk", "🙂x"],
    ];
    for (const [k, a] of arrays.entries()) {
      const p = join(t.path, `a${k}.npy`);
      await writeNpy(p, a, [3]);
      const r = await readNpy(p);
      assertEquals(r.shape, [3]);
      assertEquals(Array.from(r.data as ArrayLike<unknown>), Array.from(a as ArrayLike<unknown>));
    }
    // big-endian input is byte-swapped
    const be = encodeNpy(new Uint8Array([0, 0, 0x80, 0x3f]), [4]);
    const hdr = latin1(be.subarray(0, 128)).replace("'|u1'", "'>f4'").replace("(4,)", "(1,)");
    const beBytes = new Uint8Array([...bytesOf(hdr), 0x3f, 0x80, 0, 0]);
    assertEquals(Array.from(decodeNpy(beBytes).data as Float32Array), [1]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("npy: truncated data, object arrays and bad magic are refused", async () => {
  const t = await tempDir();
  try {
    const p = join(t.path, "X.npy");
    await Deno.writeFile(p, NUMPY.f4.subarray(0, NUMPY.f4.length - 3));
    await assertRejects(
      () => readNpy(p),
      DataFormatError,
      "X.npy: truncated: header says 16 bytes of data, file has 13",
    );
    const obj = latin1(NUMPY.u4.subarray(0, 128)).replace("'<U4'", "'|O' ");
    assertThrows(
      () => decodeNpy(bytesOf(obj), "Y.npy"),
      DataFormatError,
      "object arrays (dtype '|O') are refused",
    );
    assertThrows(() => decodeNpy(new Uint8Array(20), "z.npy"), DataFormatError, "bad magic");
  } finally {
    await t.cleanup();
  }
});

Deno.test("readNpy: the shared ssl-wearables ADL Y.npy / pid.npy", async () => {
  const dir = sharedData("ssl-wearables-adl-reference");
  if (!dir) return;
  const y = await readNpy(join(dir, "Y.npy"));
  assertEquals([y.dtype, y.shape], ["<U14", [635]]);
  const pid = await readNpy(join(dir, "pid.npy"));
  assertEquals([pid.dtype, pid.shape], ["<U3", [635]]);
  const w = await readSslWearablesNpy(dir);
  assertEquals(w.n, 635);
  assertEquals(w.classes, ["climb_stairs", "drink_glass", "getup_bed", "pour_water", "walk"]);
  assertEquals([w.channels, w.length, w.x.length], [0, 0, 0]); // no X.npy: labels only
  const count = (k: number) => w.y.filter((v) => v === k).length;
  assertEquals(w.classes.map((_, k) => count(k)), [66, 105, 92, 93, 279]);
  assertEquals(w.subject.filter((s) => s === "f1").length, 275);
  assertEquals(new Set(w.subject).size, 7);
});

Deno.test("windowsToNpy / readSslWearablesNpy round trip in the ssl-wearables [n, L, C] layout", async () => {
  const t = await tempDir();
  try {
    const n = 4, C = 3, L = 5;
    const x = Float32Array.from({ length: n * C * L }, (_, i) => i);
    const w: Windows = {
      x,
      n,
      channels: C,
      length: L,
      y: new Int32Array([0, 1, -1, 1]),
      classes: ["a", "b"],
      subject: ["f1", "f1", "m2", "m2"],
      rateHz: 30,
    }; // deno-fmt-ignore
    await windowsToNpy(w, t.path);
    const X = await readNpy(join(t.path, "X.npy"));
    assertEquals(X.shape, [n, L, C]);
    // window 0, time 1, channel 2 == x[0*C*L + 2*L + 1]
    assertEquals((X.data as Float32Array)[1 * C + 2], x[2 * L + 1]);
    const back = await readSslWearablesNpy(t.path);
    assertEquals(Array.from(back.x), Array.from(x));
    assertEquals([back.channels, back.length], [C, L]);
    assertEquals(back.subject, w.subject);
    // "" marks the unlabelled window and sorts first
    assertEquals(back.classes, ["", "a", "b"]);
    assertEquals(Array.from(back.y), [1, 2, 0, 2]);
    assert(back.rateHz === 30);
  } finally {
    await t.cleanup();
  }
});

Deno.test("npy: 200 000 labels (more than an argument spread can take) encode and write", async () => {
  const n = 200_000;
  const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "climb_stairs" : "walk"));
  // The old dtype inference, Math.max(1, ...lengths), overflows the call stack here.
  assertThrows(() => Math.max(1, ...labels.map((s) => s.length)), RangeError);
  const bytes = encodeNpy(labels, [n]);
  const back = decodeNpy(bytes, "Y.npy");
  assertEquals([back.dtype, back.shape], ["<U12", [n]]);
  assertEquals((back.data as string[])[3], "climb_stairs");
  // ... and a whole ssl-wearables output of that many windows (labels only, x empty).
  const t = await tempDir();
  try {
    const w: Windows = {
      x: new Float32Array(0),
      n,
      channels: 0,
      length: 0,
      y: Int32Array.from(labels, (l) => (l === "walk" ? 1 : 0)),
      classes: ["climb_stairs", "walk"],
      subject: Array.from({ length: n }, (_, i) => `s${i % 7}`),
      rateHz: 30,
    };
    await windowsToNpy(w, join(t.path, "out"), { extraFiles: { "info.json": "{}" } });
    const r = await readSslWearablesNpy(join(t.path, "out"));
    assertEquals([r.n, r.classes], [n, ["climb_stairs", "walk"]]);
    assertEquals(await Deno.readTextFile(join(t.path, "out", "info.json")), "{}");
  } finally {
    await t.cleanup();
  }
});

Deno.test("windowsToNpy: a re-run replaces the whole old output; a failed one leaves it whole", async () => {
  const t = await tempDir();
  try {
    const out = join(t.path, "out");
    const mk = (n: number, cls: string, x = true): Windows => ({
      x: x ? new Float32Array(n * 3 * 2) : new Float32Array(0),
      n,
      channels: 3,
      length: 2,
      y: new Int32Array(n),
      classes: [cls],
      subject: new Array(n).fill("p"),
      rateHz: 30,
    });
    await windowsToNpy(mk(4, "old"), out, { extraFiles: { "info.json": "old" } });
    await Deno.writeTextFile(join(out, "features.npy.note"), "not ours"); // kept
    // labels only this time: the old 4-window X.npy must not sit beside 2 new labels
    await windowsToNpy(mk(2, "new", false), out);
    const names = [];
    for await (const e of Deno.readDir(out)) names.push(e.name);
    assertEquals(names.sort(), ["Y.npy", "features.npy.note", "pid.npy"]);
    // a write that fails half-way (bad extra file name, after X/Y/pid were written) changes nothing
    await assertRejects(
      () => windowsToNpy(mk(3, "bad"), out, { extraFiles: { "../evil": "x" } }),
      TypeError,
      "plain file name",
    );
    const back = await readSslWearablesNpy(out);
    assertEquals([back.n, back.classes, back.x.length], [2, ["new"], 0]);
    const left = [];
    for await (const e of Deno.readDir(t.path)) left.push(e.name);
    assertEquals(left, ["out"]);
  } finally {
    await t.cleanup();
  }
});
