// The engine's cancellation signal: a flag in shared memory that the host sets and long loops check
// (Atomics), so that a job in a worker stops even while it never yields to the event loop.
import { HalocError } from './errors';

/** Checked by long-running engine code; never a vscode token. */
export interface CancelSignal {
  readonly cancelled: boolean;
  /** Throws a CANCELLED HalocError when cancelled. */
  throwIfCancelled(): void;
}

/** A cancel flag backed by a SharedArrayBuffer that another thread can set. */
export class SharedCancelFlag implements CancelSignal {
  private readonly cell: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cell = new Int32Array(buffer);
  }

  get cancelled(): boolean {
    return Atomics.load(this.cell, 0) !== 0;
  }

  /** Sets the flag (from any thread). */
  cancel(): void {
    Atomics.store(this.cell, 0, 1);
  }

  throwIfCancelled(): void {
    if (this.cancelled) throw new HalocError('CANCELLED', 'cancelled');
  }
}

/** A signal that is never cancelled. */
export const neverCancelled: CancelSignal = { cancelled: false, throwIfCancelled: () => undefined };
