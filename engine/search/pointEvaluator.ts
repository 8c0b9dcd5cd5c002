// Evaluates settings of a search in the same units: builds the bias-corrected model, measures it on the
// test images against the original model's logits and the labels, and adds its size and predicted
// latency, with the honesty labels of searchResult.ts.
import type { CancelSignal } from '../cancellation';
import type { ModelAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { compareLogits, labelsOf, logitsOn, type EvalSet } from './pointEvaluation';
import { buildPointModel, pointLatencyMs, pointSize, type PointRanks, type ShiftLookup } from './pointModel';
import type { AccuracyDelta, SearchPoint } from './searchResult';
import type { SearchLatency } from './searchLatency';
import type { FactorCache, SearchLayer } from './searchLayers';

/** What the evaluator needs. */
export interface EvaluatorContext {
  readonly model: OnnxModel;
  readonly analysis: ModelAnalysis;
  readonly latency: SearchLatency;
  readonly layers: readonly SearchLayer[];
  readonly factors: FactorCache;
  readonly shiftOf: ShiftLookup;
  readonly test: EvalSet & { readonly heldOut: boolean };
  readonly run: { readonly batchSize: number; readonly dropLast: boolean; readonly threads?: number };
  readonly cancel: CancelSignal;
  readonly predictedError: (ranks: PointRanks) => number | null;
  /** The original model's predicted latency (same kind as the points'). */
  readonly originalMs: number;
}

/** Evaluates points against the original model's held-out logits. */
export class PointEvaluator {
  private constructor(
    private readonly context: EvaluatorContext,
    private readonly reference: { readonly logits: Float32Array; readonly classes: number },
    private readonly labels: Int32Array | undefined,
    /** The original model on the test images. */
    readonly original: { readonly top1: number | null; readonly top5: number | null; readonly images: number },
  ) {}

  /** Measures the original model on the test images. */
  static async open(context: EvaluatorContext): Promise<PointEvaluator> {
    const reference = await logitsOn(context.model, context.test, { ...context.run, cancel: context.cancel });
    const labels = labelsOf(context.test);
    const self = compareLogits(reference.logits, reference.logits, reference.classes, labels);
    return new PointEvaluator(context, reference, labels, { top1: self.top1, top5: self.top5, images: reference.images });
  }

  /** MACs and parameters of a setting. */
  size(ranks: PointRanks): { macs: number; params: number } {
    return pointSize(this.context.model, this.context.analysis, this.context.layers, ranks);
  }

  /** Builds, measures and labels one setting. */
  async evaluate(ranks: PointRanks): Promise<SearchPoint> {
    const { model, layers, factors, shiftOf, latency, cancel } = this.context;
    cancel.throwIfCancelled();
    const { logits } = await logitsOn({ proto: await buildPointModel(model, layers, ranks, factors, shiftOf), constants: model.constants }, this.context.test, { ...this.context.run, cancel });
    const measured = compareLogits(logits, this.reference.logits, this.reference.classes, this.labels);
    const size = this.size(ranks);
    const latencyMs = pointLatencyMs(latency, layers, ranks);
    const full = Object.fromEntries(layers.map((l) => [l.layer.name, ranks[l.layer.name] ?? 'keep']));
    return {
      ranks: full,
      macs: size.macs,
      params: size.params,
      macsReduction: 1 - size.macs / Math.max(1, this.context.analysis.totals.macs),
      latencyMs: { value: latencyMs, kind: latency.kind },
      speedup: this.context.originalMs / latencyMs,
      accuracyDelta: this.delta(measured.top1, measured.agreement),
      top1: measured.top1,
      agreement: measured.agreement,
      logitsError: measured.logitsError,
      predictedLogitsError: this.context.predictedError(ranks),
      biasCorrected: true,
      fineTuned: false,
    };
  }

  /** The top-1 change and its label: measured only on labelled images the search did not use. */
  private delta(top1: number | null, agreement: number): AccuracyDelta {
    const original = this.original.top1;
    if (top1 === null || original === null) {
      return { value: -100 * (1 - agreement), kind: 'estimated', label: 'estimated from the top-1 agreement with the original on unlabelled images (the top-1 change is at most this), before fine-tuning' };
    }
    const value = 100 * (top1 - original);
    if (!this.context.test.heldOut) return { value, kind: 'estimated', label: 'estimated: the test images may overlap the calibration images; before fine-tuning' };
    return { value, kind: 'measured', label: 'measured on held-out data, before fine-tuning' };
  }
}
