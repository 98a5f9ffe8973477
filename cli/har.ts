/**
 * `har`: the headless command line (`deno task har <command> [flags]`).
 *
 * Each command lives in its own module `cli/<command>.ts` exporting
 * `run(args: string[]): Promise<void>` and a one-line `summary`.
 */
const COMMANDS: Record<string, string> = {
  windows: "./windows.ts",
  download: "./download.ts",
  datasets: "./datasets.ts",
  embed: "./embed.ts",
};

interface CommandModule {
  run(args: string[]): Promise<void>;
  summary?: string;
}

async function load(name: string): Promise<CommandModule> {
  return await import(COMMANDS[name]) as CommandModule;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log("usage: deno task har <command> [flags]\n\ncommands:");
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
    console.error(`har: unknown command '${cmd}' (try: ${Object.keys(COMMANDS).join(", ")})`);
    return 2;
  }
  try {
    await (await load(cmd)).run(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`har ${cmd}: ${err.name}: ${err.message}`);
    if (Deno.env.get("HAR_DEBUG")) console.error(err.stack);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
