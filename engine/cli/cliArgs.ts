// The shape of a CLI command and parsers for the options several commands share.
import type { ParseArgsConfig } from 'node:util';

/** Thrown for wrong command-line usage (exit code 2, with the usage line). */
export class UsageError extends Error {}

/** What a command receives: parsed arguments and a way to print (stdout). */
export interface CliInvocation {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly print: (text: string) => void;
}

/** One `haloc` sub-command. */
export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(invocation: CliInvocation): Promise<void>;
}

/** `--batch N`: a positive integer, or undefined when not given. */
export function parseBatch(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const batch = Number(value);
  if (!Number.isSafeInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer, not '${String(value)}'`);
  return batch;
}

/** `--input-shape name=d0,d1,...` (repeatable) into a map of shapes. */
export function parseInputShapes(value: unknown): Record<string, number[]> {
  const entries = Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  const shapes: Record<string, number[]> = {};
  for (const entry of entries) {
    const match = /^(.+)=(\d+(?:,\d+)*)$/.exec(entry);
    if (!match?.[1] || !match[2]) throw new UsageError(`--input-shape must look like name=1,3,224,224, not '${entry}'`);
    shapes[match[1]] = match[2].split(',').map(Number);
  }
  return shapes;
}
