// Topological order of a graph's nodes, with the checks that catch damaged files: every input must be
// produced by a node, an initializer or a graph input, and the graph must have no cycle.
import { HalocError } from '../errors';
import type { onnx } from '../onnx/proto';

/** Node indices in an order where every node comes after the producers of its inputs. */
export function topologicalOrder(graph: onnx.IGraphProto, available: ReadonlySet<string>): number[] {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => node.output?.forEach((name) => name && producer.set(name, index)));
  const pending = new Array<number>(nodes.length).fill(0);
  const consumers = new Map<number, number[]>();
  nodes.forEach((node, index) => {
    for (const name of new Set(node.input ?? [])) {
      if (!name || available.has(name)) continue;
      const from = producer.get(name);
      if (from === undefined) {
        throw new HalocError('CORRUPT', `node '${nodeLabel(node, index)}' uses tensor '${name}', which no node, initializer or graph input provides (the file may be truncated or damaged)`);
      }
      pending[index] = (pending[index] ?? 0) + 1;
      const list = consumers.get(from);
      if (list) list.push(index);
      else consumers.set(from, [index]);
    }
  });
  const ready = nodes.map((_, i) => i).filter((i) => pending[i] === 0);
  const order: number[] = [];
  for (let cursor = 0; cursor < ready.length; cursor++) {
    const index = ready[cursor] ?? 0;
    order.push(index);
    for (const next of consumers.get(index) ?? []) {
      pending[next] = (pending[next] ?? 0) - 1;
      if (pending[next] === 0) ready.push(next);
    }
  }
  if (order.length < nodes.length) {
    const stuck = nodes.findIndex((_, i) => (pending[i] ?? 0) > 0);
    throw new HalocError('CORRUPT', `the graph has a cycle through node '${nodeLabel(nodes[stuck] ?? {}, stuck)}'`);
  }
  return order;
}

/** A node's name, or `OpType#index` when it has none. */
export function nodeLabel(node: onnx.INodeProto, index: number): string {
  return node.name || `${node.opType ?? 'node'}#${index}`;
}

/**
 * The nodes `targets` depend on, as indices in `order` (a topological order of `nodes`; default their
 * stored order), and every tensor name those nodes read or the targets name.
 */
export function nodesNeededFor(nodes: readonly onnx.INodeProto[], targets: readonly string[], order: readonly number[] = nodes.map((_, i) => i)): { indices: number[]; tensors: Set<string> } {
  const tensors = new Set(targets);
  const indices: number[] = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const index = order[k]!;
    const node = nodes[index]!;
    if (!(node.output ?? []).some((o) => tensors.has(o))) continue;
    indices.push(index);
    for (const input of node.input ?? []) if (input) tensors.add(input);
  }
  return { indices: indices.reverse(), tensors };
}
