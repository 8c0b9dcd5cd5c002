// Shapes of Gemm (transA / transB) and MatMul (numpy semantics, batched and 1-D operands).
import { attributeInt } from '../../onnx/attributes';
import { requireInput, type ShapeFunction } from '../shapeContext';
import { ShapeError, type Dim } from '../valueInfo';
import { broadcastDims } from './broadcast';

const gemm: ShapeFunction = (context) => {
  const a = requireInput(context, 0);
  const b = requireInput(context, 1);
  if (a.dims.length !== 2 || b.dims.length !== 2) throw new ShapeError('Gemm operands must be 2-D');
  const m = attributeInt(context.node, 'transA', 0) ? a.dims[1] : a.dims[0];
  const n = attributeInt(context.node, 'transB', 0) ? b.dims[0] : b.dims[1];
  return [{ elemType: a.elemType, dims: [m ?? '?', n ?? '?'] }];
};

/** Output dims of MatMul(a, b) following numpy.matmul. */
export function matmulDims(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  if (a.length === 0 || b.length === 0) throw new ShapeError('MatMul operands must not be scalars');
  const left = a.length === 1 ? [1, a[0] ?? 1] : a;
  const right = b.length === 1 ? [b[0] ?? 1, 1] : b;
  const batch = broadcastDims([left.slice(0, -2), right.slice(0, -2)]);
  const out = [...batch, left[left.length - 2] ?? 1, right[right.length - 1] ?? 1];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

const matmul: ShapeFunction = (context) => {
  const a = requireInput(context, 0);
  const b = requireInput(context, 1);
  return [{ elemType: a.elemType, dims: matmulDims(a.dims, b.dims) }];
};

/** Shape functions of this file by op type. */
export const matmulShapeFunctions: Record<string, ShapeFunction> = {
  Gemm: gemm,
  MatMul: matmul,
};
