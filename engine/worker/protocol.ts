// The host <-> engine worker protocol: discriminated unions with request ids and a ready handshake.
// Adding a job kind means adding it to JobRequestMap; the worker's handler table does not compile
// until it handles the new kind.
import type { HalocErrorCode } from '../errors';
import type { AnalysisSettings, ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxText } from '../onnx/onnxText';
import type { CompressJobReport, CompressJobRequest } from '../search/compressJob';
import type { SearchJobResult, SearchJobSettings } from '../search/searchJob';

/** A model's analysis together with its text view (the text is annotated from the analysis). */
export interface ModelInspection {
  readonly analysis: ModelAnalysis;
  readonly modelText: OnnxText;
}

/** Job kinds, what each takes and what each returns. */
export interface JobRequestMap {
  inspect: { request: { readonly modelPath: string; readonly settings: AnalysisSettings }; result: ModelInspection };
  /** A rank search of either mode (engine/search/searchJob.ts). */
  search: { request: { readonly settings: SearchJobSettings; readonly memoryLimitMb?: number }; result: SearchJobResult };
  /** Writes one point of a finished search as a model and reports it (engine/search/compressJob.ts). */
  compress: { request: CompressJobRequest; result: CompressJobReport };
}

/** The kind of a job. */
export type JobKind = keyof JobRequestMap;

/** A job to run: its kind and input. */
export type JobRequest = { [K in JobKind]: { readonly kind: K } & JobRequestMap[K]['request'] }[JobKind];

/** Messages from the host to the worker. */
export type HostToWorker =
  | { readonly type: 'start'; readonly jobId: number; readonly job: JobRequest; readonly cancelFlag: SharedArrayBuffer }
  | { readonly type: 'cancel'; readonly jobId: number };

/** Messages from the worker to the host. */
export type WorkerToHost =
  | { readonly type: 'ready' }
  /** `message`: the phase in words; `fraction`: of the whole job done, 0..1, where known. */
  | { readonly type: 'progress'; readonly jobId: number; readonly message: string; readonly fraction?: number }
  | { readonly type: 'result'; readonly jobId: number; readonly result: JobRequestMap[JobKind]['result'] }
  | { readonly type: 'error'; readonly jobId: number; readonly code: HalocErrorCode | 'INTERNAL'; readonly message: string };
