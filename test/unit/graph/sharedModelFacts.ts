// Hand-computed facts about the shared models, derived from their architectures (not from the
// program): per layer the shapes, MACs (Conv: output elements x Cin/group x kH x kW; Gemm/MatMul:
// M x K x N) and parameters, plus the totals written out as literals.

/** What one layer must look like. */
export interface LayerFact {
  readonly op: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly weightShape: readonly number[] | null;
  readonly macs: number;
  readonly params: number;
  readonly compressible: boolean;
}

/** What a whole model must look like. */
export interface ModelFact {
  readonly totalMacs: number;
  readonly totalParams: number;
  /** Layers by name; Gemm nodes without a name are keyed 'Gemm'. */
  readonly layers: ReadonlyMap<string, LayerFact>;
  readonly inputName: string;
  readonly outputShape: readonly number[];
}

/**
 * CIFAR ResNet (He et al., option-A shortcuts): conv1 3->16 at 32x32, three stages of `blocks` basic
 * blocks with 16, 32, 64 channels at 32, 16, 8; the first conv of stages 2 and 3 has stride 2; global
 * average pool and a 64 -> 10 Gemm. `fusedBn`: convs carry a bias; otherwise no bias and a
 * BatchNormalization (4 x C parameters, 0 MACs) after each conv.
 */
function cifarResNet(blocks: number, fusedBn: boolean, batch = 1): ModelFact {
  const layers = new Map<string, LayerFact>();
  const conv = (name: string, bnName: string, cin: number, cout: number, hwIn: number, stride: number): void => {
    const hwOut = hwIn / stride; // 3x3, pad 1: floor((hw + 2 - 3) / s) + 1 = hw / s for even hw
    const output = [batch, cout, hwOut, hwOut];
    layers.set(name, {
      op: 'Conv',
      inputShape: [batch, cin, hwIn, hwIn],
      outputShape: output,
      weightShape: [cout, cin, 3, 3],
      macs: batch * cout * hwOut * hwOut * cin * 9,
      params: cout * cin * 9 + (fusedBn ? cout : 0),
      compressible: true,
    });
    if (!fusedBn) layers.set(bnName, { op: 'BatchNormalization', inputShape: output, outputShape: output, weightShape: [cout], macs: 0, params: 4 * cout, compressible: false });
  };
  conv('conv1', 'bn1', 3, 16, 32, 1);
  [16, 32, 64].forEach((channels, stage) => {
    const hw = 32 >> stage;
    for (let block = 0; block < blocks; block++) {
      const down = stage > 0 && block === 0;
      const prefix = `layer${stage + 1}.${block}`;
      conv(`${prefix}.conv1`, `${prefix}.bn1`, down ? channels / 2 : channels, channels, down ? hw * 2 : hw, down ? 2 : 1);
      conv(`${prefix}.conv2`, `${prefix}.bn2`, channels, channels, hw, 1);
    }
  });
  layers.set('Gemm', { op: 'Gemm', inputShape: [batch, 64], outputShape: [batch, 10], weightShape: [10, 64], macs: batch * 640, params: 650, compressible: true });
  let totalMacs = 0;
  let totalParams = 0;
  for (const layer of layers.values()) {
    totalMacs += layer.macs;
    totalParams += layer.params;
  }
  return { totalMacs, totalParams, layers, inputName: 'input', outputShape: [batch, 10] };
}

/**
 * The ONNX zoo MNIST CNN: Conv 1->8 5x5 SAME_UPPER at 28x28 (+ bias Add), MaxPool 2 -> 14x14,
 * Conv 8->16 5x5 SAME_UPPER (+ Add), MaxPool 3 stride 3 -> floor((14 - 3) / 3) + 1 = 4, Reshape to
 * [1, 256], MatMul by a [256, 10] weight (a Reshape of [16, 4, 4, 10]), Add bias.
 */
function mnist8(): ModelFact {
  const layers = new Map<string, LayerFact>([
    ['Convolution28', { op: 'Conv', inputShape: [1, 1, 28, 28], outputShape: [1, 8, 28, 28], weightShape: [8, 1, 5, 5], macs: 28 * 28 * 8 * 1 * 5 * 5, params: 200, compressible: true }],
    ['Plus30', { op: 'Add', inputShape: [1, 8, 28, 28], outputShape: [1, 8, 28, 28], weightShape: [8, 1, 1], macs: 0, params: 8, compressible: false }],
    ['Convolution110', { op: 'Conv', inputShape: [1, 8, 14, 14], outputShape: [1, 16, 14, 14], weightShape: [16, 8, 5, 5], macs: 14 * 14 * 16 * 8 * 5 * 5, params: 3200, compressible: true }],
    ['Plus112', { op: 'Add', inputShape: [1, 16, 14, 14], outputShape: [1, 16, 14, 14], weightShape: [16, 1, 1], macs: 0, params: 16, compressible: false }],
    ['Times212', { op: 'MatMul', inputShape: [1, 256], outputShape: [1, 10], weightShape: [256, 10], macs: 256 * 10, params: 2560, compressible: true }],
    ['Plus214', { op: 'Add', inputShape: [1, 10], outputShape: [1, 10], weightShape: [1, 10], macs: 0, params: 10, compressible: false }],
  ]);
  return { totalMacs: 786_560, totalParams: 5_994, layers, inputName: 'Input3', outputShape: [1, 10] };
}

/** Facts per shared model file name. */
export const sharedModelFacts: Readonly<Record<string, () => ModelFact>> = {
  'mnist-8.onnx': mnist8,
  'resnet20-cifar10.onnx': () => cifarResNet(3, true),
  'resnet20-cifar10-unfused-bn.onnx': () => cifarResNet(3, false),
  'resnet32-cifar10.onnx': () => cifarResNet(5, true),
};

/** ResNet-20 with a given batch (for --batch). */
export function resnet20Facts(batch: number): ModelFact {
  return cifarResNet(3, true, batch);
}

/**
 * Totals worked out by hand, as literals (the generator above must agree with them):
 * ResNet-20:
 *   conv1 = 32 x 32 x 16 x 3 x 3 x 3 = 442,368;
 *   stage 1: 6 x (32 x 32 x 16 x 16 x 9 = 2,359,296);
 *   stages 2 and 3: each 1 x 1,179,648 (the stride-2 conv, half the input channels) + 5 x 2,359,296;
 *   total = 442,368 + 16 x 2,359,296 + 2 x 1,179,648 + 640 = 40,551,040.
 *   params = 448 + 6 x 2,320 + (4,640 + 5 x 9,248) + (18,496 + 5 x 36,928) + 650 = 269,034.
 * ResNet-20 unfused: params = 269,034 - 688 conv biases + 4 x 688 BN = 271,098; same MACs.
 * ResNet-32: total = 442,368 + 28 x 2,359,296 + 2 x 1,179,648 + 640 = 68,862,592;
 *   params = 448 + 10 x 2,320 + (4,640 + 9 x 9,248) + (18,496 + 9 x 36,928) + 650 = 463,018.
 */
export const handTotals: Readonly<Record<string, { readonly macs: number; readonly params: number }>> = {
  'mnist-8.onnx': { macs: 156_800 + 627_200 + 2_560, params: 5_994 },
  'resnet20-cifar10.onnx': { macs: 40_551_040, params: 269_034 },
  'resnet20-cifar10-unfused-bn.onnx': { macs: 40_551_040, params: 271_098 },
  'resnet32-cifar10.onnx': { macs: 68_862_592, params: 463_018 },
};
