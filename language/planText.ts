// Plan files (`<model>.ranks.json`) as text: where each layer entry is, which model the plan is for,
// and the plan after setting one layer's rank. Pure (no vscode), for the plan-file features and tests.
import * as path from 'node:path';
import type { LayerRank, RankPlan } from '../engine/factorize/rankPlan';
import { findNodeAtLocation, getNodeValue, parseTree, type Node, type ParseError } from 'jsonc-parser';

/** Suffix of plan files. */
export const planSuffix = '.ranks.json';

/** One entry of a plan's `ranks`: the layer name, its value as written, and where both are. */
export interface PlanEntry {
  readonly name: string;
  readonly value: unknown;
  readonly keyOffset: number;
  readonly keyEnd: number;
  readonly valueOffset: number;
  readonly valueEnd: number;
}

/** What a plan file's text holds: its entries and its `model` field (undefined when absent). */
export interface PlanDocument {
  readonly entries: readonly PlanEntry[];
  readonly model: string | undefined;
  /** Where the `model` value is, or the whole text when there is none. */
  readonly modelOffset: number;
  readonly modelEnd: number;
}

/** True for a plan file's path or name. */
export function isPlanPath(filePath: string): boolean {
  return filePath.endsWith(planSuffix) && path.basename(filePath).length > planSuffix.length;
}

/** The plan file beside a model: `dir/resnet20.onnx` -> `dir/resnet20.ranks.json`. */
export function planPathOf(modelPath: string): string {
  return path.join(path.dirname(modelPath), `${path.basename(modelPath).replace(/\.onnx$/i, '')}${planSuffix}`);
}

/** The model a plan is for: its `model` field (relative to the plan's folder), else `<name>.onnx` beside it. */
export function modelPathOfPlan(planPath: string, modelField: string | undefined): string {
  if (modelField) return path.resolve(path.dirname(planPath), modelField);
  return path.join(path.dirname(planPath), `${path.basename(planPath).slice(0, -planSuffix.length)}.onnx`);
}

/** The entries and model of a plan's text; undefined when the text is not a JSON object. */
export function readPlanText(text: string): PlanDocument | undefined {
  const tree = parseStrictJson(text);
  if (tree?.type !== 'object') return undefined;
  const ranks = findNodeAtLocation(tree, ['ranks']);
  const model = findNodeAtLocation(tree, ['model']);
  const entries = ranks?.type === 'object' ? (ranks.children ?? []).flatMap((property): PlanEntry[] => {
    const [key, value] = property.children ?? [];
    return key && value ? [{ name: key.value as string, value: getNodeValue(value), keyOffset: key.offset, keyEnd: key.offset + key.length, valueOffset: value.offset, valueEnd: value.offset + value.length }] : [];
  }) : [];
  return {
    entries,
    model: model?.type === 'string' ? model.value as string : undefined,
    modelOffset: model ? model.offset : 0,
    modelEnd: model ? model.offset + model.length : Math.min(1, text.length),
  };
}

/** The tree of strict JSON text (no comments, no trailing commas); undefined on a syntax error, which VS Code's JSON service reports. */
function parseStrictJson(text: string): Node | undefined {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  return errors.length === 0 ? tree : undefined;
}

/** The text range to delete to remove entry `index` (with its comma) from the plan's `ranks`. */
export function entryRemovalRange(entries: readonly PlanEntry[], index: number): { readonly start: number; readonly end: number } | undefined {
  const entry = entries[index];
  if (!entry) return undefined;
  const next = entries[index + 1];
  if (next) return { start: entry.keyOffset, end: next.keyOffset };
  const previous = entries[index - 1];
  return previous ? { start: previous.valueEnd, end: entry.valueEnd } : { start: entry.keyOffset, end: entry.valueEnd };
}

/** The plan with one layer set to `rank`; a new plan is made by hand ('manual'), an edited one says so. */
export function withLayerRank(plan: RankPlan | undefined, layer: string, rank: LayerRank, modelField: string, now: Date = new Date()): RankPlan {
  if (!plan) return { model: modelField, source: { kind: 'manual', description: 'made in the editor', createdAt: now.toISOString(), tool: 'haloc-vscode' }, ranks: { [layer]: rank } };
  const source = plan.source?.kind === 'manual' || !plan.source
    ? plan.source ?? { kind: 'manual' as const, description: 'edited in the editor' }
    : { kind: 'manual' as const, description: `from a '${plan.source.kind}' plan${plan.source.description ? ` (${plan.source.description})` : ''}, then edited in the editor`, createdAt: now.toISOString(), tool: 'haloc-vscode' };
  return { ...plan, model: plan.model ?? modelField, source, ranks: { ...plan.ranks, [layer]: rank } };
}

/** The JSON text of a plan value as written in a file (a rank or "keep"). */
export function rankJson(rank: LayerRank): string {
  return JSON.stringify(rank);
}
