/**
 * `har`: the headless command line (`deno task har <command> [flags]`).
 *
 * Each command lives in its own module `cli/<command>.ts` exporting a
 * `command` (a {@link CliCommand}: usage, parse, run), `run(args)` (throws
 * on errors; for tests and scripts) and a one-line `summary`. Every command
 * follows lib/cli.ts: `--help` exits 0, usage errors print one line and
 * exit 2, user errors one line and exit 1, `--debug` adds the stack.
 *
 * @example
 * deno task har windows --help
 * deno task har datasets --json
 */
import type { CliCommand } from "../lib/cli.ts";
import { cliMain } from "../lib/cli.ts";

const COMMANDS: Record<string, string> = {
  windows: "./windows.ts",
  spectrogram: "./spectrogram.ts",
  download: "./download.ts",
  datasets: "./datasets.ts",
  embed: "./embed.ts",
};

interface CommandModule {
  command: CliCommand<unknown>;
  summary?: string;
}

async function load(name: string): Promise<CommandModule> {
  return await import(COMMANDS[name]) as CommandModule;
}

const USAGE_HEAD = "usage: deno task har <command> [flags]   (har <command> --help for its flags)";

/** Run `har` with `argv` (command first); returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log(`${USAGE_HEAD}\n\ncommands:`);
    for (const name of Object.keys(COMMANDS)) {
      let summary = "";
      try {
        summary = (await load(name)).summary ?? "";
      } catch { /* command not available in this build */ }
      console.log(`  ${name.padEnd(10)} ${summary}`);
    }
    return 0;
  }
  if (!(cmd in COMMANDS)) {
    console.error(
      `har: unknown command '${cmd}' (commands: ${
        Object.keys(COMMANDS).join(", ")
      }; see har --help)`,
    );
    return 2;
  }
  return await cliMain((await load(cmd)).command, rest);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
