/** `.cwa` data-block header fields are validated: impossible rate codes and times are named. */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { blockFieldFault, readCwa } from "../../lib/data/cwa.ts";
import { DataFormatError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";

/** 2024-03-01 10:00:s as a CWA packed time. */
const packed = (s: number, month = 3) =>
  ((24 << 26) | (month << 22) | (1 << 17) | (10 << 12) | s) >>> 0;

/** A 3-block 16-bit AX3 file at 100 Hz; `edit(dv, o, b)` may change block b before its checksum. */
function cwa(edit: (dv: DataView, o: number, b: number) => void = () => {}): Uint8Array {
  const blocks = 3, count = 80;
  const buf = new Uint8Array(1024 + blocks * 512);
  const dv = new DataView(buf.buffer);
  buf.set([0x4d, 0x44]);
  dv.setUint16(2, 1020, true);
  buf[36] = 0x4a;
  for (let b = 0; b < blocks; b++) {
    const o = 1024 + b * 512;
    buf.set([0x41, 0x58], o);
    dv.setUint16(o + 2, 508, true);
    dv.setUint32(o + 14, packed(b), true);
    dv.setUint16(o + 18, 4 << 13, true);
    buf[o + 24] = 0x4a;
    buf[o + 25] = 0x32;
    dv.setUint16(o + 28, count, true);
    for (let i = 0; i < count; i++) dv.setInt16(o + 34 + 6 * i, 4096, true);
    edit(dv, o, b);
    let sum = 0;
    for (let k = 0; k < 510; k += 2) sum += dv.getUint16(o + k, true);
    dv.setUint16(o + 510, (0x10000 - (sum & 0xffff)) & 0xffff, true);
  }
  return buf;
}

Deno.test("blockFieldFault: sub-6.25 Hz rate codes and impossible times", () => {
  assertEquals(blockFieldFault(0x4a, packed(5)), null);
  assertStringIncludes(blockFieldFault(0x40, packed(5))!, "rate code 0x40 gives 0.09765625 Hz");
  assertStringIncludes(blockFieldFault(0x4a, packed(5, 13))!, "impossible packed time");
  assertStringIncludes(blockFieldFault(0x4a, packed(61))!, "impossible packed time");
});

Deno.test("readCwa: a checksum-valid block with a bogus rate code or time is skipped (strict: named)", async () => {
  const t = await tempDir();
  try {
    const ok = join(t.path, "ok.cwa");
    await Deno.writeFile(ok, cwa());
    assertEquals((await readCwa(ok)).axes[0].length, 240);
    for (
      const [edit, fault] of [
        [(dv: DataView, o: number) => dv.setUint8(o + 24, 0x41), "rate code 0x41"],
        [
          (dv: DataView, o: number) => dv.setUint32(o + 14, packed(1, 0), true),
          "impossible packed time",
        ],
      ] as const
    ) {
      const p = join(t.path, "bad.cwa");
      await Deno.writeFile(p, cwa((dv, o, b) => b === 1 && edit(dv, o)));
      const rec = await readCwa(p);
      assertEquals(rec.axes[0].length, 160);
      assertEquals(rec.meta!.badChecksumBlocks, 1);
      assertStringIncludes(String(rec.meta!.warning), "rate code or time were skipped");
      await assertRejects(
        () => readCwa(p, { strict: true }),
        DataFormatError,
        `bad.cwa: data block 1: ${fault}`,
      );
    }
  } finally {
    await t.cleanup();
  }
});
