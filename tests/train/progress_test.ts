import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { currentJupyter, ProgressBar } from "../../lib/train/progress.ts";

function fakeJupyter() {
  const msgs: { type: string; content: Record<string, unknown> }[] = [];
  return {
    msgs,
    broadcast(type: string, content: Record<string, unknown>) {
      msgs.push({ type, content });
      return Promise.resolve();
    },
  };
}

Deno.test("jupyter: one display, then in-place updates with the same display_id, throttled", async () => {
  const j = fakeJupyter();
  let t = 0;
  const bar = new ProgressBar({
    total: 1000,
    label: "fit",
    mode: "jupyter",
    jupyter: j,
    now: () => t,
  });
  for (let i = 1; i <= 1000; i++) {
    t += 2; // 2 ms per step -> 2 s in total
    bar.update(i, { loss: 1 / i });
  }
  await bar.done();
  assertEquals(j.msgs[0].type, "display_data");
  assert(j.msgs.slice(1).every((m) => m.type === "update_display_data"));
  const ids = new Set(
    j.msgs.map((m) => (m.content.transient as { display_id: string }).display_id),
  );
  assertEquals(ids.size, 1);
  // 2 s at <= 4 redraws/s: about 8-9 updates + first + final, never 1000
  assert(j.msgs.length >= 5 && j.msgs.length <= 12, `${j.msgs.length} messages`);
  const last = j.msgs.at(-1)!.content.data as Record<string, string>;
  assertStringIncludes(last["text/plain"], "1000/1000");
  assertStringIncludes(last["text/html"], "<progress");
});

Deno.test("terminal: a single \\r-redrawn line ending in one newline", async () => {
  let out = "";
  let t = 0;
  const bar = new ProgressBar({
    total: 50,
    mode: "tty",
    write: (s) => (out += s),
    now: () => t,
    minIntervalMs: 100,
  });
  for (let i = 1; i <= 50; i++) {
    t += 10;
    bar.update(i);
  }
  await bar.done({ loss: 0.5 });
  assertEquals(out.split("\n").length, 2); // one line + trailing newline
  assert(out.endsWith("\n"));
  const redraws = out.split("\r").length - 1;
  assert(redraws >= 3 && redraws <= 8, `${redraws} redraws`);
  assertMatch(out, /100% \|█+\| 50\/50 .*loss=0\.5/);
});

Deno.test("non-TTY lines mode prints occasional lines only; none prints nothing", async () => {
  let out = "";
  let t = 0;
  const bar = new ProgressBar({
    total: 10_000,
    mode: "lines",
    write: (s) => (out += s),
    now: () => t,
    linesIntervalMs: 1000,
  });
  for (let i = 1; i <= 10_000; i++) {
    t += 0.5; // 5 s total
    bar.update(i);
  }
  await bar.done();
  const lines = out.trim().split("\n");
  assert(lines.length >= 5 && lines.length <= 8, `${lines.length} lines`);
  let none = "";
  const quiet = new ProgressBar({ total: 3, mode: "none", write: (s) => (none += s) });
  quiet.update(3);
  await quiet.done();
  assertEquals(none, "");
});

Deno.test("auto mode outside deno jupyter does not pick jupyter", () => {
  assertEquals(currentJupyter(), null);
  const bar = new ProgressBar({ total: 1, write: () => {} });
  assert(bar.mode === "tty" || bar.mode === "lines");
});
