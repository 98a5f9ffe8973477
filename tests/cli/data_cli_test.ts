// Tests for cli/download.ts and cli/datasets.ts (the `har download` / `har datasets` commands).
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { ConfigError, DatasetUnavailableError } from "../../lib/errors.ts";
import { parseDownloadArgs, run as runDownload, summary as dlSummary } from "../../cli/download.ts";
import { datasetsTable, summary as dsSummary } from "../../cli/datasets.ts";
import { downloadDataset } from "../../lib/data/download.ts";
import { sharedData, tempDir } from "../_helpers.ts";

Deno.test("har download: argument parsing and errors", async () => {
  assert(dlSummary.length > 0 && dsSummary.length > 0);
  assertEquals(parseDownloadArgs(["harth", "--dir", "/d"]).dir, "/d");
  assertEquals(parseDownloadArgs(["harth", "--dir=/e", "--force"]).force, true);
  assertThrows(() => parseDownloadArgs([]), ConfigError, "usage: har download");
  assertThrows(() => parseDownloadArgs(["nope"]), ConfigError, 'unknown dataset "nope"');
  assertThrows(() => parseDownloadArgs(["harth", "--bogus"]), ConfigError, "unknown flag");
  const t = await tempDir();
  try {
    await assertRejects(
      () => runDownload(["harth", "--dir", t.path, "--url", "http://127.0.0.1:9/h.zip"]),
      DatasetUnavailableError,
      "offline or unreachable",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("har datasets: table lists every dataset and which are present", async () => {
  const dir = sharedData();
  if (!dir) return;
  const table = await datasetsTable(dir);
  assertStringIncludes(table, `data folder: ${dir}`);
  const line = (n: string) => table.split("\n").find((l) => l.startsWith(n + " "))!;
  assertStringIncludes(line("wisdm-watch"), "yes (wisdm-2019)");
  assertStringIncludes(line("harth"), " no ");
  assertStringIncludes(line("mobifall"), "manual");
});

Deno.test("har download: progress reports bytes received / Content-Length", async () => {
  const body = new Uint8Array(200_000).fill(7);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response(body, { headers: { "content-length": String(body.length) } }),
  );
  const t = await tempDir();
  try {
    const seen: [number, number | null][] = [];
    const url = `http://127.0.0.1:${server.addr.port}/x.bin`;
    // not an archive: refused after the download, but the download itself reports progress
    await assertRejects(
      () =>
        downloadDataset("harth", t.path, {
          url,
          sha256: null,
          progress: (r, total) => seen.push([r, total]),
        }),
      Error,
    );
    assert(seen.length >= 2, `progress called ${seen.length} times`);
    assertEquals(seen[0], [0, body.length]);
    assertEquals(seen.at(-1), [body.length, body.length]);
    for (let i = 1; i < seen.length; i++) assert(seen[i][0] >= seen[i - 1][0], "monotone");
  } finally {
    await server.shutdown();
    await t.cleanup();
  }
});
