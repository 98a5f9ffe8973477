/**
 * WorkerHandle: replies are matched by id; a worker that never replies
 * fails the request (and every later one) after `replyTimeoutMs`, naming the
 * worker and the message, instead of waiting forever.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { WorkerHandle } from "../../lib/backend/parallel_messages.ts";

/** A stand-in Worker: answers `memory` after `delayMs`, or never (`null`). */
function fakeWorker(delayMs: number | null): Worker {
  const w = {
    onmessage: null as ((ev: MessageEvent) => void) | null,
    onerror: null as ((ev: ErrorEvent) => void) | null,
    postMessage(msg: { id: number }) {
      if (delayMs === null) return;
      setTimeout(() => {
        w.onmessage?.({ data: { id: msg.id, ok: true, numTensors: 7 } } as MessageEvent);
      }, delayMs);
    },
    terminate() {},
  };
  return w as unknown as Worker;
}

Deno.test("a reply within the limit resolves (and leaves no timer behind)", async () => {
  const h = new WorkerHandle(0, fakeWorker(5), 5_000);
  const r = await h.request({ type: "memory" });
  assertEquals(r.numTensors, 7);
  assertEquals((await h.request({ type: "memory" })).numTensors, 7);
});

Deno.test("no reply within replyTimeoutMs: the request and every later one reject, naming worker and message", async () => {
  const h = new WorkerHandle(3, fakeWorker(null), 30);
  await assertRejects(
    () => h.request({ type: "memory" }),
    Error,
    'parallel worker 3: no reply to "memory" within 0.03 s',
  );
  await assertRejects(() => h.request({ type: "memory" }), Error, "no reply");
});

Deno.test("without a limit a slow reply is awaited", async () => {
  const h = new WorkerHandle(0, fakeWorker(60));
  assertEquals((await h.request({ type: "memory" })).numTensors, 7);
});
