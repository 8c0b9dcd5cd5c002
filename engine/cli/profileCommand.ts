// `haloc profile <model.onnx> [--batch N] [--threads T] [--provider cpu|cuda] [--target <profile>] [-o table.json]`
// and `haloc profile --check <model.onnx> [--plan p] [--batch N] [--json]`.
import * as os from 'node:os';
import { readRankPlan } from '../factorize/rankPlan';
import { formatDims } from '../graph/valueInfo';
import { analyzeModel } from '../graph/analyzeModel';
import { analyticProfiles, findProfile } from '../hardware/analyticProfiles';
import { buildLatencyTable, busyTableNote, type TableBuild } from '../hardware/buildLatencyTable';
import type { ExecutionProvider } from '../hardware/deviceFingerprint';
import { estimateLatencyTable } from '../hardware/estimateLatencyTable';
import { checkLatency, type LatencyCheck, type LatencyComparison } from '../hardware/latencyCheck';
import { layerKey, readLatencyTable, writeLatencyTable } from '../hardware/latencyTable';
import { HalocError } from '../errors';
import { layerSpeedups } from '../hardware/layerSpeedups';
import { minCpuShare } from '../hardware/timeSession';
import { readOnnxModel } from '../onnx/onnxModel';
import { renderTable } from '../format';
import { parseBatch, UsageError, type CliCommand, type CliInvocation } from './cliArgs';

/** The profile command. */
export const profileCommand: CliCommand = {
  name: 'profile',
  usage: `haloc profile <model.onnx> [--batch N] [--threads T] [--provider cpu|cuda] [--granularity G] [--target ${analyticProfiles.map((p) => p.id).join('|')}|<table.json>] [-o table.json] [--json] | haloc profile --check <model.onnx> [--plan p] [--batch N] [--json]`,
  summary: 'latency tables: measure every compressible layer at its candidate ranks on this machine (or estimate on a target profile); --check compares predicted and measured whole-model latency',
  options: {
    batch: { type: 'string' },
    threads: { type: 'string' },
    provider: { type: 'string' },
    granularity: { type: 'string' },
    target: { type: 'string' },
    output: { type: 'string', short: 'o' },
    check: { type: 'boolean' },
    plan: { type: 'string' },
    json: { type: 'boolean' },
    'no-cache': { type: 'boolean' },
  },
  async run(invocation) {
    const { positionals, values } = invocation;
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('profile takes exactly one model file');
    const provider = (values.provider ?? 'cpu') as string;
    if (provider !== 'cpu' && provider !== 'cuda') throw new UsageError(`--provider must be cpu or cuda, not '${provider}'`);
    const threads = positiveInt(values.threads, 'threads') ?? os.cpus().length;
    const granularity = positiveInt(values.granularity, 'granularity');
    const model = readOnnxModel(file);
    const analysis = await analyzeModel(model, { batch: parseBatch(values.batch) });
    const cache = values['no-cache'] === true ? { cacheDir: null } : {};
    if (values.check === true) return runCheck(invocation, model, analysis, { provider, threads, granularity, ...cache });
    const target = typeof values.target === 'string' ? values.target : undefined;
    const built = target === undefined ? await buildLatencyTable(model, analysis, { provider, threads, granularity, ...cache }) : tableForTarget(target, model, analysis, granularity);
    if (typeof values.output === 'string') writeLatencyTable(values.output, built.table);
    const speedups = layerSpeedups(analysis.layers, built.table, built.layerKeys);
    if (values.json === true) return invocation.print(JSON.stringify({ table: built.table, layerKeys: built.layerKeys, speedups }, null, 2));
    const label = built.table.kind === 'estimated' ? 'estimated' : target?.endsWith('.json') ? 'measured elsewhere' : 'measured';
    const rows = speedups.map((s) => [
      s.name,
      s.originalMs.toFixed(3),
      s.bestRank === null ? '-' : String(s.bestRank),
      s.bestSpeedup === null ? '-' : `${s.bestSpeedup.toFixed(2)}x`,
      s.fasterUpToRank === null ? '-' : String(s.fasterUpToRank),
      s.fewerMacsNotFaster ? 'fewer MACs, not faster: not worth compressing here' : '',
    ]);
    invocation.print([
      `${analysis.model.name}, batch ${analysis.model.batch}, inputs ${analysis.model.inputs.map((i) => formatDims(i.shape)).join(', ')}`,
      `latency (${label}): ${built.table.source}`,
      `rank granularity: ${built.table.granularity}; ${built.measuredLayers} layer shapes measured now, ${built.cachedLayers} from the cache`,
      ...[busyTableNote(built)].filter((n): n is string => n !== null).map((n) => `warning: ${n}`),
      '',
      renderTable(['layer', `>original ms (${label})`, '>fastest rank', '>speedup', '>faster up to rank', 'note'], rows),
      ...(typeof values.output === 'string' ? ['', `wrote ${values.output}`] : []),
    ].join('\n'));
  },
};

/** A table from a shipped profile id, or from a table file measured elsewhere (`haloc profile -o`). */
function tableForTarget(target: string, model: ReturnType<typeof readOnnxModel>, analysis: Awaited<ReturnType<typeof analyzeModel>>, granularity: number | undefined): Omit<TableBuild, 'cacheFile'> {
  const profile = findProfile(target);
  if (profile) return { ...estimateLatencyTable(model, analysis, profile, granularity), measuredLayers: 0, cachedLayers: 0, busyLayers: [], lowestCpuShare: 1 };
  if (!target.endsWith('.json')) throw new UsageError(`unknown --target '${target}'; give a shipped profile (${analyticProfiles.map((p) => p.id).join(', ')}) or a table file (.json)`);
  const table = readLatencyTable(target);
  const layerKeys = Object.fromEntries(analysis.layers.filter((l) => l.compressible).map((l) => [l.name, layerKey(model, l)]));
  const missing = Object.entries(layerKeys).filter(([, key]) => !table.layers[key]).map(([name]) => name);
  if (missing.length > 0) {
    const batch = table.fingerprint && table.fingerprint.batch !== analysis.model.batch ? ` (the table was measured at batch ${table.fingerprint.batch}; this analysis uses batch ${analysis.model.batch})` : '';
    throw new HalocError('BAD_ARGUMENT', `${target}: no entry for ${missing.length} layer(s) of ${analysis.model.name}, e.g. '${missing[0]}'${batch}; measure the table for this model with haloc profile`);
  }
  return { table, layerKeys, measuredLayers: 0, cachedLayers: 0, busyLayers: [], lowestCpuShare: 1 };
}

async function runCheck(invocation: CliInvocation, model: ReturnType<typeof readOnnxModel>, analysis: Awaited<ReturnType<typeof analyzeModel>>, settings: { provider: ExecutionProvider; threads: number; granularity: number | undefined; cacheDir?: null }): Promise<void> {
  const plan = typeof invocation.values.plan === 'string' ? readRankPlan(invocation.values.plan) : undefined;
  const built = await buildLatencyTable(model, analysis, settings);
  const check = await checkLatency(model, analysis, built.table, built.layerKeys, { threads: settings.threads, provider: settings.provider }, plan?.ranks);
  const warnings = [
    busyTableNote(built),
    check.cpuShare < minCpuShare ? `the whole models were timed while other processes held the cores (CPU share as low as ${(100 * check.cpuShare).toFixed(0)}%): measured and predicted may both be off; check again on a quiet machine` : null,
    driftNote(check.tableDriftPct, built.cacheFile),
  ].filter((w): w is string => w !== null);
  if (invocation.values.json === true) return invocation.print(JSON.stringify({ original: check.original, ...(check.compressed ? { compressed: check.compressed } : {}), untouchedMs: check.untouchedMs, tableDriftPct: check.tableDriftPct, batch: check.batch, warnings }, null, 2));
  invocation.print([renderCheck(check), ...warnings.map((w) => `warning: ${w}`)].join('\n'));
}

/** Beyond this the machine's speed moved more than it usually does between a table and its check here (22 of 24 drifts in one bench run within 12%). */
const driftWarningPct = 10;

/** What a user is told when the machine runs the layers at another speed than when the table was measured; null within driftWarningPct. */
export function driftNote(tableDriftPct: number, cacheFile: string | null): string | null {
  if (!(Math.abs(tableDriftPct) > driftWarningPct)) return null;
  const how = tableDriftPct > 0 ? 'slower' : 'faster';
  const renew = cacheFile ? `; to measure it again, delete ${cacheFile}` : '';
  return `the table was measured while this machine ran the layers ${Math.abs(tableDriftPct).toFixed(0)}% ${how} than now: its predictions are off by about as much (a search's ranks depend on the ratios between entries, which move less)${renew}`;
}

/** The human-readable check. */
export function renderCheck(check: LatencyCheck): string {
  const signed = (pct: number): string => `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
  const row = (name: string, c: LatencyComparison): string[] => [name, c.measuredMs.toFixed(3), c.predictedMs.toFixed(3), signed(c.errorPct), c.retimed.predictedMs.toFixed(3), signed(c.retimed.errorPct)];
  return [
    `batch ${check.batch}: predicted = measured untouched part (${check.untouchedMs.toFixed(3)} ms) + the layers' entries, from the table and timed again now; measured = end to end in onnxruntime-node`,
    renderTable(['model', '>measured ms', '>predicted ms (table)', '>error', '>predicted ms (entries now)', '>error'], [row('original', check.original), ...(check.compressed ? [row('compressed', check.compressed)] : [])]),
    `the table's entries against the same entries timed now: ${signed(check.tableDriftPct)}`,
  ].join('\n');
}

function positiveInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, not '${String(value)}'`);
  return n;
}
