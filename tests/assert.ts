/**
 * Minimal assertion module mapped as `@std/assert` in deno.json.
 *
 * JSR is not reachable everywhere this project is developed, so tests import
 * `@std/assert` and this file re-exports `node:assert/strict` under the
 * `@std/assert` names. With JSR available, point the import map entry at
 * `jsr:@std/assert@1` instead: nothing else changes.
 */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}
export function assertStrictEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.strictEqual(actual, expected, msg);
}
/** |actual - expected| <= tolerance (absolute). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  const d = Math.abs(actual - expected);
  if (!(d <= tolerance) && !(Number.isNaN(actual) && Number.isNaN(expected))) {
    throw new nodeAssert.AssertionError({
      message: msg ?? `expected ${actual} to be within ${tolerance} of ${expected} (diff ${d})`,
      actual,
      expected,
    });
  }
}
export function assertGreater(a: number, b: number, msg?: string): void {
  nodeAssert.ok(a > b, msg ?? `expected ${a} > ${b}`);
}
export function assertLess(a: number, b: number, msg?: string): void {
  nodeAssert.ok(a < b, msg ?? `expected ${a} < ${b}`);
}
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  nodeAssert.ok(actual.includes(expected), msg ?? `expected "${actual}" to include "${expected}"`);
}
// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;
/** Assert that `fn` throws (an instance of `cls`, with a message including `includes`). */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected function to throw" });
}
/** Async variant of {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected promise to reject" });
}
function checkError(e: unknown, cls?: ErrorClass, includes?: string): void {
  if (cls && !(e instanceof cls)) {
    throw new nodeAssert.AssertionError({
      message: `expected error of type ${cls.name}, got ${(e as Error)?.constructor?.name}: ${
        (e as Error)?.message
      }`,
    });
  }
  if (includes && !String((e as Error)?.message).includes(includes)) {
    throw new nodeAssert.AssertionError({
      message: `expected error message to include "${includes}", got "${(e as Error)?.message}"`,
    });
  }
}
