// Runs one fuzz case the way `haloc analyze` would: lays its files out in a case folder, reads the
// model and analyses it (and for some cases runs the CLI entry too), and classifies the outcome:
// a result, a typed one-line HalocError that names the file, or a crash (anything else).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../../engine/cli/main';
import { HalocError, type HalocErrorCode } from '../../../engine/errors';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import type { FuzzCase } from './onnxMutations';

/**
 * How a case ended: 'ok' or a HalocError code (both fine), or a failure: 'crash' (a non-HalocError
 * exception or CLI exit 70), 'bad-error' (a HalocError that is multi-line, does not name the file, or
 * has the wrong code), 'timeout' (past the time bound) or 'memory' (past the memory bound).
 */
export type FuzzOutcome = 'ok' | HalocErrorCode | 'crash' | 'bad-error' | 'timeout' | 'memory';

/** The outcomes that fail a fuzz run. */
export const failureOutcomes: ReadonlySet<FuzzOutcome> = new Set(['crash', 'bad-error', 'timeout', 'memory']);

/** The outcome of one case. */
export interface CaseResult {
  readonly index: number;
  readonly base: string;
  readonly kind: string;
  readonly description: string;
  readonly outcome: FuzzOutcome;
  /** The error message (for crashes: what was wrong and the stack's first lines). */
  readonly message: string;
  readonly ms: number;
}

/** Writes a case's files, folders and symlinks under `caseDir`. */
export function layOutCase(fuzzCase: FuzzCase, caseDir: string): void {
  for (const folder of fuzzCase.files.folders) fs.mkdirSync(path.join(caseDir, folder), { recursive: true });
  for (const [name, bytes] of fuzzCase.files.files) {
    fs.mkdirSync(path.dirname(path.join(caseDir, name)), { recursive: true });
    fs.writeFileSync(path.join(caseDir, name), bytes);
  }
  for (const [link, target] of fuzzCase.files.symlinks) fs.symlinkSync(target, path.join(caseDir, link));
}

/** A thrown value as a crash description (name, message, first stack frames). */
function describeCrash(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const frames = (error.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' | ');
  return `${error.name}: ${error.message} | ${frames}`;
}

/** Classifies a thrown value: a HalocError with a one-line message naming the model file, or a crash. */
function classify(error: unknown, modelFile: string): { outcome: FuzzOutcome; message: string } {
  if (!(error instanceof HalocError)) return { outcome: 'crash', message: describeCrash(error) };
  if (error.message.includes('\n')) return { outcome: 'bad-error', message: `HalocError ${error.code} with a multi-line message: ${JSON.stringify(error.message)}` };
  // The message must name the model file (or, for external data, the data file beside it).
  if (!error.message.includes(path.dirname(modelFile))) return { outcome: 'bad-error', message: `HalocError ${error.code} whose message does not name the file: ${error.message}` };
  return { outcome: error.code, message: error.message };
}

/** Reads and analyses the model (static shapes only, as the bulk of the fuzzing); the outcome. */
async function readAndAnalyze(modelFile: string): Promise<{ outcome: FuzzOutcome; message: string }> {
  try {
    await analyzeModel(readOnnxModel(modelFile), { runtimeFallback: false });
    return { outcome: 'ok', message: '' };
  } catch (error) {
    return classify(error, modelFile);
  }
}

/** Runs `haloc analyze <file> --json` (runtime fallback on) and checks its exit code against `direct`. */
async function viaCli(modelFile: string, direct: FuzzOutcome): Promise<{ outcome: FuzzOutcome; message: string } | undefined> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['analyze', modelFile, '--json'], (t) => out.push(t), (t) => err.push(t));
  const stderr = err.join('\n');
  if (code === 70) return { outcome: 'crash', message: `haloc analyze exited 70: ${stderr.split('\n').slice(0, 3).join(' | ')}` };
  if (code === 0) {
    try {
      JSON.parse(out.join('\n'));
    } catch {
      return { outcome: 'crash', message: 'haloc analyze --json printed output that is not JSON' };
    }
  }
  if (code === 1 && (stderr.includes('\n') || !stderr.startsWith('haloc analyze: '))) return { outcome: 'bad-error', message: `haloc analyze error is not one line: ${JSON.stringify(stderr)}` };
  if ((code === 0) !== (direct === 'ok') || (code !== 0 && code !== 1)) return { outcome: 'bad-error', message: `haloc analyze exited ${code} but the direct analysis ended in ${direct}: ${stderr}` };
  return undefined;
}

/** Runs one case in `caseDir` (created and removed here). */
export async function runFuzzCase(fuzzCase: FuzzCase, caseDir: string): Promise<CaseResult> {
  fs.rmSync(caseDir, { recursive: true, force: true });
  fs.mkdirSync(caseDir, { recursive: true });
  try {
    layOutCase(fuzzCase, caseDir);
    const modelFile = path.join(caseDir, fuzzCase.modelPath);
    const started = process.hrtime.bigint();
    let result = await readAndAnalyze(modelFile);
    if (fuzzCase.viaCli && !failureOutcomes.has(result.outcome)) result = (await viaCli(modelFile, result.outcome)) ?? result;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (fuzzCase.expect && !failureOutcomes.has(result.outcome) && result.outcome !== fuzzCase.expect) {
      result = { outcome: 'bad-error', message: `expected ${fuzzCase.expect} but got ${result.outcome}: ${result.message}` };
    }
    const { index, base, kind, description } = fuzzCase;
    return { index, base, kind, description, ...result, ms };
  } finally {
    fs.rmSync(caseDir, { recursive: true, force: true });
  }
}
