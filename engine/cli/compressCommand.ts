// `haloc compress <model.onnx> (--plan <file> | --uniform <f> | --energy <f>) [-o out.onnx] [--json]`.
import { compressModel, type CompressReport, type RankChoice } from '../factorize/compressModel';
import { readRankPlan } from '../factorize/rankPlan';
import { formatCount, renderTable } from '../format';
import { parseBatch, UsageError, type CliCommand, type CliInvocation } from './cliArgs';

/** The compress command. */
export const compressCommand: CliCommand = {
  name: 'compress',
  usage: 'haloc compress <model.onnx> (--plan <model.ranks.json> | --uniform <fraction of max rank> | --energy <fraction of energy kept>) [-o out.onnx] [--hooi N] [--batch N] [--json]',
  summary: 'factorize layers (Tucker-2 / SVD), check the result in onnxruntime, write <model>.<tag>.onnx',
  options: {
    plan: { type: 'string' },
    uniform: { type: 'string' },
    energy: { type: 'string' },
    output: { type: 'string', short: 'o' },
    hooi: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ positionals, values, print }) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('compress takes exactly one model file');
    const choice = rankChoice(values);
    const hooi = values.hooi === undefined ? 0 : Number(values.hooi);
    if (!Number.isInteger(hooi) || hooi < 0) throw new UsageError(`--hooi must be a non-negative integer, not '${String(values.hooi)}'`);
    const output = typeof values.output === 'string' ? values.output : undefined;
    const report = await compressModel(file, { choice, outputPath: output, hooiIterations: hooi, batch: parseBatch(values.batch) });
    print(values.json === true ? JSON.stringify(report, null, 2) : renderCompressReport(report));
  },
};

function rankChoice(values: CliInvocation['values']): RankChoice {
  const given = (['plan', 'uniform', 'energy'] as const).filter((k) => values[k] !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --plan, --uniform, --energy');
  if (typeof values.plan === 'string') return { kind: 'plan', plan: readRankPlan(values.plan), origin: values.plan };
  const kind = given[0] as 'uniform' | 'energy';
  const fraction = Number(values[kind]);
  if (!(fraction > 0 && fraction <= 1)) throw new UsageError(`--${kind} must be a fraction in (0, 1], not '${String(values[kind])}'`);
  return { kind, fraction };
}

/** The human-readable report. */
export function renderCompressReport(report: CompressReport): string {
  const rows = report.layers.map((l) => [
    l.name,
    l.decomposition,
    String(l.rank),
    String(l.maxRank),
    `${formatCount(l.macsBefore)} -> ${formatCount(l.macsAfter)}`,
    `${formatCount(l.paramsBefore)} -> ${formatCount(l.paramsAfter)}`,
    l.weightError === null ? '-' : l.weightError.toFixed(4),
  ]);
  const t = report.totals;
  const pct = (after: number, before: number): string => `${after <= before ? '' : '+'}${(100 * (after / before - 1)).toFixed(1)}%`;
  return [
    renderTable(['layer', 'method', '>rank', '>max', '>MACs', '>params', '>weight error'], rows),
    '',
    `model MACs: ${formatCount(t.macsBefore)} -> ${formatCount(t.macsAfter)} (${pct(t.macsAfter, t.macsBefore)}); params: ${formatCount(t.paramsBefore)} -> ${formatCount(t.paramsAfter)} (${pct(t.paramsAfter, t.paramsBefore)}); ${t.factorizedLayers} layers factorized`,
    `output difference on ${report.outputDiff.samples} ${report.outputDiff.inputs} input batches (measured in onnxruntime): max abs ${report.outputDiff.maxAbs.toExponential(3)}, relative ${report.outputDiff.rel.toExponential(3)}`,
    `wrote ${report.output}`,
  ].join('\n');
}
