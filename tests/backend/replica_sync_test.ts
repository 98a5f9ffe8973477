/**
 * replica_sync.ts: workers exchange vectors at barriers (two banks, so
 * consecutive exchanges do not overwrite each other), the lengths are
 * checked, and a step aborted from the main thread makes waiting workers
 * throw instead of hanging.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  abortSync,
  activeReplicaSync,
  createSyncBuffer,
  ReplicaSync,
  resetSync,
  SYNC_CAPACITY,
  withReplicaSync,
} from "../../lib/backend/replica_sync.ts";

const CHILD = new URL("./_replica_sync_child.ts", import.meta.url).href;

/** Start a worker running _replica_sync_child.ts and return its reply. */
function runChild(
  msg: Record<string, unknown>,
): Promise<{ ok: boolean; result?: number[][]; error?: string }> {
  const w = new Worker(CHILD, { type: "module" });
  return new Promise((resolve) => {
    w.onmessage = (e) => {
      w.terminate();
      resolve(e.data);
    };
    w.postMessage(msg);
  });
}

Deno.test("ReplicaSync: two workers gather each other's vectors over many exchanges", async () => {
  const buf = createSyncBuffer(2);
  resetSync(buf);
  const rounds = 50;
  const [a, b] = await Promise.all(
    [0, 1].map((worker) => runChild({ buf, worker, workers: 2, participants: [0, 1], rounds })),
  );
  assert(a.ok && b.ok, `${a.error} ${b.error}`);
  // round r: worker k sends [k, r, k * 100 + r]; each sees both, in worker order
  for (const res of [a.result!, b.result!]) {
    assertEquals(res.length, rounds);
    res.forEach((flat, r) => assertEquals(flat, [0, r, r, 1, r, 100 + r]));
  }
});

Deno.test("ReplicaSync: a single participant passes its barrier alone", () => {
  const s = new ReplicaSync(createSyncBuffer(2), 1, 2).begin([1], 1);
  assertEquals(s.allGather(Float64Array.of(3, 4)).map((v) => [...v]), [[3, 4]]);
  assertThrows(
    () => s.allGather(new Float64Array(SYNC_CAPACITY + 1)),
    Error,
    "at most",
  );
  assertThrows(() => new ReplicaSync(createSyncBuffer(2), 0, 2).begin([1], 1), Error, "not among");
});

Deno.test("ReplicaSync: an aborted step makes the waiting worker throw", async () => {
  const buf = createSyncBuffer(2);
  resetSync(buf);
  // worker 0 waits for worker 1, which never comes
  const pending = runChild({ buf, worker: 0, workers: 2, participants: [0, 1], rounds: 1 });
  await new Promise((r) => setTimeout(r, 300));
  abortSync(buf);
  const res = await pending;
  assertEquals(res.ok, false);
  assert(/aborted/.test(res.error ?? ""), res.error);
});

Deno.test("withReplicaSync: active inside, restored after (also on throw)", () => {
  const step = new ReplicaSync(createSyncBuffer(1), 0, 1).begin([0], 1);
  assertEquals(activeReplicaSync(), null);
  assertEquals(withReplicaSync(step, () => activeReplicaSync()), step);
  assertThrows(() =>
    withReplicaSync(step, () => {
      throw new Error("x");
    })
  );
  assertEquals(activeReplicaSync(), null);
});
