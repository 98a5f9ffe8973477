// tfjs-backend-cpu's "Hi, looks like you are running TensorFlow.js in Node.js…" banner never
// prints (lib/backend/select.ts silences it): not in the main thread, not in a worker.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { assert, assertEquals } from "@std/assert";
import { tempDir } from "../_helpers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const lib = (p: string) => pathToFileURL(join(ROOT, "lib", p)).href;

Deno.test("no tfjs 'running TensorFlow.js in Node.js' banner, main thread and workers", async () => {
  const t = await tempDir();
  try {
    const worker = join(t.path, "worker.ts");
    await Deno.writeTextFile(
      worker,
      `import * as tf from "@tensorflow/tfjs";
import { initBackend } from "${lib("backend/select.ts")}";
await initBackend({ prefer: ["cpu"], verbose: false });
tf.tidy(() => tf.add(tf.ones([2]), 1).dataSync());
self.postMessage(tf.getBackend());
self.close();
`,
    );
    const main = join(t.path, "main.ts");
    await Deno.writeTextFile(
      main,
      `import * as tf from "@tensorflow/tfjs";
import { initBackend } from "${lib("mod.ts")}";
await initBackend({ prefer: ["cpu"], verbose: false });
tf.tidy(() => tf.add(tf.ones([2]), 1).dataSync());
await initBackend({ verbose: false });
tf.tidy(() => tf.add(tf.ones([2]), 1).dataSync());
const w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
const got = await new Promise((ok) => (w.onmessage = (e) => ok(e.data)));
console.log("worker backend", got);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", join(ROOT, "deno.json"), main],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assert(text.includes("worker backend cpu"), text);
    assert(!text.includes("Hi, looks like"), text);
  } finally {
    await t.cleanup();
  }
});
