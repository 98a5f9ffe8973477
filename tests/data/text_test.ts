import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { join } from "node:path";
import { DataFormatError } from "../../lib/errors.ts";
import { readBytes, readText, TextScanner } from "../../lib/data/text.ts";
import { tempDir } from "../_helpers.ts";

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("readText reads plain and .gz files identically", async () => {
  const t = await tempDir();
  try {
    const body = "a,b\n1,2\n";
    await Deno.writeTextFile(join(t.path, "f.txt"), body);
    await Deno.writeFile(join(t.path, "f.txt.gz"), await gzip(new TextEncoder().encode(body)));
    assertEquals(await readText(join(t.path, "f.txt")), body);
    assertEquals(await readText(join(t.path, "f.txt.gz")), body);
  } finally {
    await t.cleanup();
  }
});

Deno.test("readText: empty file and empty gzip are DataFormatErrors naming the file", async () => {
  const t = await tempDir();
  try {
    await Deno.writeFile(join(t.path, "empty.txt"), new Uint8Array(0));
    await Deno.writeFile(join(t.path, "empty.txt.gz"), await gzip(new Uint8Array(0)));
    const e = await assertRejects(() => readText(join(t.path, "empty.txt")), DataFormatError);
    assert(e.message.includes("empty.txt") && e.message.includes("empty file"), e.message);
    await assertRejects(
      () => readText(join(t.path, "empty.txt.gz")),
      DataFormatError,
      "empty file",
    );
    await assertRejects(() => readBytes(join(t.path, "missing.txt")), DataFormatError, "not found");
    await Deno.writeFile(join(t.path, "bad.gz"), new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    await assertRejects(() => readBytes(join(t.path, "bad.gz")), DataFormatError, "gzip");
  } finally {
    await t.cleanup();
  }
});

Deno.test("TextScanner.tryNumber matches parseFloat on many formats", () => {
  const vals = [
    "0",
    "-0.5",
    "7.091625",
    "-0.15831658",
    "1e-3",
    "2.5E+2",
    "+3",
    "90426708196641",
    "0.000123456789",
    "-1.7142484",
    "123456789012345678",
    ".5",
    "5.",
    "1.0e300",
  ]; // deno-fmt-ignore
  let seed = 42;
  for (let i = 0; i < 500; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    vals.push(((seed / 2147483648 - 0.5) * 10 ** ((seed % 9) - 3)).toPrecision(1 + (seed % 12)));
  }
  const sc = new TextScanner(vals.join(","), "t.csv");
  for (const v of vals) {
    const got = sc.tryNumber();
    const want = parseFloat(v);
    assert(
      got !== undefined && Math.abs(got - want) <= Math.abs(want) * 1e-15,
      `${v}: got ${got}, want ${want}`,
    );
    sc.accept(44);
  }
  assert(sc.atEnd());
});

Deno.test("TextScanner: NaN literals pass, garbage is reported with line and field", () => {
  const sc = new TextScanner("1,NaN\n2,abc\n", "x.csv");
  assertStrictEquals(sc.number("a"), 1);
  sc.expect(44, "a");
  assert(Number.isNaN(sc.number("b")));
  assert(sc.endLine());
  assertEquals(sc.number("a"), 2);
  sc.expect(44, "a");
  try {
    sc.number("b");
    throw new Error("expected a throw");
  } catch (e) {
    assert(e instanceof DataFormatError);
    assertEquals(e.message, 'x.csv line 2: b: non-numeric value "abc"');
  }
});
