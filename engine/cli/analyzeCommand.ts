// `haloc analyze <model.onnx> [--json] [--batch N] [--input-shape name=d0,d1,...]`: the per-layer table.
import { analyzeModel, type ModelAnalysis } from '../graph/analyzeModel';
import { formatDims } from '../graph/valueInfo';
import { readOnnxModel } from '../onnx/onnxModel';
import { parseBatch, parseInputShapes, UsageError, type CliCommand } from './cliArgs';
import { formatBytes, formatCount, renderTable } from '../format';

/** The analyze command. */
export const analyzeCommand: CliCommand = {
  name: 'analyze',
  usage: 'haloc analyze <model.onnx> [--json] [--batch N] [--input-shape <input>=d0,d1,...]...',
  summary: 'per-layer shapes, MACs, parameters, and which layers can be factorized',
  options: {
    json: { type: 'boolean' },
    batch: { type: 'string' },
    'input-shape': { type: 'string', multiple: true },
    'no-runtime': { type: 'boolean' },
  },
  async run({ positionals, values, print }) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('analyze takes exactly one model file');
    const settings = { batch: parseBatch(values.batch), inputShapes: parseInputShapes(values['input-shape']), runtimeFallback: values['no-runtime'] !== true };
    const analysis = await analyzeModel(readOnnxModel(file), settings);
    print(values.json === true ? JSON.stringify(toJson(analysis), null, 2) : renderAnalysis(analysis));
  },
};

/** The JSON object of `--json`: model, totals, and the layers (without internal fields). */
export function toJson(analysis: ModelAnalysis): object {
  return {
    model: analysis.model,
    totals: analysis.totals,
    layers: analysis.layers.map(({ lowRankShape: _shape, nodeIndex: _index, ...layer }) => layer),
  };
}

/** The human-readable report. */
export function renderAnalysis(analysis: ModelAnalysis): string {
  const { model, totals } = analysis;
  const header = [
    `${model.name}  (${formatBytes(model.fileSizeBytes)}, IR ${model.irVersion}, opset ${model.opsetVersion}${model.producer ? `, ${model.producer}` : ''})`,
    `inputs: ${model.inputs.map((i) => `${i.name} ${formatDims(i.shape)}`).join(', ')}   batch: ${model.batch}   shapes: ${model.shapeInference}`,
  ];
  const rows = analysis.layers.map((l) => [
    l.name,
    l.op,
    formatDims(l.inputShape ?? undefined),
    formatDims(l.outputShape ?? undefined),
    l.weightShape ? formatDims(l.weightShape) : '-',
    formatCount(l.macs),
    formatCount(l.params),
    l.compressible ? `yes: ${l.decomposition}, max rank ${l.maxRank}, fewer MACs up to rank ${l.breakEvenRank}` : `no: ${l.reason}`,
  ]);
  const table = renderTable(['layer', 'op', 'input', 'output', 'weight', '>MACs', '>params', 'compressible'], rows);
  const unknown = totals.layersWithUnknownMacs > 0 ? ` (+ ${totals.layersWithUnknownMacs} layer(s) with unknown MACs)` : '';
  const footer = [
    `total: ${formatCount(totals.macs)} MACs${unknown}, ${formatCount(totals.params)} params (${formatBytes(totals.weightBytes)}), ${totals.layers} layers, ${totals.compressibleLayers} compressible`,
    ...model.notes.map((n) => `note: ${n}`),
    ...analysis.layers.filter((l) => l.note).map((l) => `note: ${l.name}: ${l.note}`),
  ];
  return [...header, '', table, '', ...footer].join('\n');
}
