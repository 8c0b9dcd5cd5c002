// The problems of a plan file's entries against its model and the selected search result: unknown
// layers, layers that cannot be factorized, values that are not ranks, ranks above the layer's maximum,
// ranks off the target's rank step, and ranks slower than the original layer on the target. Each
// problem carries the fixes that apply (the selected point's rank, "keep", or removing the entry).
// Pure (no vscode): the plan-file glue turns these into diagnostics and quick fixes.
import type { LayerRank } from '../engine/factorize/rankPlan';
import { latencyAtRank } from '../engine/hardware/latencyTable';
import type { LayerView } from '../engine/search/resultView';
import type { PlanEntry } from './planText';

/** Kinds of plan problems (the diagnostic's code). */
export type PlanProblemCode = 'unknown-layer' | 'not-compressible' | 'not-a-rank' | 'above-max' | 'off-step' | 'slower';

/** One problem of one entry. */
export interface PlanProblem {
  readonly entry: PlanEntry;
  readonly code: PlanProblemCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** The selected point's setting of the layer, when it differs from the entry's. */
  readonly suggested: LayerRank | undefined;
  /** True when "keep this layer" fixes it; false for an unknown layer (remove the entry instead). */
  readonly keepFixes: boolean;
}

/** What the analysis says of a layer. */
export interface PlanLayerFacts {
  readonly compressible: boolean;
  readonly reason: string | null;
  readonly maxRank: number | null;
}

/** What a plan is checked against. */
export interface PlanCheckContext {
  /** The model's layers by name (from its analysis); undefined when the model could not be analysed. */
  readonly layers: ReadonlyMap<string, PlanLayerFacts> | undefined;
  readonly modelName: string;
  /** The selected search result's layer views by name (empty without a result). */
  readonly views: ReadonlyMap<string, LayerView>;
  readonly target: string;
  /** The selected point's ranks (undefined without a result). */
  readonly suggested: Readonly<Record<string, LayerRank>> | undefined;
}

/** Every problem of the plan's entries. */
export function planProblems(entries: readonly PlanEntry[], context: PlanCheckContext): PlanProblem[] {
  return entries.flatMap((entry) => entryProblems(entry, context));
}

function entryProblems(entry: PlanEntry, context: PlanCheckContext): PlanProblem[] {
  const facts = context.layers?.get(entry.name);
  const view = context.views.get(entry.name);
  const suggestion = context.suggested?.[entry.name];
  const suggested = suggestion !== undefined && suggestion !== entry.value ? suggestion : undefined;
  const problem = (code: PlanProblemCode, severity: PlanProblem['severity'], message: string, keepFixes = true): PlanProblem => ({ entry, code, severity, message, suggested, keepFixes });
  if (context.layers && !facts) return [problem('unknown-layer', 'error', `'${entry.name}': no such layer in ${context.modelName}`, false)];
  const value = entry.value;
  if (value === 'keep') return [];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return [problem('not-a-rank', 'error', `'${entry.name}': ${JSON.stringify(value)} is not a rank: give an integer >= 1 or "keep"`)];
  if (facts && !facts.compressible) return [problem('not-compressible', 'error', `'${entry.name}' cannot be factorized (${facts.reason ?? 'not compressible'}): use "keep"`)];
  const maxRank = facts?.maxRank ?? view?.maxRank ?? null;
  if (maxRank !== null && value > maxRank) return [problem('above-max', 'error', `'${entry.name}': rank ${value} is above the layer's maximum useful rank ${maxRank}`)];
  if (!view) return [];
  const problems: PlanProblem[] = [];
  const kind = view.latencyKind === 'estimated' ? 'estimated' : 'measured';
  if (view.granularity > 1 && value % view.granularity !== 0) {
    const below = Math.floor(value / view.granularity) * view.granularity;
    const above = below + view.granularity;
    const options = [below, above].filter((r) => r >= 1 && r <= view.maxRank);
    problems.push(problem('off-step', 'warning', `'${entry.name}': rank ${value} is not a multiple of the rank step ${view.granularity} on ${context.target}: it costs the time of the next step${options.length > 0 ? ` (use ${options.join(' or ')})` : ''}`));
  }
  const ms = latencyAtRank({ op: view.op, originalMs: view.originalMs, granularity: view.granularity, ranks: view.latency }, value);
  if (ms >= view.originalMs) {
    problems.push(problem('slower', 'warning', `'${entry.name}': rank ${value} is not faster than the original layer on ${context.target} (${ms.toFixed(3)} ms against ${view.originalMs.toFixed(3)} ms, ${kind})`));
  }
  return problems;
}
