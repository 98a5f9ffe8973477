import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { readCwa } from "../../lib/data/cwa.ts";
import { readBytes } from "../../lib/data/text.ts";
import { sharedData, tempDir } from "../_helpers.ts";

function medianMagnitude(axes: Float32Array[]): number {
  const n = axes[0].length;
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = Math.hypot(axes[0][i], axes[1][i], axes[2][i]);
  return m.sort()[n >> 1];
}

Deno.test("readCwa: the shared AX3 sample (~2.8 h, 100 Hz, ±8 g, |a| ≈ 1 g)", async () => {
  const dir = sharedData("axivity-cwa-sample");
  if (!dir) return;
  const rec = await readCwa(join(dir, "tiny-sample.cwa.gz"));
  assertEquals(rec.rateHz, 100);
  assertEquals(rec.meta!.rangeG, 8);
  assertEquals(rec.meta!.headerRateHz, 100);
  assertEquals(rec.meta!.blocks, 8515);
  assertEquals(rec.meta!.badChecksumBlocks, 0);
  assertEquals(rec.axes[0].length, 8515 * 120); // packed 3x10-bit: 120 samples per block
  const hours = rec.axes[0].length / rec.rateHz / 3600;
  assertAlmostEquals(hours, 2.84, 0.01);
  const span = rec.timestampsMs!.at(-1)! / 3600e3; // includes one ~4 min gap
  assert(span > hours && span < 3.1, `span ${span} h`);
  assertAlmostEquals(rec.meta!.measuredRateHz as number, 100, 5);
  assertEquals(new Date(rec.startMs!).toISOString().slice(0, 16), "2023-06-08T12:21");
  // first three samples, decoded independently from the packed words
  assertEquals(Array.from(rec.axes[0].subarray(0, 3)), [0.59375, -0.375, -0.390625]);
  assertEquals(Array.from(rec.axes[2].subarray(0, 3)), [0.453125, -0.515625, -0.515625]);
  assertAlmostEquals(medianMagnitude(rec.axes), 1, 0.05);
  for (const a of rec.axes) for (let i = 0; i < a.length; i += 97) assert(Math.abs(a[i]) <= 8);
  let backwards = 0;
  for (let i = 1; i < rec.timestampsMs!.length; i++) {
    if (rec.timestampsMs![i] <= rec.timestampsMs![i - 1]) backwards++;
  }
  assertEquals(backwards, 0);
});

Deno.test("readCwa: corrupt checksum skipped with a warning (or thrown when strict), truncation", async () => {
  const dir = sharedData("axivity-cwa-sample");
  if (!dir) return;
  const all = await readBytes(join(dir, "tiny-sample.cwa.gz"));
  const small = all.slice(0, 1024 + 20 * 512);
  const t = await tempDir();
  try {
    const ok = join(t.path, "ok.cwa");
    await Deno.writeFile(ok, small);
    assertEquals((await readCwa(ok)).axes[0].length, 20 * 120);
    const bad = small.slice();
    bad[1024 + 5 * 512 + 100] ^= 0x10;
    const p = join(t.path, "bad.cwa");
    await Deno.writeFile(p, bad);
    const rec = await readCwa(p);
    assertEquals(rec.meta!.badChecksumBlocks, 1);
    assertEquals(rec.axes[0].length, 19 * 120);
    assert(String(rec.meta!.warning).includes("1 data block"));
    await assertRejects(
      () => readCwa(p, { strict: true }),
      DataFormatError,
      "bad.cwa: data block 5: checksum mismatch",
    );
    const tr = join(t.path, "trunc.cwa");
    await Deno.writeFile(tr, small.subarray(0, small.length - 100));
    await assertRejects(() => readCwa(tr), DataFormatError, "trunc.cwa: truncated: data block 19");
    const nf = join(t.path, "not.cwa");
    await Deno.writeFile(nf, new TextEncoder().encode("hello world"));
    await assertRejects(() => readCwa(nf), DataFormatError, "not a CWA file");
  } finally {
    await t.cleanup();
  }
});

/** Build a tiny synthetic 16-bit-packed (bytesPerAxis 2) AX3 file: 5 blocks of 80 samples at 100 Hz, ±8 g. */
function synthetic16(): Uint8Array {
  const blocks = 5, count = 80;
  const buf = new Uint8Array(1024 + blocks * 512);
  const dv = new DataView(buf.buffer);
  buf.set([0x4d, 0x44]);
  dv.setUint16(2, 1020, true);
  dv.setUint16(5, 1234, true);
  dv.setUint32(7, 99, true);
  dv.setUint16(11, 0xffff, true);
  buf[36] = 0x4a; // 100 Hz, ±8 g
  const packed = (s: number) =>
    // 2024-03-01 10:00:s
    ((24 << 26) | (3 << 22) | (1 << 17) | (10 << 12) | (0 << 6) | s) >>> 0;
  for (let b = 0; b < blocks; b++) {
    const o = 1024 + b * 512;
    buf.set([0x41, 0x58], o);
    dv.setUint16(o + 2, 508, true);
    dv.setUint32(o + 10, b, true);
    // block b starts at 0.8 b s; timestamp = next whole second, offset = samples until then
    const start = 0.8 * b, whole = Math.ceil(start - 1e-9);
    dv.setUint32(o + 14, packed(whole), true);
    dv.setUint16(o + 18, 4 << 13, true); // accel scale 1/2^(8+4) = 1/4096 g
    buf[o + 24] = 0x4a;
    buf[o + 25] = 0x32; // 3 axes, 16-bit
    dv.setInt16(o + 26, Math.round((whole - start) * 100), true);
    dv.setUint16(o + 28, count, true);
    for (let i = 0; i < count; i++) {
      dv.setInt16(o + 30 + 6 * i, 4096, true); // 1 g
      dv.setInt16(o + 32 + 6 * i, -2048 + b, true);
      dv.setInt16(o + 34 + 6 * i, i, true);
    }
    let sum = 0;
    for (let k = 0; k < 510; k += 2) sum += dv.getUint16(o + k, true);
    dv.setUint16(o + 510, (0x10000 - (sum & 0xffff)) & 0xffff, true);
  }
  return buf;
}

Deno.test("readCwa: 16-bit packing, accel scale and block timestamps", async () => {
  const t = await tempDir();
  try {
    const p = join(t.path, "syn.cwa");
    await Deno.writeFile(p, synthetic16());
    const rec = await readCwa(p, { subject: "s1", placement: "wrist" });
    assertEquals(rec.axes[0].length, 400);
    assertEquals(rec.subject, "s1");
    assertEquals(rec.meta!.deviceId, 1234);
    assertEquals(rec.meta!.sessionId, 99);
    assertEquals(rec.axes[0][0], 1);
    assertEquals(rec.axes[1][80], (-2048 + 1) / 4096);
    assertEquals(rec.axes[2][85], 5 / 4096);
    assertEquals(rec.startMs, Date.UTC(2024, 2, 1, 10, 0, 0));
    for (const i of [0, 1, 79, 80, 200, 399]) {
      assertAlmostEquals(rec.timestampsMs![i], 10 * i, 1e-6);
    }
  } finally {
    await t.cleanup();
  }
});
