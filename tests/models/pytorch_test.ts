import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { join } from "node:path";
import { CheckpointError } from "../../lib/errors.ts";
import {
  findStateDict,
  loadTorchStateDict,
  parseTorchCheckpoint,
  saveTorchStateDict,
  type StateDict,
  unpickle,
} from "../../lib/models/pytorch.ts";
import { writeZip, ZipArchive } from "../../lib/data/zip.ts";
import { oracle, tempDir } from "../_helpers.ts";
import { le, MALICIOUS, OP, Pickle, stateDictPickle, torchZip } from "./_torch_fixture.ts";

Deno.test("unpickle refuses every pickle that tries to call a function", () => {
  for (const [name, bytes] of Object.entries(MALICIOUS)) {
    const err = assertThrows(() => unpickle(bytes, { file: "evil.pt" }), CheckpointError);
    assertStringIncludes(err.message, "evil.pt");
    assertStringIncludes(err.message, `refused unsafe global '${name}'`);
  }
});

Deno.test("unpickle refuses object-construction opcodes", () => {
  const inst = new Pickle().op(OP.PROTO, 2, OP.MARK, OP.INST).bytes();
  assertThrows(
    () => unpickle(inst, { file: "x.pt" }),
    CheckpointError,
    "refused pickle opcode 0x69",
  );
  const newobj = new Pickle().op(OP.PROTO, 2).global("collections", "OrderedDict")
    .op(OP.EMPTY_TUPLE, OP.NEWOBJ, OP.STOP).bytes();
  assertThrows(
    () => unpickle(newobj, { file: "x.pt" }),
    CheckpointError,
    "refused pickle opcode 0x81",
  );
});

Deno.test("unpickle decodes containers and scalars", () => {
  // {"a": (1, -2, 70000), "b": []} built with protocol-2 opcodes
  const p = new Pickle().op(OP.PROTO, 2, OP.EMPTY_DICT, OP.MARK).str("a").ints([1, -2, 70000])
    .str("b").op(0x5d, OP.SETITEMS, OP.STOP).bytes();
  const v = unpickle(p) as Map<string, unknown>;
  assertEquals(v.get("a"), [1, -2, 70000]);
  assertEquals(v.get("b"), []);
  assertThrows(() => unpickle(p.subarray(0, p.length - 3)), CheckpointError, "truncated");
});

Deno.test("loader rebuilds strided / offset / int64 / float16 tensors and handles deflate", async () => {
  const storage0 = le(Float32Array.from({ length: 12 }, (_, i) => i));
  const storage1 = le(new BigInt64Array([5n, -7n, 9007199254740993n]));
  const storage2 = le(new Uint16Array([0x3c00, 0xc000, 0x3555])); // 1, -2, ~0.3333 in float16
  const pkl = stateDictPickle([
    // transposed view: element (i, j) = storage[1 + i + 2 j]
    {
      name: "module.w",
      storage: "0",
      storageType: "FloatStorage",
      storageNumel: 12,
      offset: 1,
      shape: [2, 3],
      stride: [1, 2],
    },
    {
      name: "module.c",
      storage: "0",
      storageType: "FloatStorage",
      storageNumel: 12,
      offset: 4,
      shape: [2, 2],
      stride: [2, 1],
    },
    {
      name: "n",
      storage: "1",
      storageType: "LongStorage",
      storageNumel: 3,
      offset: 0,
      shape: [3],
      stride: [1],
    },
    {
      name: "h",
      storage: "2",
      storageType: "HalfStorage",
      storageNumel: 3,
      offset: 0,
      shape: [3],
      stride: [1],
    },
  ]);
  const zip = torchZip(pkl, { "0": storage0, "1": storage1, "2": storage2 }, "weird_name");
  const sd = findStateDict(await parseTorchCheckpoint(zip, "fixture.pt"), "fixture.pt");
  assertEquals([...sd.keys()], ["module.w", "module.c", "n", "h"]);
  assertEquals(sd.get("module.w")!.shape, [2, 3]);
  assertEquals(Array.from(sd.get("module.w")!.data as Float32Array), [1, 3, 5, 2, 4, 6]);
  assertEquals(Array.from(sd.get("module.c")!.data as Float32Array), [4, 5, 6, 7]);
  assertEquals(sd.get("n")!.dtype, "int64");
  assertEquals(Array.from(sd.get("n")!.data as BigInt64Array), [5n, -7n, 9007199254740993n]);
  const h = sd.get("h")!.data as Float32Array;
  assertEquals([h[0], h[1]], [1, -2]);
  assert(Math.abs(h[2] - 1 / 3) < 1e-3);

  // The same checkpoint with every entry DEFLATE-compressed.
  const zipped = writeZip([
    { name: "archive/data.pkl", data: pkl },
    { name: "archive/data/0", data: storage0 },
    { name: "archive/data/1", data: storage1 },
    { name: "archive/data/2", data: storage2 },
  ], { deflate: true });
  assertEquals(new ZipArchive(zipped).entries.get("archive/data.pkl")!.method, 8);
  const sd2 = findStateDict(await parseTorchCheckpoint(zipped, "deflated.pt"));
  assertEquals(Array.from(sd2.get("module.w")!.data as Float32Array), [1, 3, 5, 2, 4, 6]);
});

Deno.test("loader reports out-of-bounds tensors, missing storages, corrupt and non-zip files", async () => {
  const storage0 = le(new Float32Array(4));
  const bad = stateDictPickle([
    {
      name: "w",
      storage: "0",
      storageType: "FloatStorage",
      storageNumel: 4,
      offset: 2,
      shape: [3],
      stride: [1],
    },
  ]);
  await assertRejects(
    () => parseTorchCheckpoint(torchZip(bad, { "0": storage0 }), "oob.pt"),
    CheckpointError,
    "exceeds its storage",
  );
  const ok = stateDictPickle([
    {
      name: "w",
      storage: "7",
      storageType: "FloatStorage",
      storageNumel: 4,
      offset: 0,
      shape: [4],
      stride: [1],
    },
  ]);
  await assertRejects(
    () => parseTorchCheckpoint(torchZip(ok, {}), "nostorage.pt"),
    CheckpointError,
    "storage '7' missing",
  );
  const zip = torchZip(ok, { "7": storage0 });
  const corrupt = zip.slice();
  corrupt[100] ^= 0xff; // inside data.pkl's payload
  await assertRejects(
    () => parseTorchCheckpoint(corrupt, "corrupt.pt"),
    CheckpointError,
    'corrupt.pt: entry "archive/data.pkl": CRC-32 mismatch',
  );
  await assertRejects(
    () => parseTorchCheckpoint(new Uint8Array([0x80, 2, 0x8a, 0x0a]), "old.pt"),
    CheckpointError,
    "legacy",
  );
  await assertRejects(
    () => parseTorchCheckpoint(new TextEncoder().encode("hello"), "text.pt"),
    CheckpointError,
    "not a PyTorch checkpoint",
  );
  await assertRejects(() => loadTorchStateDict("/nonexistent/x.pt"), CheckpointError, "not found");
  // A checkpoint whose pickle calls os.system is refused when loaded from a zip too.
  await assertRejects(
    () => parseTorchCheckpoint(torchZip(MALICIOUS["os.system"], {}), "evil.mdl"),
    CheckpointError,
    "evil.mdl: refused unsafe global 'os.system'",
  );
});

Deno.test("saveTorchStateDict → loadTorchStateDict round trip", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const sd: StateDict = new Map([
      ["a.weight", {
        shape: [2, 3, 1],
        dtype: "float32" as const,
        data: new Float32Array([1, 2, 3, 4, 5, 6]),
      }],
      ["a.num_batches_tracked", {
        shape: [],
        dtype: "int64" as const,
        data: new BigInt64Array([42n]),
      }],
      ["b", {
        shape: [300],
        dtype: "float32" as const,
        data: Float32Array.from({ length: 300 }, (_, i) => i / 7),
      }],
    ]);
    const file = join(path, "rt.pt");
    await saveTorchStateDict(file, sd);
    const back = await loadTorchStateDict(file);
    assertEquals([...back.keys()], [...sd.keys()]);
    for (const [k, t] of sd) {
      assertEquals(back.get(k)!.shape, t.shape);
      assertEquals(back.get(k)!.dtype, t.dtype);
      assertEquals(
        Array.from(back.get(k)!.data as ArrayLike<number | bigint>),
        Array.from(t.data as ArrayLike<number | bigint>),
      );
    }
  } finally {
    await cleanup();
  }
});

Deno.test("oracle: the released-format MTL checkpoint loads with module. keys and four heads", async () => {
  const dir = oracle("harnet10");
  if (!dir) return;
  const sd = await loadTorchStateDict(join(dir, "mtl_checkpoint.mdl"));
  const keys = [...sd.keys()];
  assert(keys.every((k) => k.startsWith("module.")), "all keys carry the DataParallel prefix");
  assertEquals(sd.get("module.feature_extractor.layer1.0.weight")!.shape, [64, 3, 5]);
  assertEquals(sd.get("module.feature_extractor.layer5.0.weight")!.shape, [1024, 512, 5]);
  assertEquals(sd.get("module.feature_extractor.layer1.5.kernel")!.shape, [64, 1, 4]);
  assertEquals(sd.get("module.feature_extractor.layer1.1.bn1.num_batches_tracked")!.dtype, "int64");
  for (const h of ["aot_h", "scale_h", "permute_h", "time_w_h"]) {
    assertEquals(sd.get(`module.${h}.linear1.weight`)!.shape, [2, 1024]);
    assertEquals(sd.get(`module.${h}.linear1.bias`)!.shape, [2]);
  }
  const k = sd.get("module.feature_extractor.layer1.5.kernel")!.data as Float32Array;
  assertEquals(Array.from(k.subarray(0, 4)), [0.125, 0.375, 0.375, 0.125]);
});

Deno.test("loader validates every tensor header field, naming the file and the tensor", async () => {
  const storage = le(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
  const base = {
    name: "encoder.weight",
    storage: "0",
    storageType: "FloatStorage",
    storageNumel: 8,
    offset: 0,
    shape: [2, 2],
    stride: [2, 1],
  };
  const load = (over: Partial<typeof base>, file = "bad.pt") =>
    parseTorchCheckpoint(torchZip(stateDictPickle([{ ...base, ...over }]), { "0": storage }), file);
  // the good one loads, with an offset
  const ok = findStateDict(await load({ offset: 4 }));
  assertEquals(Array.from(ok.get("encoder.weight")!.data as Float32Array), [5, 6, 7, 8]);
  const cases: [Partial<typeof base>, string][] = [
    [{ offset: -4 }, "storage offset -4 is not an integer >= 0"],
    [{ offset: 1.5 }, "storage offset 1.5 is not an integer >= 0"],
    [{ offset: 2 ** 31 - 1 }, "exceeds its storage"],
    [{ offset: 5 }, "exceeds its storage: reaches element 8 of 8"],
    [{ shape: [2, -2] }, "size[1] = -2 is not an integer >= 0"],
    [{ shape: [2, 1.5] }, "size[1] = 1.5 is not an integer >= 0"],
    [{ stride: [-2, 1] }, "stride[0] = -2 is not an integer >= 0"],
    [{ stride: [2, 0.5] }, "stride[1] = 0.5 is not an integer >= 0"],
    [{ stride: [1] }, "differ in length"],
  ];
  for (const [over, fault] of cases) {
    const e = await assertRejects(() => load(over), CheckpointError);
    assertStringIncludes(e.message, "bad.pt: tensor 'encoder.weight' (storage '0'): ");
    assertStringIncludes(e.message, fault);
  }
  // the storage's declared element count, and its dtype
  for (const [numel, fault] of [[-1, "element count -1"], [2.5, "element count 2.5"]] as const) {
    const e = await assertRejects(() => load({ storageNumel: numel }), CheckpointError);
    assertStringIncludes(e.message, `bad.pt: storage '0': ${fault} is not an integer >= 0`);
  }
  // a declared element count the storage's bytes do not hold
  await assertRejects(() => load({ storageNumel: 9 }), CheckpointError, "has 32 bytes, expected 9");
  // a declared count smaller than the bytes bounds the tensor (not the file size)
  await assertRejects(
    () => load({ storageNumel: 2 }),
    CheckpointError,
    "exceeds its storage: reaches element 3 of 2",
  );
  await assertRejects(
    () => load({ storageType: "toString" }),
    CheckpointError,
    "refused unsafe global 'torch.toString'",
  );
});

Deno.test("unpickle: lists of 200 000 items (APPENDS, MARK) do not overflow the stack", () => {
  const p = new Pickle().op(OP.PROTO, 2, 0x5d, OP.MARK);
  for (let i = 0; i < 200_000; i++) p.op(OP.BININT1, i & 0xff);
  const list = unpickle(p.op(0x65, OP.STOP).bytes()) as number[];
  assertEquals(list.length, 200_000);
  const q = new Pickle().op(OP.PROTO, 2, OP.MARK);
  for (let i = 0; i < 200_000; i++) q.op(OP.BININT1, 1);
  q.op(OP.MARK, OP.BININT1, 7, OP.TUPLE); // closing the nested MARK restores the 200 000 below
  assertEquals((unpickle(q.op(OP.TUPLE, OP.STOP).bytes()) as number[]).length, 200_001);
});
