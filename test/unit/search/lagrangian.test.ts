// The Lagrangian allocator on hand-made options: the sweep's points against brute force (each is the
// least error at its cost, none is dominated), monotone along the front, the same choices as
// choiceAtLambda at the multipliers in between, zero-error options taken first, budgets, and the
// spread of evaluated points.
import * as assert from 'node:assert/strict';
import { spreadPoints } from '../../../engine/search/frontSelection';
import { choiceAtLambda, lagrangianFront, pointWithinBudget, type AllocatorLayer } from '../../../engine/search/lagrangian';
import { seededUniform } from '../../../engine/random';

/** Random layers: keep (no error, full cost) and ranks whose error falls and cost rises with the rank (with noise in cost). */
function randomLayers(count: number, seed: number): AllocatorLayer[] {
  const random = seededUniform(seed);
  return Array.from({ length: count }, (_, l) => {
    const ranks = 2 + Math.floor(random() * 4);
    const options = [{ rank: 'keep' as const, cost: 1 + random(), error: 0 }];
    for (let r = 1; r <= ranks; r++) options.push({ rank: r as never, cost: (0.9 * r) / ranks + 0.2 * random(), error: (1 - r / (ranks + 1)) ** 2 * (0.5 + random()) });
    return { name: `layer${l}`, options };
  });
}

/** Every combination of options: [cost, error]. */
function allCombinations(layers: readonly AllocatorLayer[]): [number, number][] {
  let combos: [number, number][] = [[0, 0]];
  for (const layer of layers) combos = combos.flatMap(([c, e]) => layer.options.map((o): [number, number] => [c + o.cost, e + o.error]));
  return combos;
}

describe('search: Lagrangian allocation', () => {
  it('gives points that no combination dominates, with cost falling and error rising along the front', () => {
    for (const seed of [1, 2, 3]) {
      const layers = randomLayers(4, seed);
      const front = lagrangianFront(layers);
      const combos = allCombinations(layers);
      assert.ok(front.length > 4, `seed ${seed}: a front of ${front.length} points`);
      for (const [i, point] of front.entries()) {
        const dominating = combos.find(([c, e]) => c <= point.cost + 1e-12 && e < point.error - 1e-9);
        assert.equal(dominating, undefined, `seed ${seed}: point ${i} (cost ${point.cost}, error ${point.error}) is dominated by ${dominating?.join(', ')}`);
        const previous = front[i - 1];
        if (!previous) continue;
        assert.ok(point.cost < previous.cost, `seed ${seed}: cost falls at point ${i}`);
        assert.ok(point.error >= previous.error - 1e-12, `seed ${seed}: error rises at point ${i}`);
        assert.ok(point.lambda >= previous.lambda - 1e-12, `seed ${seed}: lambda grows at point ${i}`);
      }
      const cheapest = Math.min(...combos.map(([c]) => c));
      assert.ok(Math.abs((front.at(-1)?.cost ?? NaN) - cheapest) < 1e-12, 'the sweep ends at the cheapest setting');
      assert.equal(front[0]?.error, 0, 'it starts at no error');
    }
  });

  it('makes the same choices as the per-layer argmin between consecutive multipliers', () => {
    const layers = randomLayers(5, 7);
    const front = lagrangianFront(layers);
    for (let i = 0; i + 1 < front.length; i++) {
      const [here, next] = [front[i]!, front[i + 1]!];
      if (next.lambda - here.lambda < 1e-9) continue; // several moves at one multiplier
      const lambda = (here.lambda + next.lambda) / 2;
      assert.deepEqual(choiceAtLambda(layers, lambda), [...here.choice], `point ${i} at lambda ${lambda}`);
    }
  });

  it('takes a free saving (an option with no error and less cost) before anything that costs error', () => {
    const layers: AllocatorLayer[] = [
      { name: 'exactlyLowRank', options: [{ rank: 'keep', cost: 1, error: 0 }, { rank: 2, cost: 0.3, error: 1e-14 }, { rank: 4, cost: 0.5, error: 1e-14 }] },
      { name: 'fullRank', options: [{ rank: 'keep', cost: 1, error: 0 }, { rank: 2, cost: 0.3, error: 0.5 }, { rank: 4, cost: 0.5, error: 0.1 }] },
    ];
    const front = lagrangianFront(layers);
    assert.deepEqual(front.map((p) => p.choice), [[0, 0], [1, 0], [1, 2], [1, 1]]);
    assert.deepEqual(choiceAtLambda(layers, 1e-9), [1, 0], 'a tiny multiplier compresses only the free layer');
    assert.equal(pointWithinBudget(front, 1.3), front[1], 'budget 1.3: the free saving alone');
    assert.equal(pointWithinBudget(front, 0.9), front[2], 'budget 0.9: the full-rank layer at rank 4 too');
    assert.equal(pointWithinBudget(front, 0.1), undefined, 'no setting is that cheap');
  });

  it('spreads the evaluated points across the cost range, keeping the one asked for and leaving out "change nothing"', () => {
    const front = lagrangianFront(randomLayers(6, 4));
    const picked = spreadPoints(front, 5, front[3]);
    assert.ok(picked.length >= 5 && picked.length <= 6, `${picked.length} points`);
    assert.ok(picked.includes(front[3]!), 'the requested point is kept');
    assert.ok(!picked.some((p) => p.choice.every((c) => c === 0)), 'the all-keep point is left out');
    assert.equal(picked.at(-1), front.at(-1), 'the cheapest point is in');
    for (let i = 1; i < picked.length; i++) assert.ok(picked[i]!.cost < picked[i - 1]!.cost, 'ordered by falling cost');
  });
});
