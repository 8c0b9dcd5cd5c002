// Which breakpoints of the allocator's sweep are evaluated: a few, spread evenly across the cost range
// of the front (the sweep yields one point per hull segment: often a hundred or more).
import type { AllocatedPoint } from './lagrangian';

/**
 * About `count` points spread evenly in cost from the least-error point to the cheapest one, plus
 * `include` (e.g. the budget's point); points that change nothing (every layer at option 0, which
 * must be "keep") are left out. Ordered as the sweep goes: cost decreasing.
 */
export function spreadPoints(points: readonly AllocatedPoint[], count: number, include?: AllocatedPoint): AllocatedPoint[] {
  const useful = points.filter((p) => p.choice.some((c) => c !== 0));
  const chosen = new Set<AllocatedPoint>();
  const first = useful[0];
  const last = useful[useful.length - 1];
  if (first && last && count > 0) {
    if (useful.length <= count) useful.forEach((p) => chosen.add(p));
    for (let t = 0; t < count && useful.length > count; t++) {
      const target = first.cost - ((first.cost - last.cost) * t) / Math.max(1, count - 1);
      chosen.add(useful.reduce((best, p) => (Math.abs(p.cost - target) < Math.abs(best.cost - target) ? p : best), first));
    }
  }
  if (include && include.choice.some((c) => c !== 0)) chosen.add(include);
  return useful.filter((p) => chosen.has(p));
}
