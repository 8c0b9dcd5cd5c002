// The engine jobs the worker runs, one handler per job kind (the table must cover every kind).
import type { CancelSignal } from '../cancellation';
import { formatCount } from '../format';
import { analyzeModel, type LayerAnalysis } from '../graph/analyzeModel';
import { readOnnxModel } from '../onnx/onnxModel';
import { printOnnxText } from '../onnx/onnxText';
import { runCompressJob } from '../search/compressJob';
import { runSearchJob } from '../search/searchJob';
import type { JobKind, JobRequestMap } from './protocol';

/** Reports progress of a running job. */
export type ProgressSink = (message: string, fraction?: number) => void;

/** Runs one job kind. */
export type JobHandler<K extends JobKind> = (request: JobRequestMap[K]['request'], cancel: CancelSignal, progress: ProgressSink) => Promise<JobRequestMap[K]['result']>;

/** Handlers for every job kind. */
export const jobHandlers: { readonly [K in JobKind]: JobHandler<K> } = {
  async inspect(request, cancel, progress) {
    progress('reading model');
    const model = readOnnxModel(request.modelPath);
    cancel.throwIfCancelled();
    progress('analysing layers');
    const analysis = await analyzeModel(model, request.settings);
    cancel.throwIfCancelled();
    const byNode = new Map(analysis.layers.map((layer) => [layer.nodeIndex, layer]));
    const unnamed = (index: number): boolean => !model.graph.node?.[index]?.name;
    const modelText = printOnnxText(model.proto, (index) => layerComment(byNode.get(index), unnamed(index)));
    return { analysis, modelText };
  },
  search: (request, cancel, progress) => runSearchJob(request.settings, cancel, progress, request.memoryLimitMb),
  compress: (request, cancel, progress) => runCompressJob(request, cancel, progress),
};

/** The `#` comment of a layer's line; unnamed nodes get their label (`Gemm#53`) so they can be found. */
function layerComment(layer: LayerAnalysis | undefined, unnamed: boolean): string | undefined {
  if (!layer) return undefined;
  const label = unnamed ? `${layer.name}: ` : '';
  const verdict = layer.compressible ? `compressible (${layer.decomposition}, max rank ${layer.maxRank})` : `not compressible: ${layer.reason}`;
  return `${label}${formatCount(layer.macs)} MACs, ${formatCount(layer.params)} params; ${verdict}`;
}
