/** Backend selection and clean fallbacks (no FFI permission, no BLAS library). */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { initBackend } from "../../lib/backend/select.ts";
import { loadOpenBlas } from "../../lib/backend/blas.ts";

interface ChildResult {
  path: string;
  tfBackend: string;
  skipped: { path: string; reason: string }[];
  losses: number[];
}

async function child(perms: string[]): Promise<ChildResult> {
  const script = new URL("./_fallback_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...perms, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `child failed: ${stderr}`);
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  assert(line, `child printed no JSON: ${stdout}\n${stderr}`);
  return JSON.parse(line);
}

const trained = (r: ChildResult) =>
  r.losses.length === 5 && r.losses.every(Number.isFinite) && r.losses[4] < r.losses[0];

Deno.test("without --allow-ffi: selects wasm and still trains convolutions", async () => {
  const r = await child(["--allow-read", "--allow-env"]);
  assertEquals(r.path, "wasm");
  assertEquals(r.tfBackend, "wasm");
  assertStringIncludes(r.skipped[0].reason, "FFI permission");
  assert(trained(r), `losses ${r.losses}`);
});

Deno.test("with FFI but no BLAS library: falls back to wasm with the reason", () => {
  const res = loadOpenBlas({ libraries: ["libdoes-not-exist-har.so"] });
  assertEquals(res.blas, null);
  assertMatch(res.reason ?? "", /libdoes-not-exist-har\.so/);
});

Deno.test("with all permissions: blas when libopenblas is installed, else wasm", async () => {
  const r = await child(["-A"]);
  const hasBlas = loadOpenBlas().blas !== null;
  assertEquals(r.path, hasBlas ? "blas" : "wasm");
  assert(trained(r), `losses ${r.losses}`);
});

Deno.test("initBackend honours prefer order and reports what it chose", async () => {
  const cpu = await initBackend({ prefer: ["cpu"], verbose: false });
  assertEquals(cpu.path, "cpu");
  assertEquals(tf.getBackend(), "cpu");
  const w = await initBackend({ prefer: ["tensorflow", "wasm"], verbose: false });
  // tfjs-node is not in this project's import map: skipped with a reason
  assertEquals(w.path, "wasm");
  assertEquals(w.skipped[0].path, "tensorflow");
  assert(w.kernels.includes("Conv2DBackpropFilter"), "wasm path registers Conv2DBackpropFilter");
  assertEquals(tf.getBackend(), "wasm");
  await initBackend({ prefer: ["cpu"], verbose: false });
});
