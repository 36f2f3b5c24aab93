// Typed error for data files, so scripts can print one clear line naming the file and the problem.

export class DataError extends Error {
  override readonly name = "DataError";
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(file ? `${file}: ${problem}` : problem);
  }
}
