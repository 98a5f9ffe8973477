/** Worker of replica_sync_test.ts (not a test file): runs `rounds` exchanges. */
import { ReplicaSync } from "../../lib/backend/replica_sync.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  const { buf, worker, workers, participants, rounds } = e.data;
  try {
    const step = new ReplicaSync(buf, worker, workers).begin(participants, 1);
    const result: number[][] = [];
    for (let r = 0; r < rounds; r++) {
      const got = step.allGather(Float64Array.of(worker, r, worker * 100 + r));
      result.push(got.flatMap((v) => [...v]));
    }
    scope.postMessage({ ok: true, result });
  } catch (err) {
    scope.postMessage({ ok: false, error: (err as Error).message });
  }
};
