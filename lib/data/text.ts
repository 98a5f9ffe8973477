/**
 * Low-level file access shared by every reader: plain or gzip-compressed
 * bytes/text, and a fast hand-written scanner for delimited numeric text.
 *
 * Readers parse with {@link TextScanner} (one pass over the string, no
 * `split`/regex per line) and fill `Float32Array`s directly, so the 46 WISDM
 * watch files (~3 M rows) read in a few seconds.
 *
 * @example
 * const text = await readText("datasets/wisdm-2019/raw/watch/accel/data_1600_accel_watch.txt.gz");
 * const sc: TextScanner = new TextScanner(text, "data_1600_accel_watch.txt.gz");
 * const pid = sc.number("subject"); sc.expect(44, "subject");
 */
import { basename } from "node:path";
import { DataFormatError } from "../errors.ts";
import { type DecompressLimits, inflate } from "./decompress.ts";

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompress a whole gzip buffer with the platform `DecompressionStream`,
 * within `limits` enforced while streaming (./decompress.ts: by default at
 * most 2 GiB and, past 64 MiB, at most 200× the compressed size), so a gzip
 * bomb is refused after a few tens of megabytes with a `DataFormatError`
 * naming `file`.
 *
 * @example
 * const csv = await gunzip(await Deno.readFile("a.csv.gz"), "a.csv.gz");
 */
export function gunzip(
  bytes: Uint8Array,
  file = "<buffer>",
  limits: DecompressLimits = {},
): Promise<Uint8Array> {
  return inflate(bytes, "gzip", file, limits);
}

/**
 * Read a file's bytes, transparently decompressing gzip (`.gz` name or gzip
 * magic). An empty file (before or after decompression) is a
 * `DataFormatError("<file>: empty file")`.
 */
export async function readBytes(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataFormatError(path, "file not found");
    }
    throw e;
  }
  if (bytes.length === 0) throw new DataFormatError(path, "empty file");
  if (path.endsWith(".gz") || isGzip(bytes)) bytes = await gunzip(bytes, path);
  if (bytes.length === 0) throw new DataFormatError(path, "empty file");
  return bytes;
}

/**
 * Read a whole text file (UTF-8), plain or `.gz`.
 *
 * @example
 * const key = await readText("datasets/wisdm-2019/activity_key.txt");
 */
export async function readText(path: string): Promise<string> {
  const text = new TextDecoder().decode(await readBytes(path));
  if (text.trim().length === 0) throw new DataFormatError(path, "empty file");
  return text;
}

/** Exact powers of ten (10^0..10^22 are exact doubles). */
const POW10: number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

const NL = 10, CR = 13, SP = 32, TAB = 9;

/**
 * A cursor over delimited numeric text. Every method advances `pos`; `line`
 * is the 1-based line of `pos`, used in error messages
 * (`DataFormatError: file line 812: ...`).
 */
export class TextScanner {
  /** Current character offset. */
  pos = 0;
  /** 1-based line number of `pos`. */
  line = 1;
  /** Offset of the start of the current line. */
  lineStart = 0;
  /** Offset where the last number read by {@link tryNumber} started (after spaces). */
  numberStart = 0;
  /**
   * @param text the whole file content
   * @param file the file name used in errors (the base name is used)
   */
  constructor(readonly text: string, readonly file: string) {}

  /** The file's base name, for error messages. */
  get name(): string {
    return basename(this.file);
  }

  /** True at end of text. */
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Character code at `pos` (NaN at end). */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  /** Skip spaces and tabs (not newlines). */
  skipSpaces(): void {
    const s = this.text;
    let i = this.pos;
    for (let c = s.charCodeAt(i); c === SP || c === TAB; c = s.charCodeAt(++i));
    this.pos = i;
  }

  /** Skip blank lines (only whitespace) at `pos`, counting lines. */
  skipBlankLines(): void {
    const s = this.text;
    let i = this.pos;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === NL) {
        this.line++;
        this.lineStart = i + 1;
      } else if (c !== SP && c !== TAB && c !== CR) break;
      i++;
    }
    this.pos = i;
  }

  /** Advance past the next newline (or to the end). */
  skipLine(): void {
    const i = this.text.indexOf("\n", this.pos);
    if (i < 0) this.pos = this.text.length;
    else {
      this.pos = i + 1;
      this.line++;
      this.lineStart = this.pos;
    }
  }

  /** The rest of the current line from `pos` (without the newline / CR). */
  restOfLine(): string {
    let end = this.text.indexOf("\n", this.pos);
    if (end < 0) end = this.text.length;
    let e = end;
    if (e > this.pos && this.text.charCodeAt(e - 1) === CR) e--;
    return this.text.slice(this.pos, e);
  }

  /** The whole current line (for diagnostics). */
  currentLine(): string {
    let end = this.text.indexOf("\n", this.lineStart);
    if (end < 0) end = this.text.length;
    return this.text.slice(this.lineStart, end).replace(/\r$/, "");
  }

  /**
   * Expect end of line (optional spaces / `\r` / `extra` terminator char
   * before it) and move to the next line. Returns false if something else
   * follows.
   */
  endLine(extra = -1): boolean {
    const s = this.text;
    let i = this.pos;
    let c = s.charCodeAt(i);
    while (c === SP || c === TAB || c === CR || c === extra) c = s.charCodeAt(++i);
    if (i >= s.length) {
      this.pos = i;
      return true;
    }
    if (c !== NL) return false;
    this.pos = i + 1;
    this.line++;
    this.lineStart = this.pos;
    return true;
  }

  /** If the char at `pos` (after spaces) is `ch`, consume it and return true. */
  accept(ch: number): boolean {
    this.skipSpaces();
    if (this.text.charCodeAt(this.pos) === ch) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Read a token up to the delimiter `delim`, newline or end (not consuming the delimiter). */
  token(delim: number): string {
    const s = this.text;
    const start = this.pos;
    let i = start;
    for (let c = s.charCodeAt(i); i < s.length && c !== delim && c !== NL; c = s.charCodeAt(++i));
    this.pos = i;
    let e = i;
    if (e > start && s.charCodeAt(e - 1) === CR) e--;
    return s.slice(start, e).trim();
  }

  /**
   * Parse a decimal number at `pos` (leading spaces skipped). Literal
   * `NaN`/`nan`, `Infinity`/`inf` (either sign) are accepted and returned as
   * such, as is an overflowing `1e400` (→ `Infinity`): callers reject
   * non-finite values with {@link finite}. Anything else non-numeric
   * returns `undefined` with `pos` unchanged.
   */
  tryNumber(): number | undefined {
    const s = this.text;
    let i = this.pos;
    let c = s.charCodeAt(i);
    while (c === SP || c === TAB) c = s.charCodeAt(++i);
    this.numberStart = i;
    let neg = false;
    if (c === 45) {
      neg = true;
      c = s.charCodeAt(++i);
    } else if (c === 43) c = s.charCodeAt(++i);
    let mant = 0, digits = 0, exp10 = 0;
    while (c >= 48 && c <= 57) {
      if (digits < 16) mant = mant * 10 + (c - 48);
      else exp10++;
      if (mant > 0) digits++;
      c = s.charCodeAt(++i);
    }
    let any = i > this.pos && (s.charCodeAt(i - 1) >= 48 && s.charCodeAt(i - 1) <= 57);
    if (c === 46) {
      c = s.charCodeAt(++i);
      while (c >= 48 && c <= 57) {
        any = true;
        if (digits < 16) {
          mant = mant * 10 + (c - 48);
          exp10--;
          if (mant > 0) digits++;
        }
        c = s.charCodeAt(++i);
      }
    }
    if (!any) {
      // literal NaN / Infinity
      // longest spelling first: "Infinity" must not stop after "Inf"
      const word = /^(Infinity|infinity|INFINITY|inf|Inf|INF|nan|NaN|NAN)(?![A-Za-z0-9_])/.exec(
        s.slice(i, i + 9),
      );
      if (!word) return undefined;
      this.pos = i + word[0].length;
      return word[0][0].toLowerCase() === "n" ? NaN : neg ? -Infinity : Infinity;
    }
    if (c === 101 || c === 69) {
      let j = i + 1;
      let ce = s.charCodeAt(j);
      let eneg = false;
      if (ce === 45) {
        eneg = true;
        ce = s.charCodeAt(++j);
      } else if (ce === 43) ce = s.charCodeAt(++j);
      if (ce >= 48 && ce <= 57) {
        let e = 0;
        while (ce >= 48 && ce <= 57) {
          e = e * 10 + (ce - 48);
          ce = s.charCodeAt(++j);
        }
        exp10 += eneg ? -e : e;
        i = j;
      }
    }
    let v: number;
    if (exp10 === 0) v = mant;
    else if (exp10 < 0 && exp10 >= -22) v = mant / POW10[-exp10];
    else if (exp10 > 0 && exp10 <= 22) v = mant * POW10[exp10];
    else v = parseFloat(`${mant}e${exp10}`);
    this.pos = i;
    return neg ? -v : v;
  }

  /**
   * Parse a number or throw `DataFormatError: <file> line <n>: <field>: non-numeric value "..."`.
   * @param field column name used in the error
   */
  number(field: string): number {
    const v = this.tryNumber();
    if (v === undefined) this.fail(`${field}: non-numeric value "${this.badToken()}"`);
    return v as number;
  }

  /**
   * Return `v` if finite, else throw `DataFormatError: <file> line <n>:
   * <field>: non-finite value "<text>"` quoting the text of the last number
   * read. With `allowNaN`, NaN passes (a literal missing sample, which the
   * window quality checks drop, as ssl-wearables' `is_good_quality` does);
   * `±Infinity` and overflowing values (`1e400`) never do.
   */
  finite(v: number, field: string, allowNaN = false): number {
    if (Number.isFinite(v) || (allowNaN && Number.isNaN(v))) return v;
    const rest = this.text.slice(this.numberStart, this.numberStart + 48);
    const text = /^[^,;\s]*/.exec(rest)![0];
    return this.fail(
      `${field}: non-finite value "${text.slice(0, 40)}"${
        allowNaN ? " (only NaN may mark a missing sample)" : ""
      }`,
    );
  }

  /** Consume `ch` (after spaces) or throw naming `field`. */
  expect(ch: number, field: string): void {
    if (!this.accept(ch)) {
      this.fail(
        `after ${field}: expected "${String.fromCharCode(ch)}", found "${this.badToken()}"`,
      );
    }
  }

  /** The offending token at `pos`, for error messages. */
  badToken(): string {
    const rest = this.restOfLine();
    const m = /^\s*[^,;\s]*/.exec(rest);
    const t = m ? m[0].trim() : "";
    return t.length ? t.slice(0, 40) : (rest.length ? rest.slice(0, 40) : "<end of line>");
  }

  /** Throw a `DataFormatError` at the current line. */
  fail(fault: string): never {
    throw new DataFormatError(this.name, fault, this.line);
  }

  /** Count the `delim`-separated fields of the current line (ignoring a trailing `terminator`). */
  fieldsInLine(delim: number, terminator = -1): number {
    let line = this.currentLine().trim();
    if (terminator >= 0 && line.charCodeAt(line.length - 1) === terminator) {
      line = line.slice(0, -1);
    }
    if (line.length === 0) return 0;
    let n = 1;
    for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) === delim) n++;
    return n;
  }
}
