// Rank allocation against a cost (latency or MACs) by Lagrangian relaxation: for a multiplier lambda
// every layer independently takes the option minimising error + lambda x cost. Sweeping lambda from 0
// up walks the lower convex hull of (total cost, total error): each layer's options are reduced to
// their own lower hull, whose segments (one per move to a cheaper option) are taken in order of
// slope across all layers. Every breakpoint of the sweep is one point of the front, in one pass.
import type { LayerRank } from '../factorize/rankPlan';

/** One setting of a layer: its cost (ms or MACs) and its weighted error (additive across layers). */
export interface LayerOption {
  readonly rank: LayerRank;
  readonly cost: number;
  readonly error: number;
}

/** A layer and its options. */
export interface AllocatorLayer {
  readonly name: string;
  readonly options: readonly LayerOption[];
}

/** A point of the front: the option index of every layer, its totals, and the lambda where it starts being optimal. */
export interface AllocatedPoint {
  readonly choice: readonly number[];
  readonly cost: number;
  readonly error: number;
  readonly lambda: number;
}

interface Move {
  readonly layer: number;
  readonly to: number;
  readonly slope: number;
  readonly order: number;
}

/** The whole front: from the least error (lambda = 0) to the least cost (lambda large), cost decreasing, error increasing. */
export function lagrangianFront(layers: readonly AllocatorLayer[]): AllocatedPoint[] {
  const choice = layers.map((l) => startOption(l.options));
  const moves = layers.flatMap((l, index) => hullMoves(l.options, choice[index] ?? 0, index));
  moves.sort((a, b) => a.slope - b.slope || a.layer - b.layer || a.order - b.order);
  const total = (pick: (o: LayerOption) => number): number => choice.reduce((sum, c, i) => sum + pick(layers[i]?.options[c] ?? { rank: 'keep', cost: 0, error: 0 }), 0);
  const points: AllocatedPoint[] = [{ choice: [...choice], cost: total((o) => o.cost), error: total((o) => o.error), lambda: 0 }];
  for (const move of moves) {
    choice[move.layer] = move.to;
    points.push({ choice: [...choice], cost: total((o) => o.cost), error: total((o) => o.error), lambda: Math.max(0, move.slope) });
  }
  return points;
}

/** Per layer, the option minimising error + lambda x cost (ties: the cheaper one). */
export function choiceAtLambda(layers: readonly AllocatorLayer[], lambda: number): number[] {
  return layers.map((layer) => {
    let best = 0;
    layer.options.forEach((o, i) => {
      const current = layer.options[best];
      if (!current) return;
      const value = o.error + lambda * o.cost;
      const bestValue = current.error + lambda * current.cost;
      if (value < bestValue - 1e-12 * Math.max(1, Math.abs(bestValue)) || (Math.abs(value - bestValue) <= 1e-12 * Math.max(1, Math.abs(bestValue)) && o.cost < current.cost)) best = i;
    });
    return best;
  });
}

/** The first point (least error) whose cost is within `budget`, or undefined when none is. */
export function pointWithinBudget(points: readonly AllocatedPoint[], budget: number): AllocatedPoint | undefined {
  return points.find((p) => p.cost <= budget + 1e-12);
}

/** The option with the least error (ties: the cheapest). */
function startOption(options: readonly LayerOption[]): number {
  let best = 0;
  options.forEach((o, i) => {
    const current = options[best];
    if (current && (o.error < current.error || (o.error === current.error && o.cost < current.cost))) best = i;
  });
  return best;
}

/** The moves along a layer's lower hull from `start` to its cheapest option, slopes non-decreasing. */
function hullMoves(options: readonly LayerOption[], start: number, layer: number): Move[] {
  const moves: Move[] = [];
  let current = start;
  let lastSlope = 0;
  for (;;) {
    const from = options[current];
    if (!from) break;
    let bestSlope = Infinity;
    let next = -1;
    options.forEach((o, i) => {
      if (o.cost >= from.cost) return;
      const slope = (o.error - from.error) / (from.cost - o.cost);
      // The least error per unit of cost saved; an equal slope goes to the cheaper option.
      if (slope < bestSlope || (slope === bestSlope && o.cost < (options[next]?.cost ?? Infinity))) [bestSlope, next] = [slope, i];
    });
    if (next < 0) break;
    // Rounding can make a hull's slopes dip by an ulp; the order of a layer's own moves must hold.
    lastSlope = Math.max(lastSlope, bestSlope);
    moves.push({ layer, to: next, slope: lastSlope, order: moves.length });
    current = next;
  }
  return moves;
}
