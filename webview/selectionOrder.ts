// Keyboard navigation of the Pareto chart: the order the arrow keys move the selection along (by x
// on the current axis, then group, then id) and the point a key moves to. Pure: no DOM.
import type { PointGroup } from '../engine/search/resultView';
import { xValue } from './chartOptions';
import type { PanelPoint, XAxis } from './protocol';

const groupRank: Readonly<Record<PointGroup, number>> = { front: 0, uniform: 1, energy: 2, flops: 3 };

/** The point ids in keyboard order: ascending x, then group (front first), then id. */
export function keyboardOrder(points: readonly PanelPoint[], axis: XAxis): string[] {
  return [...points]
    .sort((a, b) => xValue(a, axis) - xValue(b, axis) || groupRank[a.group] - groupRank[b.group] || a.id.localeCompare(b.id))
    .map((p) => p.id);
}

/** The keys that move the selection. */
export const navigationKeys: readonly string[] = ['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp', 'Home', 'End'];

/** The id a key moves the selection to, or undefined when the key does not move it (or the order is empty). */
export function nextSelection(order: readonly string[], currentId: string | null, key: string): string | undefined {
  if (order.length === 0) return undefined;
  const at = currentId === null ? -1 : order.indexOf(currentId);
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return order[at < 0 ? 0 : Math.min(at + 1, order.length - 1)];
    case 'ArrowLeft':
    case 'ArrowUp':
      return order[at < 0 ? order.length - 1 : Math.max(at - 1, 0)];
    case 'Home':
      return order[0];
    case 'End':
      return order[order.length - 1];
    default:
      return undefined;
  }
}
