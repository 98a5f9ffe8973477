/**
 * lib/backend/parallel.ts is the barrel of the data-parallel modules: every
 * runtime export of the public API is there and is the parts' own object.
 * The behaviour is tested per part: parallel_optimizer_test.ts,
 * parallel_replica_test.ts, parallel_trainer_test.ts.
 */
import { assertEquals, assertStrictEquals } from "@std/assert";
import * as barrel from "../../lib/backend/parallel.ts";
import * as optimizer from "../../lib/backend/parallel_optimizer.ts";
import * as replica from "../../lib/backend/parallel_replica.ts";
import * as messages from "../../lib/backend/parallel_messages.ts";
import * as trainer from "../../lib/backend/parallel_trainer.ts";

const PUBLIC: [string, Record<string, unknown>][] = [
  ["DataParallelTrainer", trainer],
  ["FlatOptimizer", optimizer],
  ["importFactory", replica],
  ["ModelReplica", replica],
  ["OPTIMIZER_KINDS", optimizer],
  ["optimizerSlotNames", optimizer],
  ["partitionVariables", trainer],
  ["resolveOptimizerSpec", optimizer],
  ["shardSizes", trainer],
  ["TorchUpdate", optimizer],
  ["transferList", messages],
  ["weightedMetrics", trainer],
];

Deno.test("parallel.ts re-exports the public API of its parts", () => {
  for (const [name, part] of PUBLIC) {
    const value = (barrel as Record<string, unknown>)[name];
    assertEquals(typeof value !== "undefined", true, `parallel.ts does not export ${name}`);
    assertStrictEquals(value, part[name], `parallel.ts ${name} is not the part's export`);
  }
  assertEquals(Object.keys(barrel).sort(), PUBLIC.map(([n]) => n).sort());
});
