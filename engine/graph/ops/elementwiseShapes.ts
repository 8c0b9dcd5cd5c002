// Shapes of element-wise ops: unary activations, normalisations, broadcasting binary and variadic
// ops (with integer arithmetic folded for shape computations), comparisons, Where, Cast.
import { attributeInt } from '../../onnx/attributes';
import { DataType } from '../../onnx/dataType';
import { requireInput, sameAsInput, type ShapeContext, type ShapeFunction } from '../shapeContext';
import type { ValueInfo } from '../valueInfo';
import { broadcastDims } from './broadcast';

const unaryOps = [
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Celu',
  'Softplus', 'Softsign', 'Clip', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil',
  'Round', 'Erf', 'Gelu', 'Mish', 'Sin', 'Cos', 'Tan', 'Sign', 'ThresholdedRelu', 'Shrink', 'Identity',
  'Softmax', 'LogSoftmax', 'Hardmax', 'LRN', 'InstanceNormalization', 'LpNormalization',
  'MeanVarianceNormalization', 'GroupNormalization', 'Not',
  'BitwiseNot', 'Trilu', 'CumSum',
];

const arithmetic: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => Math.trunc(a / b),
};

const comparisonOps = ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf'];
const binaryOps = ['Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', ...Object.keys(arithmetic)];

function broadcastInputs(context: ShapeContext, elemType?: number): ValueInfo[] {
  const present = context.inputs.map((_, i) => requireInput(context, i));
  const dims = broadcastDims(present.map((p) => p.dims));
  const type = elemType ?? present[0]?.elemType ?? DataType.FLOAT;
  const fold = arithmetic[context.node.opType ?? ''];
  const [a, b] = present;
  if (fold && a?.intValues && b?.intValues && dims.length <= 1) {
    const length = Math.max(a.intValues.length, b.intValues.length);
    const values = Array.from({ length }, (_, i) => fold(a.intValues?.[a.intValues.length === 1 ? 0 : i] ?? 0, b.intValues?.[b.intValues.length === 1 ? 0 : i] ?? 0));
    return [{ elemType: type, dims, intValues: values }];
  }
  return [{ elemType: type, dims }];
}

const batchNormalization: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const channels = x.dims[1] ?? '?';
  const extra = (context.node.output?.length ?? 1) - 1;
  return [{ elemType: x.elemType, dims: x.dims }, ...Array.from({ length: extra }, () => ({ elemType: x.elemType, dims: [channels] }))];
};

const layerNormalization: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axis = attributeInt(context.node, 'axis', -1);
  const cut = axis < 0 ? axis + x.dims.length : axis;
  const statDims = x.dims.map((d, i) => (i < cut ? d : 1));
  const extra = (context.node.output?.length ?? 1) - 1;
  return [{ elemType: x.elemType, dims: x.dims }, ...Array.from({ length: extra }, () => ({ elemType: DataType.FLOAT, dims: statDims }))];
};

const dropout: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const outputs: ValueInfo[] = [{ elemType: x.elemType, dims: x.dims }];
  if ((context.node.output?.length ?? 1) > 1) outputs.push({ elemType: DataType.BOOL, dims: x.dims });
  return outputs;
};

const cast: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const to = context.node.opType === 'CastLike' ? requireInput(context, 1).elemType : attributeInt(context.node, 'to', x.elemType);
  return [x.intValues ? { elemType: to, dims: x.dims, intValues: x.intValues } : { elemType: to, dims: x.dims }];
};

const where: ShapeFunction = (context) => broadcastInputs(context, requireInput(context, 1).elemType);

/** Shape functions of this file by op type. */
export const elementwiseShapeFunctions: Record<string, ShapeFunction> = {
  ...Object.fromEntries(unaryOps.map((op) => [op, sameAsInput])),
  ...Object.fromEntries(binaryOps.map((op) => [op, (c: ShapeContext) => broadcastInputs(c)])),
  ...Object.fromEntries(comparisonOps.map((op) => [op, (c: ShapeContext) => broadcastInputs(c, DataType.BOOL)])),
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  Dropout: dropout,
  Cast: cast,
  CastLike: cast,
  Where: where,
};
