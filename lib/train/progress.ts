/**
 * One updating progress bar per loop: in a Deno Jupyter notebook a single
 * output displayed once and then updated in place (`display_data` with a
 * `display_id`, then `update_display_data`); in a terminal a single line
 * redrawn with `\r`; when stdout is not a terminal (CI, logs) an occasional
 * plain line. Updates are throttled (default at most 4 per second).
 *
 * @example
 * const bar = new ProgressBar({ total: 1000, label: "train" });
 * for (let i = 1; i <= 1000; i++) bar.update(i, { loss: 0.1 });
 * bar.done();
 */

/** The part of `Deno.jupyter` the bar uses (injectable for tests). */
export interface JupyterLike {
  broadcast(msgType: string, content: Record<string, unknown>): Promise<void>;
}

/** Where the bar draws. */
export type ProgressMode = "auto" | "jupyter" | "tty" | "lines" | "none";

/** Options for {@link ProgressBar}. */
export interface ProgressArgs {
  /** Number of units (steps) in the loop. */
  total: number;
  /** Text before the bar (default `""`). */
  label?: string;
  /**
   * `"auto"` (default): Jupyter inside `deno jupyter`, else `"tty"` when stdout
   * is a terminal, else `"lines"`. `"none"` draws nothing.
   */
  mode?: ProgressMode;
  /** Minimum time between redraws (ms, default 250 = 4 per second). */
  minIntervalMs?: number;
  /** In `"lines"` mode, minimum time between printed lines (ms, default 10000). */
  linesIntervalMs?: number;
  /** Jupyter channel (default `Deno.jupyter`). */
  jupyter?: JupyterLike;
  /** Terminal/text sink (default: synchronous write to stdout). */
  write?: (text: string) => void;
  /** Clock (ms), for tests (default `performance.now`). */
  now?: () => number;
  /** Bar width in characters (default 24). */
  width?: number;
}

/** Postfix values shown after the bar (`loss=0.123`). */
export type ProgressInfo = Record<string, number | string>;

let displayCounter = 0;

/** The running `Deno.jupyter`, or null outside `deno jupyter`. */
export function currentJupyter(): JupyterLike | null {
  try {
    // The getter throws outside the jupyter subcommand.
    const j = (Deno as unknown as { jupyter?: JupyterLike }).jupyter;
    return j && typeof j.broadcast === "function" ? j : null;
  } catch {
    return null;
  }
}

function fmtTime(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.round(sec), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function fmtInfo(info: ProgressInfo): string {
  return Object.entries(info).map(([k, v]) =>
    `${k}=${typeof v === "number" ? (Number.isInteger(v) ? v : v.toPrecision(4)) : v}`
  ).join(" ");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A throttled, in-place progress bar (see module docs). */
export class ProgressBar {
  readonly total: number;
  readonly label: string;
  readonly mode: Exclude<ProgressMode, "auto">;
  /** Number of redraws actually emitted (for tests/diagnostics). */
  renders = 0;
  private readonly minIntervalMs: number;
  private readonly linesIntervalMs: number;
  private readonly jupyter: JupyterLike | null;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly width: number;
  private readonly displayId: string;
  private readonly start: number;
  private lastRender = -Infinity;
  private current = 0;
  private info: ProgressInfo = {};
  private shown = false;
  private finished = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(args: ProgressArgs) {
    this.total = Math.max(0, args.total);
    this.label = args.label ?? "";
    this.minIntervalMs = args.minIntervalMs ?? 250;
    this.linesIntervalMs = args.linesIntervalMs ?? 10_000;
    this.now = args.now ?? (() => performance.now());
    this.width = args.width ?? 24;
    const enc = new TextEncoder();
    this.write = args.write ?? ((t: string) => {
      Deno.stdout.writeSync(enc.encode(t));
    });
    const jup = args.jupyter ?? currentJupyter();
    let mode = args.mode ?? "auto";
    if (mode === "auto") {
      mode = jup ? "jupyter" : Deno.stdout.isTerminal() ? "tty" : "lines";
    }
    if (mode === "jupyter" && !jup) mode = "lines";
    this.mode = mode;
    this.jupyter = jup;
    this.displayId = `har-progress-${Deno.pid}-${++displayCounter}-${Date.now()}`;
    this.start = this.now();
  }

  /** Set progress to `current` units (absolute), with optional postfix values. */
  update(current: number, info?: ProgressInfo): void {
    if (this.finished) return;
    this.current = Math.min(current, this.total);
    if (info) this.info = { ...this.info, ...info };
    const t = this.now();
    const interval = this.mode === "lines" ? this.linesIntervalMs : this.minIntervalMs;
    if (this.shown && t - this.lastRender < interval) return;
    this.render(t, false);
  }

  /** Draw the final state (always) and end the line / display. */
  done(info?: ProgressInfo): Promise<void> {
    if (this.finished) return this.pending;
    if (info) this.info = { ...this.info, ...info };
    this.render(this.now(), true);
    this.finished = true;
    return this.pending;
  }

  /** The text of the bar for the current state. */
  text(t = this.now()): string {
    const frac = this.total > 0 ? this.current / this.total : 1;
    const filled = Math.round(frac * this.width);
    const bar = "█".repeat(filled) + "░".repeat(this.width - filled);
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed > 0 ? this.current / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.current) / rate : Infinity;
    const pct = `${Math.floor(frac * 100)}`.padStart(3);
    const info = fmtInfo(this.info);
    return `${this.label ? this.label + " " : ""}${pct}% |${bar}| ${this.current}/${this.total} ` +
      `[${fmtTime(elapsed)}<${fmtTime(eta)}, ${rate.toFixed(1)} it/s]${info ? " " + info : ""}`;
  }

  private render(t: number, final: boolean): void {
    this.lastRender = t;
    const text = this.text(t);
    this.renders++;
    switch (this.mode) {
      case "none":
        break;
      case "tty":
        this.write(`\r\x1b[K${text}${final ? "\n" : ""}`);
        break;
      case "lines":
        this.write(`${text}\n`);
        break;
      case "jupyter": {
        const frac = this.total > 0 ? this.current / this.total : 1;
        const html = `<div style="font-family:monospace">${
          escapeHtml(this.label)
        } <progress value="${frac}" max="1" style="width:16em"></progress> ${
          escapeHtml(text.slice(text.indexOf("| ") + 2))
        }</div>`;
        const content = {
          data: { "text/plain": text, "text/html": html },
          metadata: {},
          transient: { display_id: this.displayId },
        };
        const type = this.shown ? "update_display_data" : "display_data";
        const j = this.jupyter!;
        this.pending = this.pending.then(() => j.broadcast(type, content)).catch(() => {});
        break;
      }
    }
    this.shown = true;
  }
}
