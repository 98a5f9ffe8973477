import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { CheckpointError, DataFormatError } from "../../lib/errors.ts";
import { crc32, inflateRaw, isZip, writeZip, ZipArchive } from "../../lib/data/zip.ts";
import { oracle } from "../_helpers.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const files = (o: Record<string, string>) =>
  Object.entries(o).map(([name, c]) => ({ name, data: enc.encode(c) }));

/** Offset of an entry's payload (after its local header, name and extra field). */
function payloadOffset(bytes: Uint8Array, localHeaderOffset: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return localHeaderOffset + 30 + dv.getUint16(localHeaderOffset + 26, true) +
    dv.getUint16(localHeaderOffset + 28, true);
}

Deno.test("crc32 matches the standard check values", () => {
  assertEquals(crc32(enc.encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  assertEquals(crc32(enc.encode("The quick brown fox jumps over the lazy dog")), 0x414fa339);
});

Deno.test("writeZip → ZipArchive round trip, stored and deflated, with a directory", async () => {
  const body = "1,2,3\n".repeat(1000);
  const input = files({ "d/": "", "d/a.csv": body, "b.txt": "x" });
  const stored = writeZip(input);
  const deflated = writeZip(input, { deflate: true });
  assert(isZip(stored) && isZip(deflated));
  assert(deflated.length < stored.length - 5000, "a repetitive body compresses");
  for (const [bytes, method] of [[stored, 0], [deflated, 8]] as const) {
    const zip = new ZipArchive(bytes, "t.zip");
    assertEquals([...zip.entries.keys()], ["d/", "d/a.csv", "b.txt"]);
    const e = zip.entries.get("d/a.csv")!;
    assertEquals([e.method, e.size, e.crc32], [method, body.length, crc32(enc.encode(body))]);
    assertEquals(zip.entries.get("d/")!.method, 0, "empty entries are stored");
    assertEquals(text(await zip.read("d/a.csv")), body);
    assertEquals(text(await zip.read("b.txt")), "x");
    assertEquals((await zip.read("d/")).length, 0);
  }
  assertEquals([...new ZipArchive(writeZip([])).entries.keys()], []);
  assert(isZip(writeZip([])), "an empty archive starts with PK\\5\\6");
  assert(!isZip(enc.encode("PK\x07\x08")));
});

Deno.test("writeZip alignBytes pads payloads to the boundary (PyTorch layout)", async () => {
  const input = files({ "archive/data.pkl": "p".repeat(37), "archive/data/0": "abc", "x": "" });
  const bytes = writeZip(input, { alignBytes: 64 });
  const zip = new ZipArchive(bytes);
  const dv = new DataView(bytes.buffer);
  for (const [name, e] of zip.entries) {
    assertEquals(payloadOffset(bytes, e.localHeaderOffset) % 64, 0, name);
    const nameLen = dv.getUint16(e.localHeaderOffset + 26, true);
    if (dv.getUint16(e.localHeaderOffset + 28, true) > 0) {
      assertEquals(dv.getUint16(e.localHeaderOffset + 30 + nameLen, true), 0xfb50);
    }
    assertEquals(await zip.read(name), input.find((f) => f.name === name)!.data);
  }
  assertEquals(writeZip(input, { alignBytes: 1 }), writeZip(input));
  assertThrows(() => writeZip(input, { alignBytes: 0 }), RangeError, "alignBytes");
});

// Written by CPython's zipfile: a directory, a deflated CSV, a deflated entry
// with a zip64 extra field in its local header (force_zip64), a stored entry.
const PYTHON_ZIP =
  "UEsDBBQAAAAAAAAAIQAAAAAAAAAAAAAAAAACAAAAZC9QSwMEFAAAAAgApit3XQwy6cMOAAAAWAIAAAcAAABkL2EuY3N2M9Qx0jHmMhwlR0mqkgBQSwMELQAAAAgAAAAhACZMC7f//////////wcAFABiaWcuYmluAQAQAAAEAAAAAAAAGAEAAAAAAABjYGRiZmFlY+fg5OLm4eXjFxAUEhYRFROXkJSSlpGVk1dQVFJWUVVT19DU0tbR1dM3MDQyNjE1M7ewtLK2sbWzd3B0cnZxdXP38PTy9vH18w8IDAoOCQ0Lj4iMio6JjYtPSExKTklNS8/IzMrOyc3LLygsKi4pLSuvqKyqrqmtq29obGpuaW1r7+js6u7p7eufMHHS5ClTp02fMXPW7Dlz581fsHDR4iVLly1fsXLV6jVr163fsHHT5i1bt23fsXPX7j179+0/cPDQ4SNHjx0/cfLU6TNnz52/cPHS5StXr12/cfPW7Tt3791/8PDR4ydPnz1/8fLV6zdv373/8PHT5y9fv33/8fPX7z9///1nGPX/qP9HsP8BUEsDBBQAAAAAAKYrd10L+UNWBgAAAAYAAAAFAAAAcy50eHRzdG9yZWRQSwECFAMUAAAAAAAAACEAAAAAAAAAAAAAAAAAAgAAAAAAAAAAAAAAgAEAAAAAZC9QSwECFAMUAAAACACmK3ddDDLpww4AAABYAgAABwAAAAAAAAAAAAAAgAEgAAAAZC9hLmNzdlBLAQItAy0AAAAIAAAAIQAmTAu3GAEAAAAEAAAHAAAAAAAAAAAAAACAAVMAAABiaWcuYmluUEsBAhQDFAAAAAAApit3XQv5Q1YGAAAABgAAAAUAAAAAAAAAAAAAAIABpAEAAHMudHh0UEsFBgAAAAAEAAQAzQAAAM0BAAAAAA==";

Deno.test("ZipArchive reads an archive written by Python's zipfile", async () => {
  const zip = new ZipArchive(Uint8Array.from(atob(PYTHON_ZIP), (c) => c.charCodeAt(0)), "py.zip");
  assertEquals([...zip.entries.keys()], ["d/", "d/a.csv", "big.bin", "s.txt"]);
  assertEquals(text(await zip.read("d/a.csv")), "1,2,3\n".repeat(100));
  const big = await zip.read("big.bin");
  assertEquals(big.length, 1024);
  assert(big.every((v, i) => v === i % 256));
  assertEquals(zip.entries.get("s.txt")!.method, 0);
  assertEquals(text(await zip.read("s.txt")), "stored");
});

/**
 * Rewrite a one-entry archive into zip64 form: the central directory record
 * saturates sizes and offset and carries them in a 0x0001 extra field, and a
 * zip64 end record + locator precede a saturated end record.
 */
function toZip64(zip: Uint8Array): Uint8Array {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  const cdOff = dv.getUint32(eocd + 16, true);
  const nameLen = dv.getUint16(cdOff + 28, true);
  const csize = dv.getUint32(cdOff + 20, true);
  const size = dv.getUint32(cdOff + 24, true);
  const cd = new Uint8Array(46 + nameLen + 28);
  cd.set(zip.subarray(cdOff, cdOff + 46 + nameLen));
  const c = new DataView(cd.buffer);
  c.setUint32(20, 0xffffffff, true);
  c.setUint32(24, 0xffffffff, true);
  c.setUint32(42, 0xffffffff, true);
  c.setUint16(30, 28, true);
  const x = 46 + nameLen;
  c.setUint16(x, 0x0001, true);
  c.setUint16(x + 2, 24, true);
  c.setBigUint64(x + 4, BigInt(size), true); // order: size, compressed size, offset
  c.setBigUint64(x + 12, BigInt(csize), true);
  c.setBigUint64(x + 20, 0n, true);
  const z64 = new Uint8Array(56 + 20 + 22);
  const z = new DataView(z64.buffer);
  const z64At = cdOff + cd.length;
  z.setUint32(0, 0x06064b50, true);
  z.setBigUint64(4, 44n, true);
  z.setBigUint64(24, 1n, true);
  z.setBigUint64(32, 1n, true);
  z.setBigUint64(40, BigInt(cd.length), true);
  z.setBigUint64(48, BigInt(cdOff), true);
  z.setUint32(56, 0x07064b50, true);
  z.setBigUint64(56 + 8, BigInt(z64At), true);
  z.setUint32(56 + 16, 1, true);
  z.setUint32(76, 0x06054b50, true);
  z.setUint16(76 + 8, 0xffff, true);
  z.setUint16(76 + 10, 0xffff, true);
  z.setUint32(76 + 12, 0xffffffff, true);
  z.setUint32(76 + 16, 0xffffffff, true);
  const out = new Uint8Array(cdOff + cd.length + z64.length);
  out.set(zip.subarray(0, cdOff));
  out.set(cd, cdOff);
  out.set(z64, cdOff + cd.length);
  return out;
}

Deno.test("ZipArchive reads zip64 end records and extra fields", async () => {
  const body = "zip64 ".repeat(300);
  const z = toZip64(writeZip(files({ "w.txt": body }), { deflate: true }));
  const zip = new ZipArchive(z, "z64.zip");
  const e = zip.entries.get("w.txt")!;
  assertEquals([e.size, e.method, e.localHeaderOffset], [body.length, 8, 0]);
  assert(e.compressedSize < body.length);
  assertEquals(text(await zip.read("w.txt")), body);
  const bad = z.slice();
  new DataView(bad.buffer).setUint32(bad.length - 22 - 20, 0, true); // break the locator
  assertThrows(() => new ZipArchive(bad, "z64.zip"), DataFormatError, "zip64 locator missing");
});

Deno.test("ZipArchive faults name the archive and the entry", async () => {
  const zip = writeZip(files({ "a.txt": "hello hello hello" }));
  const flipped = zip.slice();
  flipped[30 + 5 + 2] ^= 1; // a stored payload byte
  await assertRejects(
    () => new ZipArchive(flipped, "t.zip").read("a.txt"),
    DataFormatError,
    't.zip: entry "a.txt": CRC-32 mismatch',
  );
  assertThrows(() => new ZipArchive(zip.subarray(0, 20), "t.zip"), DataFormatError, "not a zip");
  assertThrows(
    () => new ZipArchive(zip.subarray(0, zip.length - 10), "t.zip"),
    DataFormatError,
    "no end-of-central-directory record",
  );
  await assertRejects(() => new ZipArchive(zip).read("b.txt"), DataFormatError, "not found");

  const cdOff = new DataView(zip.buffer).getUint32(zip.length - 22 + 16, true);
  const patched = (offset: number, value: number) => {
    const b = zip.slice();
    new DataView(b.buffer).setUint16(offset, value, true);
    return b;
  };
  await assertRejects(
    () => new ZipArchive(patched(cdOff + 10, 12), "t.zip").read("a.txt"),
    DataFormatError,
    'entry "a.txt": unsupported compression method 12',
  );
  await assertRejects(
    () => new ZipArchive(patched(cdOff + 8, 1), "t.zip").read("a.txt"),
    DataFormatError,
    'entry "a.txt" is encrypted',
  );
  await assertRejects(
    () => new ZipArchive(patched(cdOff + 10, 8), "t.zip").read("a.txt"),
    DataFormatError,
    't.zip: entry "a.txt": corrupt deflate data',
  );
  assertThrows(
    () => new ZipArchive(patched(cdOff, 0), "t.zip"),
    DataFormatError,
    "corrupt central directory at entry 0",
  );
  await assertRejects(
    () => new ZipArchive(flipped, "ckpt.pt", { errorType: CheckpointError }).read("a.txt"),
    CheckpointError,
    'ckpt.pt: entry "a.txt": CRC-32 mismatch',
  );
  await assertRejects(() => inflateRaw(enc.encode("nope"), "x.bin"), DataFormatError, "x.bin");
});

Deno.test("oracle: every entry of a real PyTorch checkpoint reads, CRC-checked and 64-byte aligned", async () => {
  const dir = oracle("harnet10");
  if (!dir) return;
  const bytes = await Deno.readFile(join(dir, "mtl_checkpoint.mdl"));
  const zip = new ZipArchive(bytes, "mtl_checkpoint.mdl");
  assertEquals(zip.entries.size, 141);
  let total = 0;
  for (const [name, e] of zip.entries) {
    assertEquals(payloadOffset(bytes, e.localHeaderOffset) % 64, 0, name);
    total += (await zip.read(name)).length;
  }
  assertEquals(zip.entries.get("mtl_checkpoint/data.pkl")!.size, 17140);
  assert(total > 1e6);
});
