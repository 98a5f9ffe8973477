/**
 * A leaf module (tfjs and its cpu backend only, no backend selection side
 * effects) that silences tfjs-backend-cpu's Node.js banner when imported:
 * import it from any module that may run tfjs on the cpu backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/**
 * Silence tfjs-backend-cpu's banner "Hi, looks like you are running
 * TensorFlow.js in Node.js. To speed things up dramatically, install our node
 * backend…". It is printed on the first tensor write of every cpu backend
 * when tfjs sees Node (`env().get("IS_NODE")`: Deno defines `process`), and
 * gated only by the backend's instance field `firstUse`; {@link initBackend}
 * already tries tfjs-node first, so the advice is noise in every run, test
 * and worker. An accessor on the prototype that always reads `false` makes
 * every cpu backend (those created later, in this thread; workers import this
 * module too) start as already used. tfjs's other warnings are kept (unlike
 * `tf.enableProdMode()`, which mutes all of them). Idempotent; runs on import.
 *
 * @example
 * silenceTfjsNodeBanner(); // then tf.setBackend("cpu"); tf.ones([2]) prints nothing
 */
export function silenceTfjsNodeBanner(): void {
  const proto = MathBackendCPU.prototype as unknown as Record<string, unknown>;
  Object.defineProperty(proto, "firstUse", {
    configurable: true,
    get: () => false,
    set: () => {},
  });
  // a cpu backend created before this module ran holds its own field
  const made = (tf.engine().registry as Record<string, unknown>)["cpu"] as
    | { firstUse?: boolean }
    | undefined;
  if (made && Object.hasOwn(made, "firstUse")) made.firstUse = false;
}

silenceTfjsNodeBanner();
