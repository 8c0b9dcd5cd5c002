// The compression report as Markdown (what the editor opens after "Compress to this point"): every
// figure before and after, the change, and whether it was counted, measured here or estimated.
import * as path from 'node:path';
import { formatCount } from '../format';
import type { CompressJobReport, ReportFigure } from './compressJob';
import type { ResultPoint } from './resultView';

/** What the search predicted for the point, shown beside the measurements. */
export type PredictedPoint = Pick<ResultPoint, 'latencyMs' | 'speedup' | 'accuracyDelta' | 'fineTuned'>;

/** The report in Markdown; `predicted` is the point as the search saw it, `searchLabel` the search's settings in words. */
export function compressReportMarkdown(report: CompressJobReport, predicted: PredictedPoint, searchLabel: string): string {
  const row = (what: string, f: ReportFigure, show: (v: number) => string, kind: string = f.kind): string => `| ${what} | ${show(f.before)} | ${show(f.after)} | ${change(f.before, f.after)} | ${f.how.startsWith(kind) ? f.how : `${kind}: ${f.how}`} |`;
  const ms = (v: number): string => `${v.toFixed(3)} ms`;
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  const diff = report.outputDifference;
  const top1 = report.top1
    ? `| Top-1 | ${pct(report.top1.before)} | ${pct(report.top1.after)} | ${((report.top1.after - report.top1.before) * 100 >= 0 ? '+' : '') + ((report.top1.after - report.top1.before) * 100).toFixed(2)} points | measured: ${report.top1.how} |`
    : `| Top-1 | - | - | - | ${report.top1Note} |`;
  const predictedAccuracy = predicted.accuracyDelta.value === null ? 'none' : `${predicted.accuracyDelta.value >= 0 ? '+' : ''}${predicted.accuracyDelta.value.toFixed(2)} points top-1 (${predicted.accuracyDelta.kind}: ${predicted.accuracyDelta.label})`;
  return [
    `# HALOC compression report: ${path.basename(report.modelPath)}`,
    '',
    `- **Point:** ${report.point.name} (\`${report.point.id}\`) of the search *${searchLabel}*`,
    `- **Written:** \`${report.outputPath}\``,
    `- **Model:** ${report.built}; ${report.factorizedLayers} layer(s) factorized`,
    `- **Original:** \`${report.modelPath}\` (not modified)`,
    '',
    '| Figure | Original | Compressed | Change | Where it comes from |',
    '|---|---:|---:|---:|---|',
    row('MACs', report.macs, formatCount),
    row('Parameters', report.params, formatCount),
    row('File size', report.fileBytes, bytes),
    row('Latency', report.latencyMs, ms),
    top1,
    `| Output difference | - | max abs ${diff.maxAbs.toExponential(3)} | relative ${diff.rel.toExponential(3)} | measured: onnxruntime-node, ${diff.samples} ${diff.inputs} input batches |`,
    '',
    '## What the search predicted for this point',
    '',
    `- Latency on the search's target: ${predicted.latencyMs.value.toFixed(3)} ms, ${predicted.speedup.toFixed(2)}x faster (${predicted.latencyMs.kind === 'estimated' ? 'estimated' : 'from a measured latency table'})`,
    `- Accuracy change: ${predictedAccuracy}`,
    predicted.fineTuned ? '- The model is fine-tuned.' : '- The model is not fine-tuned: `haloc finetune` (distillation from the original) usually recovers most of the accuracy lost.',
    '',
    '*Measured* figures were taken on this machine just now; *counted* figures come from the ONNX graphs; *estimated* figures are predictions and were not measured.',
    '',
  ].join('\n');
}

function change(before: number, after: number): string {
  if (before === 0) return '-';
  const ratio = after / before;
  return `${ratio <= 1 ? '' : '+'}${(100 * (ratio - 1)).toFixed(1)}%`;
}

function bytes(value: number): string {
  return value >= 2 ** 20 ? `${(value / 2 ** 20).toFixed(2)} MiB` : value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${value} B`;
}
