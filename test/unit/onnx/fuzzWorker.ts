// The worker thread of the ONNX fuzzer: loads the base models once, then builds and runs the cases the
// main thread sends, one at a time. Running in a worker lets the main thread stop a case that hangs
// (terminate) and bound its memory (resourceLimits and RSS sampling) without losing the run.
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { folderBaseModels, generatedBaseModels } from './fuzzBaseModels';
import { runFuzzCase, type CaseResult } from './fuzzCaseRunner';
import { makeFuzzCase, mutationSources, truncationCaseCount } from './onnxMutations';

/** What the main thread passes to the worker. */
export interface FuzzWorkerData {
  readonly seed: number;
  /** The shared models folder ('' or missing: generated models only). */
  readonly sharedDir: string;
  /** A temporary folder for the cases' files. */
  readonly workDir: string;
}

/** Messages from the worker. */
export type FuzzWorkerMessage =
  | { readonly type: 'ready'; readonly baseNames: readonly string[]; readonly truncationCases: number }
  | { readonly type: 'started'; readonly index: number; readonly base: string; readonly kind: string; readonly description: string }
  | { readonly type: 'result'; readonly result: CaseResult };

const data = workerData as FuzzWorkerData;
const port = parentPort;
if (port) {
  const sources = mutationSources([...(data.sharedDir ? folderBaseModels(data.sharedDir) : []), ...generatedBaseModels()]);
  port.on('message', (message: { index: number }) => {
    void (async () => {
      const caseDir = path.join(data.workDir, `case-${message.index}`);
      const fuzzCase = makeFuzzCase(data.seed, message.index, sources, caseDir);
      const { index, base, kind, description } = fuzzCase;
      port.postMessage({ type: 'started', index, base, kind, description } satisfies FuzzWorkerMessage);
      port.postMessage({ type: 'result', result: await runFuzzCase(fuzzCase, caseDir) } satisfies FuzzWorkerMessage);
    })();
  });
  port.postMessage({ type: 'ready', baseNames: sources.map((s) => s.base.name), truncationCases: truncationCaseCount(sources) } satisfies FuzzWorkerMessage);
}
