import { assertEquals, assertRejects } from "@std/assert";
import { DataFormatError } from "../../lib/errors.ts";
import { untar, unzip } from "../../lib/data/archive.ts";
import { writeZip } from "../../lib/data/zip.ts";

const enc = new TextEncoder();
const files = (o: Record<string, string>) =>
  Object.entries(o).map(([name, c]) => ({ name, data: enc.encode(c) }));

Deno.test("unzip: stored and deflated entries, CRC verified", async () => {
  const body = "1,2,3\n".repeat(1000);
  for (const deflate of [true, false]) {
    const zip = writeZip(files({ "d/": "", "d/a.csv": body, "b.txt": "x" }), { deflate });
    const entries = await unzip(zip, "t.zip");
    assertEquals(entries.map((e) => [e.path, e.directory]), [["d", true], ["d/a.csv", false], [
      "b.txt",
      false,
    ]]);
    assertEquals(new TextDecoder().decode(entries[1].data), body);
  }
  const zip = writeZip(files({ "a.txt": "hello hello hello" }));
  zip[30 + 5 + 2] ^= 1; // flip a stored byte
  await assertRejects(() => unzip(zip, "t.zip"), DataFormatError, 'entry "a.txt": CRC-32 mismatch');
  await assertRejects(
    () => unzip(zip.subarray(0, 20), "t.zip"),
    DataFormatError,
    "not a zip archive",
  );
  const evil = writeZip(files({ "ok.txt": "fine", "../../etc/x": "no" }), { deflate: true });
  await assertRejects(() => unzip(evil, "evil.zip"), DataFormatError, "outside the destination");
});

Deno.test("untar: ustar entries", async () => {
  const enc = new TextEncoder();
  const header = (name: string, size: number, type: string) => {
    const h = new Uint8Array(512);
    h.set(enc.encode(name), 0);
    h.set(enc.encode(size.toString(8).padStart(11, "0")), 124);
    h[156] = type.charCodeAt(0);
    h.set(enc.encode("ustar"), 257);
    return h;
  };
  const data = enc.encode("a,b\n1,2\n");
  const tar = new Uint8Array(512 * 5);
  tar.set(header("har/", 0, "5"), 0);
  tar.set(header("har/S006.csv", data.length, "0"), 512);
  tar.set(data, 1024);
  const e = await untar(tar, "t.tar");
  assertEquals(e.map((x) => x.path), ["har", "har/S006.csv"]);
  assertEquals(e[1].data, data);
});
