/**
 * Error types shared by every layer. Each names the file (or field) and the
 * fault, so a user reading a stack trace knows what to fix.
 *
 * @example
 * throw new DataFormatError("data_1600_accel_watch.txt.gz", "5 fields, expected 6", 812);
 * // DataFormatError: data_1600_accel_watch.txt.gz line 812: 5 fields, expected 6
 */
export class DataFormatError extends Error {
  /** The offending file (path as given by the caller). */
  readonly file: string;
  /** 1-based line (text formats) or byte offset description, if known. */
  readonly line?: number;
  constructor(file: string, fault: string, line?: number) {
    super(`${file}${line !== undefined ? ` line ${line}` : ""}: ${fault}`);
    this.name = "DataFormatError";
    this.file = file;
    this.line = line;
  }
}

/** A configuration / argument error (bad CLI flag, inconsistent spec). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A checkpoint that is malformed or tries to do something unsafe. */
export class CheckpointError extends Error {
  readonly file: string;
  constructor(file: string, fault: string) {
    super(`${file}: ${fault}`);
    this.name = "CheckpointError";
    this.file = file;
  }
}

/** A dataset that is needed but absent (not downloaded, offline). */
export class DatasetUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetUnavailableError";
  }
}
