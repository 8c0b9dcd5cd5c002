// Rank plans: which rank each layer gets ("keep" leaves it). Read from and written to
// `<model>.ranks.json`, validated against the schema and then against the model's analysis, with one
// message per wrong entry.
import * as fs from 'node:fs';
import Ajv from 'ajv';
import { errorMessage, HalocError } from '../errors';
import type { ModelAnalysis } from '../graph/analyzeModel';
import { writeFileAtomic } from '../io/atomicWrite';
import { rankPlanSchema } from './rankPlanSchema';

/** A layer's setting: a rank, or keep it as it is. */
export type LayerRank = number | 'keep';

/** How a plan was made. */
export interface PlanSource {
  readonly kind: 'manual' | 'uniform' | 'energy' | 'haloc' | 'fast' | 'flops-haloc';
  readonly description?: string;
  readonly createdAt?: string;
  readonly tool?: string;
}

/** A rank plan as stored in a `.ranks.json` file. */
export interface RankPlan {
  readonly model?: string;
  readonly source?: PlanSource;
  readonly ranks: Readonly<Record<string, LayerRank>>;
}

const validateSchema = new Ajv({ allErrors: true, strict: false }).compile(rankPlanSchema);

/**
 * Checks an object against the plan schema; throws one HalocError listing every problem. A wrong
 * value of a single rank entry (0, 2.5, "half") is left to planProblems / checkPlan, which must run
 * before the plan is used: that way one message lists every wrong entry, whatever is wrong with it.
 */
export function parseRankPlan(value: unknown, origin: string): RankPlan {
  if (validateSchema(value)) return value as unknown as RankPlan;
  const problems = new Map<string, string>();
  for (const error of validateSchema.errors ?? []) {
    const where = error.instancePath || '/';
    if (/^\/ranks\/./.test(where)) continue;
    if (!problems.has(where)) problems.set(where, `${where} ${error.message ?? 'is invalid'}`);
  }
  if (problems.size === 0) return value as RankPlan;
  throw new HalocError('BAD_ARGUMENT', `${origin}: invalid rank plan: ${[...problems.values()].join('; ')}`);
}

/** Reads and schema-checks a plan file. */
export function readRankPlan(filePath: string): RankPlan {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new HalocError('NOT_FOUND', `${filePath}: cannot read the plan (${errorMessage(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HalocError('BAD_ARGUMENT', `${filePath}: not valid JSON (${errorMessage(error)})`);
  }
  return parseRankPlan(json, filePath);
}

/** Writes a plan atomically as pretty JSON. */
export function writeRankPlan(filePath: string, plan: RankPlan): void {
  writeFileAtomic(filePath, [Buffer.from(`${JSON.stringify(plan, null, 2)}\n`, 'utf8')]);
}

/** Problems of a plan against a model: unknown layers, layers that cannot be factorized, ranks out of range. */
export function planProblems(plan: RankPlan, analysis: ModelAnalysis): string[] {
  const layers = new Map(analysis.layers.map((l) => [l.name, l]));
  const problems: string[] = [];
  for (const [name, rank] of Object.entries(plan.ranks as Readonly<Record<string, unknown>>)) {
    const layer = layers.get(name);
    if (!layer) problems.push(`'${name}': no such layer in ${analysis.model.name}`);
    else if (rank === 'keep') continue;
    else if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) problems.push(`'${name}': ${JSON.stringify(rank)} is not a rank: give an integer >= 1 or "keep"`);
    else if (!layer.compressible) problems.push(`'${name}': cannot be factorized (${layer.reason ?? 'not compressible'}); use "keep"`);
    else if (rank > (layer.maxRank ?? 0)) problems.push(`'${name}': rank ${rank} is above the maximum useful rank ${layer.maxRank}`);
  }
  return problems;
}

/** Throws a HalocError with every problem of the plan against the model, if any. */
export function checkPlan(plan: RankPlan, analysis: ModelAnalysis, origin: string): void {
  const problems = planProblems(plan, analysis);
  if (problems.length > 0) throw new HalocError('BAD_ARGUMENT', `${origin}: ${problems.length} wrong entr${problems.length === 1 ? 'y' : 'ies'}: ${problems.join('; ')}`);
}
