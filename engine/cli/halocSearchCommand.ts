// `haloc search --mode haloc`: the HALOC supernet search, fine-tuning and measurement of one model per
// budget (engine/search/halocSearch.ts), with progress on stderr, Ctrl-C keeping the work for
// --resume, the front and the baselines printed and result.json written.
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { blackFill } from '../data/augment';
import { HalocError } from '../errors';
import { formatCount, renderTable } from '../format';
import { isSameFile, writeFileAtomic } from '../io/atomicWrite';
import { writeRankPlan } from '../factorize/rankPlan';
import { withSearchSetup } from './searchSetup';
import { halocSearch, type BaselineKind, type HalocPoint, type HalocProgress, type HalocSearchResult } from '../search/halocSearch';
import { trainAndTest } from '../search/searchData';
import { UsageError, type CliInvocation } from './cliArgs';
import { loadDataFromFlags, numberOption, positiveInteger, preprocessingOf } from './dataArgs';

/** The options only --mode haloc reads. */
export const halocOptions: NonNullable<ParseArgsConfig['options']> = {
  cost: { type: 'string' },
  epochs: { type: 'string' },
  'finetune-epochs': { type: 'string' },
  branches: { type: 'string' },
  'cost-weight': { type: 'string' },
  'arch-every': { type: 'string' },
  'arch-lr': { type: 'string' },
  'distill-weight': { type: 'string' },
  lr: { type: 'string' },
  'batch-size': { type: 'string' },
  baselines: { type: 'string' },
  'work-dir': { type: 'string' },
  resume: { type: 'boolean' },
};

const baselineKinds: readonly BaselineKind[] = ['uniform', 'energy', 'flops'];

/** Options of --mode fast that --mode haloc has no use for. */
export const fastOnlyOptions = ['calibration', 'probe-images', 'points', 'onnx-out'] as const;

/** A usage error naming the options given that the other mode reads, if any. */
export function rejectOtherModeOptions(values: CliInvocation['values'], names: readonly string[], mode: string): void {
  const given = names.filter((n) => values[n] !== undefined);
  if (given.length > 0) throw new UsageError(`${given.map((n) => `--${n}`).join(', ')} ${given.length === 1 ? 'is' : 'are'} not used by --mode ${mode}`);
}

/** Runs `haloc search --mode haloc`. */
export async function runHaloc(invocation: CliInvocation): Promise<void> {
  const { positionals, values, print } = invocation;
  const file = positionals[0]!;
  const json = values.json === true;
  const log = (line: string): void => {
    if (!json) process.stderr.write(`${line}\n`);
  };
  rejectOtherModeOptions(values, fastOnlyOptions, 'haloc');
  const cost = values.cost ?? 'latency';
  if (cost !== 'latency' && cost !== 'macs') throw new UsageError(`--cost must be latency or macs, not '${String(cost)}'`);
  const budgets = String(values.budget ?? '0.5').split(',').map((b) => Number(b));
  if (budgets.some((b) => !(b > 0 && b <= 1))) throw new UsageError(`--budget must be fractions in (0, 1], comma-separated, not '${String(values.budget)}'`);
  const baselines = typeof values.baselines === 'string' ? values.baselines.split(',').filter(Boolean) : [];
  const unknown = baselines.filter((b) => !baselineKinds.includes(b as BaselineKind));
  if (unknown.length > 0) throw new UsageError(`--baselines takes ${baselineKinds.join(', ')}, not '${unknown.join(',')}'`);
  const output = typeof values.output === 'string' ? values.output : undefined;
  const parsed = path.parse(output ?? file);
  const workDir = typeof values['work-dir'] === 'string' ? values['work-dir'] : path.join(parsed.dir, `${parsed.name}.haloc`);
  const pointIndex = values.point === undefined ? 0 : Number(values.point);
  if (values.point !== undefined && !(typeof values['plan-out'] === 'string')) throw new UsageError('--point needs --plan-out');
  if (!Number.isInteger(pointIndex) || pointIndex < 0 || pointIndex >= budgets.length) throw new UsageError(`--point must be a front index 0..${budgets.length - 1}, not '${String(values.point)}'`);
  if (typeof values['plan-out'] === 'string' && isSameFile(file, values['plan-out'])) throw new UsageError(`${values['plan-out']}: refusing to overwrite the input model with a plan`);
  await withSearchSetup(file, values, log, async ({ seed, threads, model, analysis, latency, cancel, started }) => {
    const { train, test } = trainAndTestOf(values, seed, log);
    const preprocessing = preprocessingOf(values);
    const result = await halocSearch({
      model, analysis, latency, train, test, budgets, cost, seed, threads, workDir, cancel,
      searchEpochs: numberOption(values, 'epochs', 0.25, 0.001, 1000),
      finetuneEpochs: numberOption(values, 'finetune-epochs', 8, 0.001, 1000),
      batchSize: positiveInteger(values, 'batch-size') ?? 64,
      branches: positiveInteger(values, 'branches') ?? 4,
      costWeight: numberOption(values, 'cost-weight', 2, 0, 1e6),
      archEvery: positiveInteger(values, 'arch-every') ?? 2,
      archLearningRate: numberOption(values, 'arch-lr', 0.05, 1e-6, 10),
      distillWeight: numberOption(values, 'distill-weight', 0.5, 0, 1),
      finetuneLearningRate: numberOption(values, 'lr', 1e-3, 1e-8, 10),
      baselines: baselines as BaselineKind[],
      augmentFill: blackFill(preprocessing.mean ?? [0], preprocessing.std ?? [1]),
      resume: values.resume === true,
      progress: halocProgressPrinter(log),
    }).catch((error: unknown) => {
      if (error instanceof HalocError && error.code === 'CANCELLED') throw new HalocError('CANCELLED', `interrupted; finished searches and the fine-tuning checkpoint are kept in ${workDir}: run the same command with --resume to continue`);
      throw error;
    });
    const withTotal: HalocSearchResult = { ...result, seconds: { ...result.seconds, total: (performance.now() - started) / 1000 } };
    if (output) writeFileAtomic(output, [Buffer.from(`${JSON.stringify(withTotal, null, 1)}\n`, 'utf8')], [path.resolve(file)]);
    const planLine = typeof values['plan-out'] === 'string' ? writePointPlan(values['plan-out'], values.point, withTotal, file) : undefined;
    if (json) return print(JSON.stringify(withTotal, null, 2));
    print([renderHalocResult(withTotal), ...(output ? [`wrote ${output}`] : []), ...(planLine ? [planLine] : [])].join('\n'));
  });
}

/** Writes front point `which` (default 0) as a rank plan for `haloc compress --plan`; returns what it wrote, in words. */
function writePointPlan(planPath: string, which: unknown, result: HalocSearchResult, modelPath: string): string {
  const index = which === undefined ? 0 : Number(which);
  const point = result.front[index]!;
  const description = `HALOC front point ${index} (budget ${point.budget} of the ${result.cost} on ${result.target.name}): ${(100 * point.macsReduction).toFixed(1)}% fewer MACs, top-1 ${pct(point.top1)} after fine-tuning; its fine-tuned model is ${point.onnx}`;
  writeRankPlan(planPath, { model: path.basename(modelPath), source: { kind: result.cost === 'macs' ? 'flops-haloc' : 'haloc', description, createdAt: new Date().toISOString(), tool: 'haloc search --mode haloc' }, ranks: point.ranks });
  return `wrote ${planPath} (front point ${index}'s ranks; haloc compress --plan builds them from the pretrained weights without training: the fine-tuned model is ${point.onnx})`;
}

/** Training images (all of --data, or all but a held-out 10% without --eval-data) and the test images. */
function trainAndTestOf(values: CliInvocation['values'], seed: number, log: (line: string) => void): ReturnType<typeof trainAndTest> {
  const source = String(values.data);
  const data = { dataset: loadDataFromFlags(source, values, log).dataset, source };
  const evalSource = typeof values['eval-data'] === 'string' ? values['eval-data'] : undefined;
  const evalData = evalSource ? { dataset: loadDataFromFlags(evalSource, values, log).dataset, source: evalSource } : undefined;
  return trainAndTest(data, evalData, seed);
}

/** Progress lines on stderr: at each new phase or point, and at most every 5 s within one. */
function halocProgressPrinter(log: (line: string) => void): (p: HalocProgress) => void {
  let key = '';
  let last = 0;
  return (p) => {
    const now = performance.now();
    const current = `${p.phase} ${p.what}`;
    if (current === key && now - last < 5000 && p.step !== p.totalSteps) return;
    key = current;
    last = now;
    const parts = [`[${p.phase}] ${p.what}`, p.totalSteps > 1 ? `step ${p.step}/${p.totalSteps}` : '', p.loss === null ? '' : `loss ${p.loss.toFixed(4)}`, p.expectedCost === null ? '' : `expected cost ${p.expectedCost.toPrecision(4)}`, p.imagesPerSecond === null ? '' : `${p.imagesPerSecond.toFixed(0)} images/s`];
    log(parts.filter(Boolean).join(' '));
  };
}

/** The front and the baselines as text. */
export function renderHalocResult(result: HalocSearchResult): string {
  const o = result.original;
  const columns = ['>point', '>budget', '>MACs', '>-MACs', '>params', '>predicted ms', '>measured ms', '>speedup', '>top-1', '>delta', '>before FT', '>search s', '>finetune s'];
  const row = (p: HalocPoint): string[] => [
    p.name,
    p.budget === null ? '-' : String(p.budget),
    formatCount(p.macs),
    `${(100 * p.macsReduction).toFixed(1)}%`,
    formatCount(p.params),
    p.latencyMs.value.toFixed(3),
    p.measuredLatencyMs.toFixed(3),
    `${p.measuredSpeedup.toFixed(2)}x`,
    pct(p.top1),
    p.accuracyDelta.value === null ? '-' : `${p.accuracyDelta.value >= 0 ? '+' : ''}${p.accuracyDelta.value.toFixed(2)}${p.accuracyDelta.kind === 'estimated' ? ' (est.)' : ''}`,
    pct(p.top1BeforeFinetune),
    p.seconds.search.toFixed(0),
    p.seconds.finetune.toFixed(0),
  ];
  const seconds = Object.entries(result.seconds).map(([phase, s]) => `${phase} ${s.toFixed(0)} s`).join(', ');
  return [
    `${path.basename(result.model)}: HALOC search (cost: ${result.cost}) against ${result.target.name} (${result.target.kind}, batch ${result.target.batch}, granularity ${result.target.granularity})`,
    `original: ${formatCount(o.macs)} MACs, ${formatCount(o.params)} params, ${o.latencyMs.value.toFixed(3)} ms predicted, ${o.measuredLatencyMs.toFixed(3)} ms measured, top-1 ${pct(o.top1)} on ${result.data.test.images} ${result.data.test.heldOut ? 'held-out ' : ''}images`,
    `train: ${result.data.train.source} (${result.data.train.weightImages} for weights, ${result.data.train.archImages} for alpha); test: ${result.data.test.source}`,
    '',
    `front (fine-tuned ${result.settings.finetuneEpochs} epoch(s); top-1 ${result.data.test.heldOut ? 'measured on held-out images' : 'estimated'}):`,
    renderTable(columns, result.front.map(row)),
    ...(result.baselines.length > 0 ? ['', 'baselines (same fine-tuning, at the MACs of the first point):', renderTable(columns, result.baselines.map(row))] : []),
    '',
    `models: ${[...result.front, ...result.baselines].map((p) => p.onnx).join(', ')}`,
    `time: ${seconds}`,
    ...result.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(2)}%`;
}
