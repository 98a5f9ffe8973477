/**
 * The class behind "`har windows` above ~120 k windows crashes": an array
 * spread into call arguments (`Math.max(...labels)`, `out.push(...rows)`)
 * overflows V8's call stack once the array is large. lib/ and cli/ must use
 * loops (or `reduce`) instead; this scan fails on any such spread.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
/** A spread as a direct argument of Math.max/min, push/unshift or String.fromCharCode/CodePoint. */
const SPREAD_CALL =
  /(Math\.(?:max|min)|\.push|\.unshift|String\.fromCharCode|String\.fromCodePoint)\((?:[^(){}]*,)?\s*\.\.\./g;

/** Source text with comments and string literals blanked (so doc examples do not count). */
function code(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/\/\/[^\n]*/g, "")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("the pattern catches what overflowed: a spread of 200 000 values", () => {
  const labels = new Array(200_000).fill(1);
  assertThrows(() => Math.max(...labels), RangeError);
  for (const bad of ["Math.max(1, ...a)", "out.push(...rows)", "Math.min(\n  ...xs)"]) {
    assertEquals(code(bad).match(SPREAD_CALL)?.length, 1, bad);
  }
  for (const fine of ["f({ ...o })", "[...a, ...b]", "// Math.max(...a)", "push([...a])"]) {
    assertEquals(code(fine).match(SPREAD_CALL), null, fine);
  }
});

Deno.test("no argument spread of arrays in lib/ and cli/ (loops instead)", async () => {
  const hits: string[] = [];
  for (const top of ["lib", "cli"]) {
    for await (const f of tsFiles(join(ROOT, top))) {
      const src = code(await Deno.readTextFile(f));
      for (const m of src.matchAll(SPREAD_CALL)) {
        const line = src.slice(0, m.index).split("\n").length;
        hits.push(`${relative(ROOT, f)}:${line}: ${m[0]}`);
      }
    }
  }
  assertEquals(hits, []);
});
