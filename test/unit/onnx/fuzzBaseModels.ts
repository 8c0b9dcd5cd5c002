// The models the ONNX fuzzer mutates: every .onnx file of ../shared/models (when present) and a few
// small generated ones covering what the shared models lack (Constant nodes, shape-folding chains,
// symbolic batch, MatMul, external data in a side file).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';

/** A model to mutate: its file bytes and any side files, by name inside the model's folder. */
export interface BaseModel {
  readonly name: string;
  /** The .onnx file first, then side files (external data). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** The file name every fuzz case gives its model inside the model folder. */
export const modelFileName = 'model.onnx';

/** The name of the external data file of the generated external-data model. */
export const externalDataFileName = 'weights.bin';

function floats(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

/** conv 3->8 -> relu -> maxpool -> reshape (via a Constant node) -> gemm to 10 classes. */
function convNet(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'conv' });
  b.input('x', [1, 3, 8, 8]);
  b.initializer(float32Tensor('w1', [8, 3, 3, 3], floats(216, 1)));
  b.initializer(float32Tensor('b1', [8], floats(8, 2)));
  b.initializer(float32Tensor('w2', [10, 128], floats(1280, 3)));
  b.node('Conv', ['x', 'w1', 'b1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, { name: 'conv', outputs: ['c'] });
  b.node('Relu', ['c'], {}, { name: 'relu', outputs: ['r'] });
  b.node('MaxPool', ['r'], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool', outputs: ['p'] });
  b.node('Constant', [], { value: { tensor: int64Tensor('shape', [2], [1, 128]) } }, { name: 'shape', outputs: ['s'] });
  b.node('Reshape', ['p', 's'], {}, { name: 'flatten', outputs: ['f'] });
  b.node('Gemm', ['f', 'w2'], { transB: 1 }, { name: 'fc', outputs: ['y'] });
  b.output('y', [1, 10]);
  return b.build();
}

/** MatMul MLP on a symbolic batch with a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain and a transposed weight. */
function mlp(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'mlp' });
  b.input('x', ['N', 4, 6]);
  b.initializer(float32Tensor('w1t', [16, 24], floats(384, 4)));
  b.initializer(float32Tensor('b1', [16], floats(16, 5)));
  b.initializer(int64Tensor('zero', [], [0]));
  b.initializer(int64Tensor('minus1', [1], [-1]));
  b.node('Shape', ['x'], {}, { name: 'shape', outputs: ['sh'] });
  b.node('Gather', ['sh', 'zero'], { axis: 0 }, { name: 'batch', outputs: ['n'] });
  b.node('Unsqueeze', ['n'], { axes: [0] }, { name: 'n1', outputs: ['n1'] });
  b.node('Concat', ['n1', 'minus1'], { axis: 0 }, { name: 'target', outputs: ['t'] });
  b.node('Reshape', ['x', 't'], {}, { name: 'flat', outputs: ['f'] });
  b.node('Transpose', ['w1t'], { perm: [1, 0] }, { name: 'wT', outputs: ['w1'] });
  b.node('MatMul', ['f', 'w1'], {}, { name: 'fc1', outputs: ['m'] });
  b.node('Add', ['m', 'b1'], {}, { name: 'bias', outputs: ['a'] });
  b.node('Softmax', ['a'], { axis: 1 }, { name: 'softmax', outputs: ['y'] });
  b.output('y', ['N', 16]);
  return b.build();
}

/** conv with batch norm, global pool, flatten, and its conv weight in an external data file. */
function externalNet(): BaseModel {
  const b = new GraphBuilder({ name: 'external' });
  b.input('x', [1, 4, 6, 6]);
  const weight = floats(8 * 4 * 3 * 3, 6);
  b.initializer({ name: 'w', dims: [8, 4, 3, 3], dataType: DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [
    { key: 'location', value: externalDataFileName },
    { key: 'offset', value: '64' },
    { key: 'length', value: String(weight.byteLength) },
  ] });
  for (const [i, name] of ['scale', 'bias', 'mean', 'var'].entries()) b.initializer(float32Tensor(name, [8], floats(8, 10 + i).map(Math.abs)));
  b.node('Conv', ['x', 'w'], { kernel_shape: [3, 3], group: 1 }, { name: 'conv', outputs: ['c'] });
  b.node('BatchNormalization', ['c', 'scale', 'bias', 'mean', 'var'], { epsilon: { float: 1e-5 } }, { name: 'bn', outputs: ['n'] });
  b.node('GlobalAveragePool', ['n'], {}, { name: 'gap', outputs: ['g'] });
  b.node('Flatten', ['g'], { axis: 1 }, { name: 'flatten', outputs: ['y'] });
  b.output('y', [1, 8]);
  const data = new Uint8Array(64 + weight.byteLength);
  data.set(new Uint8Array(weight.buffer), 64);
  return { name: 'generated-external', files: new Map([[modelFileName, encoded(b.build())], [externalDataFileName, data]]) };
}

/** A plain copy of encoded bytes (a Node Buffer's slice is a view, which a mutation could write through). */
function encoded(model: onnx.IModelProto): Uint8Array {
  return Uint8Array.from(encodeOnnx(model));
}

/** The generated models (always available). */
export function generatedBaseModels(): BaseModel[] {
  return [
    { name: 'generated-conv', files: new Map([[modelFileName, encoded(convNet())]]) },
    { name: 'generated-mlp', files: new Map([[modelFileName, encoded(mlp())]]) },
    externalNet(),
  ];
}

/** The .onnx models of a folder (none when it is missing), sorted by name. */
export function folderBaseModels(dir: string): BaseModel[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => ({ name: f, files: new Map([[modelFileName, new Uint8Array(fs.readFileSync(path.join(dir, f)))]]) }));
}
