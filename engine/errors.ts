// Typed errors a user can cause. Each carries a code and a one-line message that says what to do.

/** What went wrong, for callers that react differently per kind (CLI exit codes, extension messages). */
export type HalocErrorCode =
  | 'NOT_FOUND'
  | 'NOT_ONNX'
  | 'CORRUPT'
  | 'MISSING_EXTERNAL_DATA'
  | 'UNSAFE_PATH'
  | 'UNSUPPORTED'
  | 'BAD_ARGUMENT'
  | 'IO'
  | 'CANCELLED';

/** A failure caused by the user's input or environment, never by a bug: shown as one line. */
export class HalocError extends Error {
  constructor(
    readonly code: HalocErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HalocError';
  }
}

/** The message of any thrown value, on one line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ');
}
