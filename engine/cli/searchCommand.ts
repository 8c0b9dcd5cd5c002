// `haloc search <model.onnx> --data <folder|tar> --mode fast [...]`: the fast data-aware rank search,
// printing the front beside the baselines and writing result.json; `--plan-out` / `--onnx-out` write
// one point as a rank plan (for `haloc compress --plan`) or as the bias-corrected model it measured.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HalocError } from '../errors';
import { isSameFile, writeFileAtomic } from '../io/atomicWrite';
import { writeRankPlan } from '../factorize/rankPlan';
import { formatCount, renderTable } from '../format';
import { type OnnxModel } from '../onnx/onnxModel';
import { writeOnnxFile } from '../onnx/writeOnnx';
import { fastSearch, type FastSearchOutcome, type SearchProgress } from '../search/fastSearch';
import { calibrationAndTest, type CalibrationSplit } from '../search/searchData';
import { searchTargets } from '../search/searchLatency';
import { pointPlan, type FastSearchResult, type SearchPoint } from '../search/searchResult';
import { halocOptions, rejectOtherModeOptions, runHaloc } from './halocSearchCommand';
import { withSearchSetup } from './searchSetup';
import { UsageError, type CliCommand, type CliInvocation } from './cliArgs';
import { loadDataFromFlags, numberOption, positiveInteger, preprocessingOptions, preprocessingUsage } from './dataArgs';

/** The search command. */
export const searchCommand: CliCommand = {
  name: 'search',
  usage: `haloc search <model.onnx> --data <folder|tar|npy|npz> [--eval-data <folder|tar>] ${preprocessingUsage} --mode fast [--target ${searchTargets.join('|')}|<table.json>] [--budget <latency fraction>] [--batch N] [--calibration 256] [--probe-images 64] [--points 10] [--seed 0] [--granularity G] [--threads T] [--no-cache] [--memory-limit-mb M] [-o result.json] [--json] [--plan-out plan.json|--onnx-out model.onnx --point <i>|budget]\n       haloc search <model.onnx> --data <train folder|tar> [--eval-data <test folder|tar>] ${preprocessingUsage} --mode haloc [--target ...] [--budget 0.5[,0.7,...]] [--cost latency|macs] [--epochs 0.25] [--finetune-epochs 8] [--branches 4] [--cost-weight 2] [--arch-every 2] [--arch-lr 0.05] [--distill-weight 0.5] [--lr 1e-3] [--batch-size 64] [--baselines uniform,energy,flops] [--work-dir dir] [--resume] [-o result.json] [--json] [--plan-out plan.json [--point <i>]]`,
  summary: 'rank search: --mode haloc runs the HALOC supernet search, fine-tunes and measures one model per budget (see --mode haloc options below); --mode fast measures per-layer errors on calibration data and allocates ranks against the target latency table, giving a Pareto front measured on held-out data (before fine-tuning)',
  options: {
    data: { type: 'string' },
    'eval-data': { type: 'string' },
    mode: { type: 'string' },
    target: { type: 'string' },
    budget: { type: 'string' },
    batch: { type: 'string' },
    calibration: { type: 'string' },
    'probe-images': { type: 'string' },
    points: { type: 'string' },
    seed: { type: 'string' },
    granularity: { type: 'string' },
    threads: { type: 'string' },
    'no-cache': { type: 'boolean' },
    'memory-limit-mb': { type: 'string' },
    output: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    'plan-out': { type: 'string' },
    'onnx-out': { type: 'string' },
    point: { type: 'string' },
    ...halocOptions,
    ...preprocessingOptions,
  },
  async run(invocation) {
    const { positionals, values, print } = invocation;
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('search takes exactly one model file');
    if (typeof values.data !== 'string') throw new UsageError('search needs --data <folder|tar|npy|npz> (calibration images, and held-out test images unless --eval-data is given)');
    const mode = values.mode ?? 'fast';
    if (mode === 'haloc') return runHaloc(invocation);
    if (mode !== 'fast') throw new UsageError(`--mode must be fast or haloc, not '${String(mode)}'`);
    rejectOtherModeOptions(values, Object.keys(halocOptions), 'fast');
    const writesPoint = typeof values['plan-out'] === 'string' || typeof values['onnx-out'] === 'string';
    if (values.point !== undefined && !writesPoint) throw new UsageError('--point needs --plan-out or --onnx-out');
    if (writesPoint && values.point === undefined && values.budget === undefined) throw new UsageError('--plan-out / --onnx-out need --point <i> (or --budget, to write the budget\'s point)');
    const json = values.json === true;
    const log = (line: string): void => {
      if (!json) process.stderr.write(`${line}\n`);
    };
    const budget = values.budget === undefined ? undefined : numberOption(values, 'budget', 1, 1e-6, 10);
    await withSearchSetup(file, values, log, async ({ seed, threads, model, analysis, latency, cancel, started }) => {
      const latencySeconds = (performance.now() - started) / 1000;
      const { calibration, test } = dataSplits(values, seed, log);
      const outcome = await fastSearch({
        model, analysis, latency, calibration, test, seed, budget, threads, cancel,
        ...(values['probe-images'] === undefined ? {} : { sensitivityImages: positiveInteger(values, 'probe-images') ?? 64 }),
        ...(values.points === undefined ? {} : { frontPoints: positiveInteger(values, 'points') ?? 10 }),
        progress: progressPrinter(log),
      });
      const result: FastSearchResult = { ...outcome.result, seconds: { latency: latencySeconds, ...outcome.result.seconds, total: (performance.now() - started) / 1000 } };
      if (typeof values.output === 'string') writeFileAtomic(values.output, [Buffer.from(`${JSON.stringify(result, null, 1)}\n`, 'utf8')], [path.resolve(file)]);
      const written = writesPoint ? await writePoint(values, outcome, result, model) : [];
      if (json) return print(JSON.stringify(result, null, 2));
      print([renderResult(result), ...(typeof values.output === 'string' ? [`wrote ${values.output}`] : []), ...written].join('\n'));
    });
  },
};

/** Calibration and test images: a seeded stratified split of --data, or --data for calibration and --eval-data for the test. */
function dataSplits(values: CliInvocation['values'], seed: number, log: (line: string) => void): CalibrationSplit {
  const source = String(values.data);
  const data = { dataset: loadDataFromFlags(source, values, log).dataset, source };
  const evalSource = typeof values['eval-data'] === 'string' ? values['eval-data'] : undefined;
  const evalData = evalSource ? { dataset: loadDataFromFlags(evalSource, values, log).dataset, source: evalSource } : undefined;
  return calibrationAndTest(data, evalData, positiveInteger(values, 'calibration') ?? 256, seed, 'lower --calibration, or give --eval-data');
}

/** Progress lines on stderr: at each new phase and at most every 2 s within one. */
function progressPrinter(log: (line: string) => void): (p: SearchProgress) => void {
  let phase = '';
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (p.phase === phase && now - last < 2000) return;
    phase = p.phase;
    last = now;
    log(`[${p.phase}] ${p.message} (${(100 * p.fraction).toFixed(0)}%)`);
  };
}

/** Writes the chosen point as a plan and/or a model; returns what it wrote, in words. */
async function writePoint(values: CliInvocation['values'], outcome: FastSearchOutcome, result: FastSearchResult, model: OnnxModel): Promise<string[]> {
  const which = values.point === undefined ? 'budget' : String(values.point);
  const index = which === 'budget' ? (result.budget?.chosen ?? null) : Number(which);
  if (index === null) throw new HalocError('BAD_ARGUMENT', 'no front point is within the budget; pick one with --point <i>');
  const point = result.front[index];
  if (!Number.isInteger(index) || !point) throw new UsageError(`--point must be a front index 0..${result.front.length - 1} or 'budget', not '${which}'`);
  const lines: string[] = [];
  const summary = `front point ${index} of the fast search on ${result.target.name}: ${point.latencyMs.value.toFixed(3)} ms (${point.latencyMs.kind}), ${(100 * point.macsReduction).toFixed(1)}% fewer MACs, top-1 ${pct(point.top1)} (${point.accuracyDelta.label}, with bias correction)`;
  if (typeof values['plan-out'] === 'string') {
    if (isSameFile(model.filePath, values['plan-out'])) throw new HalocError('BAD_ARGUMENT', `${values['plan-out']}: refusing to overwrite the input model with a plan; choose another --plan-out`);
    writeRankPlan(values['plan-out'], pointPlan(result, point, `${summary}; haloc compress --plan applies these ranks without the bias correction`));
    lines.push(`wrote ${values['plan-out']} (front point ${index}; haloc compress --plan builds it without the bias correction, use --onnx-out for the measured model)`);
  }
  const onnxOut = values['onnx-out'];
  if (typeof onnxOut === 'string') {
    const target = path.resolve(onnxOut);
    if (!fs.existsSync(path.dirname(target))) throw new HalocError('IO', `${onnxOut}: its folder does not exist; nothing was written`);
    writeOnnxFile(await outcome.buildModel(point.ranks), target, { protectedPaths: [path.resolve(model.filePath)], constants: model.constants });
    lines.push(`wrote ${onnxOut} (front point ${index}, bias-corrected, not fine-tuned)`);
  }
  return lines;
}

/** The front and the baselines as text. */
export function renderResult(result: FastSearchResult): string {
  const o = result.original;
  const header = [
    `${path.basename(result.model)}: fast search against ${result.target.name} (latency ${result.target.kind}, batch ${result.target.batch}, rank granularity ${result.target.granularity})`,
    `original: ${formatCount(o.macs)} MACs, ${formatCount(o.params)} params, ${o.latencyMs.value.toFixed(3)} ms (${o.latencyMs.kind}), top-1 ${pct(o.top1)} on ${result.data.test.images} ${result.data.test.heldOut ? 'held-out' : ''} images`,
    `calibration: ${result.data.calibration.source}; test: ${result.data.test.source}`,
    '',
    'front (bias-corrected, NOT fine-tuned: top-1 measured on held-out data before fine-tuning):',
  ];
  const columns = ['>i', '>latency ms', '>speedup', '>MACs', '>-MACs', '>params', '>top-1', '>delta', '>agree', '>logits err', '>predicted'];
  const row = (label: string, p: SearchPoint): string[] => [
    label,
    p.latencyMs.value.toFixed(3),
    `${p.speedup.toFixed(2)}x`,
    formatCount(p.macs),
    `${(100 * p.macsReduction).toFixed(1)}%`,
    formatCount(p.params),
    pct(p.top1),
    p.accuracyDelta.value === null ? '-' : `${p.accuracyDelta.value >= 0 ? '+' : ''}${p.accuracyDelta.value.toFixed(2)}${p.accuracyDelta.kind === 'estimated' ? ' (est.)' : ''}`,
    `${(100 * p.agreement).toFixed(1)}%`,
    p.logitsError.toFixed(3),
    p.predictedLogitsError === null ? '-' : p.predictedLogitsError.toFixed(3),
  ];
  const front = result.front.map((p, i) => row(`${i}${result.budget?.chosen === i ? '*' : ''}`, p));
  const baselines = result.baselines.map((p) => row(p.name, p));
  const seconds = Object.entries(result.seconds).map(([phase, s]) => `${phase} ${s.toFixed(1)} s`).join(', ');
  return [
    ...header,
    result.front.length > 0 ? renderTable(columns, front) : '(empty: no factorization is faster than the original on this target; see the notes)',
    ...(result.budget ? [`* the least-error point within the budget of ${result.budget.latencyMs.toFixed(3)} ms (${result.budget.fraction} x original)${result.budget.chosen === null ? ': none is' : ''}`] : []),
    '',
    'baselines (same bias correction and evaluation):',
    renderTable(['name', ...columns.slice(1)], baselines),
    '',
    `${result.hull.length} points on the allocator's front; ${result.front.length} evaluated. Time: ${seconds}`,
    ...result.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(2)}%`;
}
