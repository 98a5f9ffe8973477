import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { DataFormatError, DatasetUnavailableError } from "../../lib/errors.ts";
import { DOWNLOAD_MARKER, downloadDataset, sha256Hex } from "../../lib/data/download.ts";
import { datasetStatus, loadDataset } from "../../lib/data/registry.ts";
import { datasetsTable } from "../../cli/datasets.ts";
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
    // still sensors measuring 1 g (mg): loadDataset checks gravity on still segments
    (_, i) => `${Math.round(i * 15.625)} 1 2 1000 4 5 1000 7 8 1000 1`,
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

/** A daphnet-shaped archive (one recording) or, with `layout = false`, one without the layout. */
function daphnetZip(layout = true): Uint8Array {
  const rows = Array.from({ length: 50 }, (_, i) => `${i * 15} 1000 0 0 1000 0 0 1000 0 0 1`);
  return writeZip([{
    name: layout ? "dataset_fog_release/dataset/S01R01.txt" : "README.txt",
    data: new TextEncoder().encode(rows.join("\n") + "\n"),
  }], { deflate: true });
}

/** Top-level names in `dir` (sorted). */
async function ls(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("a failed download or extraction leaves nothing that har datasets reports as present", async () => {
  const t = await tempDir();
  try {
    const put = async (name: string, bytes: Uint8Array) => {
      const p = join(t.path, name);
      await Deno.writeFile(p, bytes);
      return new URL(`file://${p}`).href;
    };
    const data = join(t.path, "data");
    const line = async () =>
      (await datasetsTable(data)).split("\n").find((l) => l.startsWith("daphnet "))!;
    // 1. wrong layout: unpacked in staging, refused, nothing installed
    await assertRejects(
      async () => downloadDataset("daphnet", data, { url: await put("d.zip", daphnetZip(false)) }),
      DataFormatError,
      "expected layout",
    );
    assertEquals(await ls(data), []);
    assertEquals((await datasetStatus(data)).daphnet, null);
    assertStringIncludes(await line(), " no ");
    // 2. a zip bomb (200 MB of zeros) inside the archive: refused early, nothing installed
    const bomb = writeZip([
      { name: "dataset_fog_release/dataset/S01R01.txt", data: new TextEncoder().encode("0 1 2\n") },
      { name: "dataset_fog_release/dataset/zeros.txt", data: new Uint8Array(200 * 1024 * 1024) },
    ], { deflate: true });
    const t0 = performance.now();
    const e = await assertRejects(
      async () => downloadDataset("daphnet", data, { url: await put("bomb.zip", bomb) }),
      DataFormatError,
    );
    assertStringIncludes(e.message, 'bomb.zip: entry "dataset_fog_release/dataset/zeros.txt"');
    assert(performance.now() - t0 < 5000);
    assertEquals(await ls(data), []);
    // 3. a good download is installed whole, with the completion marker written last
    const good = await put("good.zip", daphnetZip());
    const r = await downloadDataset("daphnet", data, { url: good });
    assertEquals(r.root, join(data, "daphnet-fog", "dataset_fog_release", "dataset"));
    const marker = JSON.parse(await Deno.readTextFile(join(data, "daphnet-fog", DOWNLOAD_MARKER)));
    assertEquals([marker.dataset, marker.sha256, marker.files], ["daphnet", r.sha256, 1]);
    assertEquals(await ls(data), ["daphnet-fog"]);
    // 4. --force with a broken archive keeps the installed copy whole
    await assertRejects(
      async () =>
        downloadDataset("daphnet", data, {
          url: await put("bad.zip", daphnetZip().subarray(0, 60)),
          force: true,
        }),
      DataFormatError,
    );
    assertEquals(await ls(data), ["daphnet-fog"]);
    assertStringIncludes(await line(), "yes (daphnet-fog/dataset_fog_release/dataset)");
    // 5. killed just before the staged folder is renamed into place: nothing installed
    await Deno.remove(join(data, "daphnet-fog"), { recursive: true });
    const ready = join(t.path, "ready");
    const script = join(t.path, "child.ts");
    await Deno.writeTextFile(
      script,
      `import { downloadDataset } from ${
        JSON.stringify(new URL("../../lib/data/download.ts", import.meta.url).href)
      };
      await downloadDataset("daphnet", ${JSON.stringify(data)}, { url: ${JSON.stringify(good)},
        beforeInstall: async () => {
          await Deno.writeTextFile(${JSON.stringify(ready)}, "1");
          await new Promise((r) => setTimeout(r, 600_000));
        } });`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", script],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const t1 = performance.now();
    while (!(await Deno.stat(ready).then(() => true, () => false))) {
      if (performance.now() - t1 > 60_000) throw new Error("child never reached the hook");
      await new Promise((res) => setTimeout(res, 20));
    }
    child.kill("SIGKILL");
    assertEquals((await child.status).signal, "SIGKILL");
    assertEquals((await datasetStatus(data)).daphnet, null);
    assert((await ls(data)).some((n) => n.startsWith("daphnet-fog.tmp-")));
    // the next download sweeps the killed one's staging folder
    await downloadDataset("daphnet", data, { url: good });
    assertEquals(await ls(data), ["daphnet-fog"]);
  } finally {
    await t.cleanup();
  }
});
