// The view a shape function gets of one node: its inputs' inferred info, constants and attributes.
import type { ConstTensor } from '../onnx/constTensor';
import type { onnx } from '../onnx/proto';
import { ShapeError, type Dim, type ValueInfo } from './valueInfo';

/** Inputs of one node as inference sees them. */
export interface ShapeContext {
  readonly node: onnx.INodeProto;
  readonly opset: number;
  /** Inferred info per input position; undefined for an omitted optional input. */
  readonly inputs: readonly (ValueInfo | undefined)[];
  /** The constant behind input `index`, if it is one. */
  constant(index: number): ConstTensor | undefined;
}

/** Computes the outputs of one op from its inputs. */
export type ShapeFunction = (context: ShapeContext) => ValueInfo[];

/** Input `index`, which must have a known rank. */
export function requireInput(context: ShapeContext, index: number): { elemType: number; dims: readonly Dim[]; intValues?: readonly number[] } {
  const input = context.inputs[index];
  if (!input || !input.dims) throw new ShapeError(`input ${index} of ${context.node.opType} has an unknown shape`);
  return input.intValues ? { elemType: input.elemType, dims: input.dims, intValues: input.intValues } : { elemType: input.elemType, dims: input.dims };
}

/** Values of integer input `index` (a constant or a folded shape tensor), or undefined. */
export function intInput(context: ShapeContext, index: number): readonly number[] | undefined {
  const input = context.inputs[index];
  if (input?.intValues) return input.intValues;
  const constant = context.constant(index);
  return constant && constant.elementCount <= 1 << 16 ? constant.toNumbers() : undefined;
}

/** Same type and shape as input 0 (element-wise unary ops). */
export function sameAsInput(context: ShapeContext): ValueInfo[] {
  const input = requireInput(context, 0);
  return [{ elemType: input.elemType, dims: input.dims }];
}

/** Axis `axis` (negative counts from the end) of a rank-`rank` tensor; throws for one outside it (a damaged file's 2^31 would otherwise grow a dims array). */
export function axisWithin(axis: number, rank: number, op: string): number {
  const normalised = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(normalised) || normalised < 0 || normalised >= rank) throw new ShapeError(`${op} axis ${axis} is outside a rank-${rank} input`);
  return normalised;
}
