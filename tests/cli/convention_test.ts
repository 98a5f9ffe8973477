// One CLI convention for every entry point (lib/cli.ts): --help exits 0 with the usage on
// stdout; usage errors exit 2 with exactly one line on stderr naming the flag; user errors
// exit 1 with one line and no stack trace (--debug adds it); numeric flags are validated.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "@std/assert";
import {
  checkWindowFlags,
  cliMain,
  describeError,
  dropDebug,
  intFlag,
  numberFlag,
  parseFlags,
  progressReporter,
  UsageError,
} from "../../lib/cli.ts";
import { ConfigError, DataFormatError, DatasetUnavailableError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Run an entry point (path relative to the project) with `args`. */
async function spawn(
  entry: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(ROOT, "deno.json"), join(ROOT, entry), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", HAR_DEBUG: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
/** stderr lines, without Deno's own download/initialisation chatter. */
const lines = (s: string) =>
  s.split("\n").filter((l) => l.trim() !== "" && !/^(Download|Initialize|Warning) /.test(l));

/** Every entry point: the command line, a bad numeric/choice value and the flag it names. */
const ENTRY_POINTS: { entry: string; pre: string[]; bad: string[]; flag: string }[] = [
  {
    entry: "cli/har.ts",
    pre: ["windows"],
    bad: ["--dataset", "hmp-adl", "--out", "o", "--rate", "Infinity"],
    flag: "--rate",
  },
  {
    entry: "cli/har.ts",
    pre: ["embed"],
    bad: ["--weights", "w", "--input", "i", "--out", "o", "--batch-size", "1.5"],
    flag: "--batch-size",
  },
  {
    entry: "cli/har.ts",
    pre: ["spectrogram"],
    bad: ["--dataset", "daphnet", "--out", "o", "--window-frames", "1.5"],
    flag: "--window-frames",
  },
  { entry: "cli/har.ts", pre: ["download"], bad: ["--dir"], flag: "--dir" },
  { entry: "cli/har.ts", pre: ["datasets"], bad: ["--dir"], flag: "--dir" },
  {
    entry: "cli/windows.ts",
    pre: [],
    bad: ["--dataset", "d", "--out", "o", "--window", "0.00001"],
    flag: "--window",
  },
  { entry: "tools/quickstart.ts", pre: [], bad: ["--scale", "huge"], flag: "--scale" },
  { entry: "tools/baseline.ts", pre: [], bad: ["--trees", "0"], flag: "--trees" },
  { entry: "tools/yuan.ts", pre: [], bad: ["--seed", "1.5"], flag: "--seed" },
  { entry: "tools/selfpab.ts", pre: [], bad: ["--scale", "huge"], flag: "--scale" },
  { entry: "tools/multiresnet.ts", pre: [], bad: ["--seeds", "1.5"], flag: "--seeds" },
  { entry: "tools/dontfreeze.ts", pre: [], bad: ["--targets", "nope"], flag: "--targets" },
  { entry: "tools/run_notebooks.ts", pre: [], bad: ["--timeout", "Infinity"], flag: "--timeout" },
];

for (const { entry, pre, bad, flag } of ENTRY_POINTS) {
  const name = [entry, ...pre].join(" ");
  Deno.test(`${name}: --help, unknown flag, bad value`, async () => {
    const help = await spawn(entry, [...pre, "--help"]);
    assertEquals(help.code, 0, `--help: ${help.stderr}`);
    assertStringIncludes(help.stdout, "usage:");
    assert(!STACK.test(help.stdout + help.stderr), "no stack trace on --help");
    const unknown = await spawn(entry, [...pre, "--no-such-flag"]);
    assertEquals(unknown.code, 2, unknown.stderr);
    assertEquals(lines(unknown.stderr).length, 1, unknown.stderr);
    assertStringIncludes(unknown.stderr, "--no-such-flag");
    const badValue = await spawn(entry, [...pre, ...bad]);
    assertEquals(badValue.code, 2, badValue.stderr);
    assertEquals(lines(badValue.stderr).length, 1, badValue.stderr);
    assertStringIncludes(badValue.stderr, flag);
  });
}

Deno.test("har --help lists the commands; an unknown command is one line, exit 2", async () => {
  const help = await spawn("cli/har.ts", ["--help"]);
  assertEquals(help.code, 0);
  for (const c of ["windows", "spectrogram", "embed", "download", "datasets"]) {
    assertStringIncludes(help.stdout, c);
  }
  const bad = await spawn("cli/har.ts", ["frobnicate"]);
  assertEquals(bad.code, 2);
  assertEquals(lines(bad.stderr).length, 1, bad.stderr);
});

Deno.test("user errors: one line, exit 1, no stack; --debug adds the stack", async () => {
  const t = await tempDir();
  try {
    const missing = join(t.path, "no-such-folder");
    const cases: [string, string[]][] = [
      ["cli/har.ts", [
        "windows",
        "--dataset",
        "hmp-adl",
        "--out",
        join(t.path, "o"),
        "--data-dir",
        missing,
      ]],
      ["cli/har.ts", [
        "embed",
        "--weights",
        join(missing, "w.mdl"),
        "--input",
        "x.npy",
        "--out",
        join(t.path, "e"),
      ]],
      ["tools/baseline.ts", ["--only", "hmp-adl", "--trees", "1", "--out", join(t.path, "b")]],
    ];
    for (const [entry, args] of cases) {
      const env = { HAR_DATA_DIR: missing };
      const r = await spawn(entry, args, env);
      assertEquals(r.code, 1, `${entry} ${args.join(" ")}: ${r.stderr}`);
      assertEquals(lines(r.stderr).length, 1, r.stderr);
      assert(!STACK.test(r.stderr), `no stack trace: ${r.stderr}`);
      assertStringIncludes(r.stderr, "no-such-folder");
      const dbg = await spawn(entry, [...args, "--debug"], env);
      assertEquals(dbg.code, 1, dbg.stderr);
      assertMatch(dbg.stderr, STACK);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("numberFlag/intFlag: finite decimals in range, one-line errors naming the flag", () => {
  assertEquals(numberFlag("rate", "30", { min: 0, minExclusive: true }), 30);
  assertEquals(numberFlag("rate", undefined, { default: 30 }), 30);
  assertEquals(numberFlag("overlap", "0", { min: 0 }), 0);
  assertEquals(intFlag("trees", "1e3", { min: 1 }), 1000);
  for (const raw of ["Infinity", "-Infinity", "NaN", "", " ", "0x10", "1e999", "3abc", "--5"]) {
    assertThrows(() => numberFlag("rate", raw), UsageError, `--rate: expected a finite number`);
  }
  assertThrows(() => numberFlag("rate", "0", { min: 0, minExclusive: true }), UsageError, "> 0");
  assertThrows(() => numberFlag("rate", "-1", { min: 0 }), UsageError, ">= 0");
  assertThrows(() => numberFlag("p", "1", { max: 1, maxExclusive: true }), UsageError, "< 1");
  assertThrows(() => intFlag("seed", "1.5"), UsageError, "--seed: expected an integer");
  assertThrows(
    () => intFlag("trees", "0", { min: 1 }),
    UsageError,
    "--trees: expected an integer >= 1",
  );
  assertThrows(() => intFlag("n", "9007199254740993"), UsageError, "integer");
  assertThrows(() => numberFlag("window", undefined), UsageError, "--window is required");
  for (const e of [() => numberFlag("rate", "x"), () => intFlag("seed", "x")]) {
    try {
      e();
    } catch (err) {
      assert(!(err as Error).message.includes("\n"), "one line");
    }
  }
});

Deno.test("checkWindowFlags: windows of at least 2 samples that advance by at least one", () => {
  checkWindowFlags(10, 5, 30);
  checkWindowFlags(2 / 30, 0, 30);
  assertThrows(
    () => checkWindowFlags(0.00001, 0, 30),
    UsageError,
    "--window: 0.00001 s at 30 Hz holds 0",
  );
  assertThrows(() => checkWindowFlags(10, 0, 1e-9), UsageError, "--window");
  assertThrows(() => checkWindowFlags(10, 10, 30), UsageError, "--overlap (10 s) must be smaller");
  assertThrows(() => checkWindowFlags(10, 9.99999, 30), UsageError, "--overlap: windows of 10 s");
});

Deno.test("parseFlags: strict, one-line messages, --help/--debug always accepted", () => {
  const opts = { dir: { type: "string" as const }, json: { type: "boolean" as const } };
  assertEquals(parseFlags("p", ["--dir", "d", "--json", "--debug"], opts).values, {
    dir: "d",
    json: true,
  });
  assertThrows(() => parseFlags("p", ["--bogus"], opts), UsageError, "unknown flag --bogus");
  assertThrows(() => parseFlags("p", ["--dir"], opts), UsageError, "--dir needs a value");
  assertThrows(() => parseFlags("p", ["--json=1"], opts), UsageError, "--json takes no value");
  assertThrows(() => parseFlags("p", ["x"], opts), UsageError, "unexpected argument 'x'");
  assertEquals(parseFlags("p", ["x"], opts, true).positionals, ["x"]);
  assertEquals(dropDebug(["a", "--debug", "--", "--debug"]), ["a", "--", "--debug"]);
});

Deno.test("describeError: usage 2, user errors 1 without stack, bugs name --debug", () => {
  assertEquals(describeError("p", new UsageError("--x: bad")), {
    code: 2,
    lines: ["p: --x: bad (see p --help)"],
  });
  assertEquals(describeError("p", new ConfigError("no windows")).lines, ["p: no windows"]);
  assertEquals(describeError("p", new DataFormatError("f.txt", "bad", 3)), {
    code: 1,
    lines: ["p: DataFormatError: f.txt line 3: bad"],
  });
  assertEquals(describeError("p", new DatasetUnavailableError("gone")).code, 1);
  assertEquals(describeError("p", new Deno.errors.NotFound("x")).lines.length, 1);
  const bug = describeError("p", new TypeError("x is undefined"));
  assertEquals(bug.code, 1);
  assertEquals(bug.lines, ["p: TypeError: x is undefined (run with --debug for the stack)"]);
  const dbg = describeError("p", new TypeError("x"), { debug: true });
  assertEquals(dbg.lines.length, 2);
  assertMatch(dbg.lines[1], /TypeError: x\n\s+at /);
});

Deno.test("cliMain: parse-time ConfigError is a usage error, run-time one a user error", async () => {
  const errs: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errs.push(m);
  try {
    const cmd = (fail: "parse" | "run") => ({
      prog: "p",
      usage: "usage: p",
      parse: (a: string[]) => {
        if (fail === "parse") throw new ConfigError("bad flag");
        return a;
      },
      run: () => {
        throw new ConfigError("bad data");
      },
    });
    assertEquals(await cliMain(cmd("parse"), []), 2);
    assertEquals(await cliMain(cmd("run"), []), 1);
    assertEquals(errs, ["p: bad flag (see p --help)", "p: bad data"]);
  } finally {
    console.error = orig;
  }
});

Deno.test("progressReporter: bytes / total with percent, throttled to 10 % steps off a terminal", () => {
  const out: string[] = [];
  const p = progressReporter("hmp-adl", { unit: "bytes", write: (s) => out.push(s) });
  for (let i = 0; i <= 100; i++) p.update(i * 100_000, 10_000_000);
  p.done();
  assert(out.length <= 12, `throttled: ${out.length} lines`);
  assertStringIncludes(out[0], "hmp-adl 0 kB / 10.0 MB (0 %)");
  assertStringIncludes(out.at(-1)!, "10.0 MB / 10.0 MB (100 %)");
});

Deno.test("parseFlags: the UsageError names the program", () => {
  try {
    parseFlags("har datasets", ["--bogus"], {});
    throw new Error("no error");
  } catch (e) {
    assert(e instanceof UsageError);
    assertEquals(e.prog, "har datasets");
  }
});
