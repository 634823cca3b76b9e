/** Errors about bad data: they always name the file, and the line for text files. */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, message: string, line?: number) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${message}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
  }
}

/** The hint appended to errors that `skipBadSamples` can turn into skips. */
export const SKIP_HINT = 'fix the data or pass --skip-bad-samples';
