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
  | 'TOO_LARGE'
  | 'CANCELLED';

/** A failure caused by the user's input or environment, never by a bug: shown as one line. */
export class HalocError extends Error {
  constructor(
    readonly code: HalocErrorCode,
    message: string,
  ) {
    super(oneLineMessage(message));
    this.name = 'HalocError';
  }
}

const maxMessageLength = 1500;

/**
 * A message made safe to show as one line: control characters (a damaged file's tensor names can hold
 * newlines) are escaped, and a message longer than 1,500 characters keeps its start (the file) and end
 * (what is wrong) around an ellipsis.
 */
export function oneLineMessage(message: string): string {
  const escaped = message.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return escaped.length <= maxMessageLength ? escaped : `${escaped.slice(0, 1000)} … ${escaped.slice(-400)}`;
}

/** The message of any thrown value, on one line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ');
}
