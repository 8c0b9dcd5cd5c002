// Brings a node of an older opset to the form of the training graph's opset (17): the ops whose
// attributes became inputs (Squeeze, Unsqueeze and ReduceSum axes at 13; Clip min/max and Pad pads at
// 11; Slice starts/ends/axes/steps at 10), BatchNormalization's removed `spatial` and Dropout's `ratio`.
import { attributeFloat, attributeInts } from '../../onnx/attributes';
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';

/** The opset the training graph is written in (unless the model's is newer). */
export const TRAINING_OPSET = 17;

function without(node: onnx.INodeProto, names: readonly string[]): onnx.IAttributeProto[] {
  return (node.attribute ?? []).filter((a) => !names.includes(a.name ?? ''));
}

function has(node: onnx.INodeProto, name: string): boolean {
  return (node.attribute ?? []).some((a) => a.name === name);
}

/** The node in opset-17 form (the same node when nothing changed). */
export function upgradeNode(g: TrainingGraph, node: onnx.INodeProto, modelOpset: number): onnx.INodeProto {
  const inputs = [...(node.input ?? [])];
  switch (node.opType) {
    case 'Squeeze':
    case 'Unsqueeze':
    case 'ReduceSum':
      if (modelOpset < 13 && has(node, 'axes')) return { ...node, input: [inputs[0] ?? '', g.int64(attributeInts(node, 'axes') ?? [])], attribute: without(node, ['axes']) };
      return node;
    case 'Clip':
      if (modelOpset < 11) {
        const min = has(node, 'min') ? g.scalar(attributeFloat(node, 'min', 0)) : '';
        const max = has(node, 'max') ? g.scalar(attributeFloat(node, 'max', 0)) : '';
        return { ...node, input: [inputs[0] ?? '', min, max], attribute: without(node, ['min', 'max']) };
      }
      return node;
    case 'Pad':
      if (modelOpset < 11) {
        const value = g.scalar(attributeFloat(node, 'value', 0));
        return { ...node, input: [inputs[0] ?? '', g.int64(attributeInts(node, 'pads') ?? []), value], attribute: without(node, ['pads', 'value']) };
      }
      return node;
    case 'Slice':
      if (modelOpset < 10) {
        const starts = attributeInts(node, 'starts') ?? [];
        const axes = attributeInts(node, 'axes') ?? starts.map((_, i) => i);
        return { ...node, input: [inputs[0] ?? '', g.int64(starts), g.int64(attributeInts(node, 'ends') ?? []), g.int64(axes)], attribute: without(node, ['starts', 'ends', 'axes']) };
      }
      return node;
    case 'BatchNormalization':
      return has(node, 'spatial') || has(node, 'is_test') || has(node, 'consumed_inputs') ? { ...node, attribute: without(node, ['spatial', 'is_test', 'consumed_inputs']), output: [node.output?.[0] ?? ''] } : node;
    case 'Dropout':
      return { ...node, opType: 'Identity', input: [inputs[0] ?? ''], output: [node.output?.[0] ?? ''], attribute: [] };
    default:
      return node;
  }
}
