// Error type with a numeric code, shared by several conformance programs.
export enum ErrorCode {
  BadLength = 1,
  BadDigit = 2,
  Overflow = 3,
  Closed = 4,
}

// Callers branch on `code`, never on `name` or `instanceof Error` (Espruino has no `.name`).
export class CodedError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
  describe(): string {
    return "E" + this.code + ": " + this.message;
  }
}
