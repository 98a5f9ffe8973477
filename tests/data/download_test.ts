import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { DataFormatError, DatasetUnavailableError } from "../../lib/errors.ts";
import { downloadDataset, sha256Hex } from "../../lib/data/download.ts";
import { loadDataset } from "../../lib/data/registry.ts";
import { tempDir } from "../_helpers.ts";
import { writeZip } from "../../lib/data/zip.ts";

Deno.test("downloadDataset: unreachable URL gives a clear offline message", async () => {
  const t = await tempDir();
  try {
    const e = await assertRejects(
      () =>
        downloadDataset("daphnet", t.path, {
          url: "http://127.0.0.1:9/daphnet.zip",
          timeoutMs: 5000,
        }),
      DatasetUnavailableError,
    );
    assertStringIncludes(
      e.message,
      'could not download dataset "daphnet" (offline or unreachable?)',
    );
    assertStringIncludes(e.message, "http://127.0.0.1:9/daphnet.zip");
    assertStringIncludes(e.message, join(t.path, "daphnet-fog"));
    await assertRejects(
      () => downloadDataset("mobifall", t.path),
      DatasetUnavailableError,
      "no direct download",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("downloadDataset: fetch from a local server, verify sha256, unpack nested zips, load", async () => {
  const t = await tempDir();
  const rows = Array.from(
    { length: 200 },
    (_, i) => `${Math.round(i * 15.625)} 1 2 3 4 5 6 7 8 9 1`,
  );
  const inner = writeZip([{
    name: "dataset_fog_release/dataset/S01R01.txt",
    data: new TextEncoder().encode(rows.join("\n") + "\n"),
  }], { deflate: true });
  const outer = writeZip([{ name: "daphnet.zip", data: inner }]);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/d.zip"
        ? new Response(outer as BodyInit)
        : new Response("nope", { status: 404 }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assertRejects(
      () => downloadDataset("daphnet", t.path, { url: `${base}/missing.zip` }),
      DatasetUnavailableError,
      "HTTP 404",
    );
    await assertRejects(
      () => downloadDataset("daphnet", t.path, { url: `${base}/d.zip`, sha256: "0".repeat(64) }),
      DataFormatError,
      "sha256 mismatch",
    );
    const want = await sha256Hex(outer);
    const r = await downloadDataset("daphnet", t.path, { url: `${base}/d.zip`, sha256: want });
    assertEquals(r.sha256, want);
    assertEquals(r.root, join(t.path, "daphnet-fog", "dataset_fog_release", "dataset"));
    const recs = await loadDataset("daphnet", { dir: t.path });
    assertEquals(recs.length, 1);
    assertEquals(recs[0].axes[0].length, 200);
    const again = await downloadDataset("daphnet", t.path, { url: `${base}/d.zip` });
    assertEquals(again.files, []); // already present
  } finally {
    await server.shutdown();
    await t.cleanup();
  }
});
