/**
 * Web Worker body of {@link DataParallelTrainer}: one backend (`initBackend`,
 * OpenBLAS at `blasThreads` threads) and one {@link ModelReplica}, driven by
 * messages from the main thread (see `ToWorker` / `FromWorker` in
 * parallel_messages.ts). Not meant to be imported.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./select.ts";
import { type FromWorker, type ToWorker, transferList } from "./parallel_messages.ts";
import { ModelReplica } from "./parallel_replica.ts";
import { ReplicaSync, withReplicaSync } from "./replica_sync.ts";

interface WorkerScope {
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;

let replica: ModelReplica | null = null;
/** Views of every worker's gradient and state slot in shared memory (after 'share'). */
let shared: { grads: Float32Array[]; state: Float32Array[]; sync: ReplicaSync } | null = null;

/** CPU time of this thread (user + system, ms) from /proc/thread-self/stat; NaN when unreadable. */
function threadCpuMs(): number {
  try {
    const f = Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

async function handle(msg: ToWorker): Promise<void> {
  const reply = (r: Omit<Extract<FromWorker, { ok: true }>, "id" | "ok">, t: Transferable[] = []) =>
    scope.postMessage({ id: msg.id, ok: true, ...r }, t);
  const need = () => {
    if (!replica) throw new Error(`'${msg.type}' before 'init'`);
    return replica;
  };
  switch (msg.type) {
    case "init": {
      const info = await initBackend({
        prefer: msg.backend,
        threads: msg.blasThreads,
        verbose: false,
      });
      replica = await ModelReplica.create(msg.model, msg.optimizer, msg.worker);
      reply({
        backend: info.summary,
        numTensors: tf.memory().numTensors,
        numParams: replica.numParams,
        numState: replica.numState,
        variableSizes: replica.variableSizes,
      });
      return;
    }
    case "share": {
      const p = need().numParams, s = need().numState;
      const views = (buf: SharedArrayBuffer, n: number) =>
        Array.from({ length: msg.workers }, (_, k) => new Float32Array(buf, 4 * k * n, n));
      shared = {
        grads: views(msg.grads, p),
        state: views(msg.state, s),
        sync: new ReplicaSync(msg.sync, need().worker, msg.workers),
      };
      need().useShared(new Float32Array(msg.params), msg.owned);
      reply({});
      return;
    }
    case "grads": {
      if (!shared) throw new Error("'grads' before 'share'");
      const r = need();
      // the previous step's update is written to the model first (every
      // worker finished it before this message was sent)
      r.syncShared();
      r.setActive(msg.active);
      r.setLearningRate(msg.learningRate);
      const t0 = performance.now(), c0 = threadCpuMs();
      const sync = msg.sync ? shared.sync.begin(msg.sync.participants, msg.sync.weight) : null;
      const out = withReplicaSync(sync, () =>
        r.gradients(msg.inputs, msg.targets, {
          grads: shared!.grads[r.worker],
          state: shared!.state[r.worker],
          seed: msg.seed,
        }));
      const ms = performance.now() - t0, cpuMs = threadCpuMs() - c0;
      reply({ loss: out.loss, metrics: out.metrics, ms, cpuMs });
      return;
    }
    case "apply":
      if (!shared) throw new Error("'apply' before 'share'");
      need().applyAverage(shared.grads, shared.state, msg.weights);
      reply({ numTensors: tf.memory().numTensors });
      return;
    case "getOptimizerState":
      reply({ optimizerState: need().getOptimizerState() });
      return;
    case "setOptimizerState":
      need().setOptimizerState(msg.state);
      reply({});
      return;
    case "getWeights": {
      const weights = need().getWeights();
      reply({ weights }, transferList([...weights.trainable, ...weights.state]));
      return;
    }
    case "setWeights":
      need().setWeights(msg.weights);
      reply({});
      return;
    case "memory":
      reply({ numTensors: tf.memory().numTensors });
      return;
    case "dispose":
      replica?.dispose();
      replica = null;
      reply({ numTensors: tf.memory().numTensors });
      scope.close();
      return;
  }
}

// messages are handled strictly in order (each may be async: init)
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  queue = queue.then(() => handle(msg)).catch((e) => {
    const err = e instanceof Error ? `${e.message}` : String(e);
    scope.postMessage({ id: msg.id, ok: false, error: err });
  });
};
