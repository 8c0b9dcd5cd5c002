// MACs of one node: Conv = output elements x Cin/group x kernel elements; ConvTranspose = input
// elements x Cout/group x kernel elements; Gemm / MatMul = M x K x N (times MatMul's batch). Other
// ops with a shape rule cost 0 MACs; ops without one are unknown (null), never silently 0.
import { attributeInt } from '../onnx/attributes';
import type { onnx } from '../onnx/proto';
import { shapeFunctions } from './shapeFunctions';
import { staticProduct, type Dim, type ValueInfo } from './valueInfo';

/** MACs of a node, or null with the reason when they cannot be counted. */
export type MacCount = { readonly macs: number } | { readonly macs: null; readonly reason: string };

/** Counts the MACs of a node from the inferred info of its inputs and outputs. */
export function countMacs(node: onnx.INodeProto, inputs: readonly (ValueInfo | undefined)[], outputs: readonly (ValueInfo | undefined)[]): MacCount {
  const op = node.opType ?? '';
  const dims = (info: ValueInfo | undefined): readonly Dim[] | undefined => info?.dims;
  const product = (list: readonly Dim[] | undefined): number | undefined => staticProduct(list);
  const unresolved = { macs: null, reason: 'shape not resolved' } as const;
  switch (op) {
    case 'Conv':
    case 'ConvInteger': {
      const outputElements = product(dims(outputs[0]));
      const weight = dims(inputs[1]);
      const perOutput = product(weight?.slice(1));
      return outputElements !== undefined && perOutput !== undefined ? { macs: outputElements * perOutput } : unresolved;
    }
    case 'ConvTranspose': {
      const inputElements = product(dims(inputs[0]));
      const perInput = product(dims(inputs[1])?.slice(1));
      return inputElements !== undefined && perInput !== undefined ? { macs: inputElements * perInput } : unresolved;
    }
    case 'Gemm': {
      const a = dims(inputs[0]);
      const inner = a?.[attributeInt(node, 'transA', 0) ? 0 : 1];
      const outputElements = product(dims(outputs[0]));
      return typeof inner === 'number' && outputElements !== undefined ? { macs: outputElements * inner } : unresolved;
    }
    case 'MatMul': {
      const a = dims(inputs[0]);
      const inner = a?.[a.length - 1];
      const outputElements = product(dims(outputs[0]));
      return typeof inner === 'number' && outputElements !== undefined ? { macs: outputElements * inner } : unresolved;
    }
    default:
      if (node.domain && node.domain !== 'ai.onnx') return { macs: null, reason: `custom op '${node.domain}.${op}': cost unknown` };
      return shapeFunctions[op] ? { macs: 0 } : { macs: null, reason: `op '${op}': cost unknown` };
  }
}
