// What both `haloc search` modes set up before searching: the seed and thread options, the model and
// its analysis, the target's latency model, and a cancel flag that Ctrl-C raises while the search runs.
import * as os from 'node:os';
import { SharedCancelFlag } from '../cancellation';
import { analyzeModel, type ModelAnalysis } from '../graph/analyzeModel';
import { checkMemoryLimit, defaultMemoryLimitMb, modelBytesOnDisk } from '../io/memoryLimit';
import { readOnnxModel, type OnnxModel } from '../onnx/onnxModel';
import { resolveSearchLatency, type SearchLatency } from '../search/searchLatency';
import { parseBatch, UsageError, type CliInvocation } from './cliArgs';
import { numberOption, positiveInteger } from './dataArgs';

/** The shared setup of a search command. */
export interface SearchSetup {
  readonly seed: number;
  readonly threads: number;
  readonly model: OnnxModel;
  readonly analysis: ModelAnalysis;
  readonly latency: SearchLatency;
  readonly cancel: SharedCancelFlag;
  /** performance.now() before the model was read. */
  readonly started: number;
}

/** Sets up a search of `file` and runs `search` with Ctrl-C cancelling it; the handler is removed afterwards. */
export async function withSearchSetup<T>(file: string, values: CliInvocation['values'], log: (line: string) => void, search: (setup: SearchSetup) => Promise<T>): Promise<T> {
  const seed = numberOption(values, 'seed', 0, 0, 2 ** 31);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, not '${String(values.seed)}'`);
  const threads = positiveInteger(values, 'threads') ?? os.cpus().length;
  const started = performance.now();
  const model = readOnnxModel(file);
  checkMemoryLimit(modelBytesOnDisk(model), numberOption(values, 'memory-limit-mb', defaultMemoryLimitMb(), 0, 2 ** 40), file);
  const analysis = await analyzeModel(model, { batch: parseBatch(values.batch) });
  const cancel = new SharedCancelFlag();
  const onInterrupt = (): void => cancel.cancel();
  process.once('SIGINT', onInterrupt);
  try {
    const target = typeof values.target === 'string' ? values.target : 'this-machine';
    const latency = await resolveSearchLatency(model, analysis, target, { threads, granularity: positiveInteger(values, 'granularity'), ...(values['no-cache'] === true ? { cacheDir: null } : {}) }, cancel, log);
    return await search({ seed, threads, model, analysis, latency, cancel, started });
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
