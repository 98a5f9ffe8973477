import { assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import {
  atomicWrite,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from "../../lib/train/checkpoint.ts";
import { CheckpointError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("checkpoint encode/decode round-trips meta and tensors exactly", () => {
  const data = {
    meta: { step: 7, rng: [1, 2, 3, 4294967295], loss: 0.1 + 0.2, name: "x" },
    tensors: {
      a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, Math.PI]) },
      empty: { shape: [0], data: new Float32Array(0) },
      b: { shape: [1], data: Float32Array.from([-0.5]) },
    },
  };
  const back = decodeCheckpoint(encodeCheckpoint(data));
  assertEquals(back.meta, data.meta);
  assertEquals(back.tensors, data.tensors);
});

Deno.test("writeCheckpoint is atomic: replaces the file, leaves no temporaries", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const file = join(path, "sub", "checkpoint.bin");
    assertEquals(await readCheckpoint(file), null);
    await writeCheckpoint(file, { meta: { step: 1 }, tensors: {} });
    await writeCheckpoint(file, {
      meta: { step: 2 },
      tensors: { w: { shape: [1], data: Float32Array.of(3) } },
    });
    const ck = await readCheckpoint(file);
    assertEquals(ck?.meta.step, 2);
    assertEquals(Array.from(ck!.tensors.w.data), [3]);
    const names = [...Deno.readDirSync(join(path, "sub"))].map((e) => e.name);
    assertEquals(names, ["checkpoint.bin"]);
    await atomicWrite(join(path, "x.txt"), new TextEncoder().encode("hi"));
    assertEquals(await Deno.readTextFile(join(path, "x.txt")), "hi");
  } finally {
    await cleanup();
  }
});

Deno.test("corrupt checkpoints raise CheckpointError naming the file", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const bad = join(path, "bad.bin");
    await Deno.writeFile(bad, new TextEncoder().encode("PK\x03\x04 not ours"));
    await assertRejects(() => readCheckpoint(bad), CheckpointError, "bad.bin");
    const good = encodeCheckpoint({
      meta: {},
      tensors: { w: { shape: [4], data: new Float32Array(4) } },
    });
    const trunc = join(path, "trunc.bin");
    await Deno.writeFile(trunc, good.subarray(0, good.length - 8));
    await assertRejects(() => readCheckpoint(trunc), CheckpointError, "past the end");
  } finally {
    await cleanup();
  }
});
