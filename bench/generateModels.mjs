// Generates the benchmark models with the engine's own writer and random float32 weights:
//   resnet50.onnx  ImageNet ResNet-50 v1 shape (7x7 stem, bottlenecks [3,4,6,3], Gemm 2048->1000),
//                  BatchNorm folded into conv biases; ~25.5M params, ~102 MB
//   vgg16.onnx     VGG-16 shape (13 convs 3x3, fc 25088->4096->4096->1000); ~138M params, ~553 MB
// Files are cached in bench/.cache/ (git-ignored) and regenerated only when missing.
// Needs the compiled engine: run `npx tsc -b` first. Usage: node bench/generateModels.mjs [--force]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(benchDir, '..');
export const cacheDir = path.join(benchDir, '.cache');

/** The compiled engine (CommonJS under out/engine), or a clear message when it is not built. */
function engine() {
  const require = createRequire(import.meta.url);
  const builder = path.join(repoRoot, 'out/engine/onnx/graphBuilder.js');
  if (!fs.existsSync(builder)) throw new Error(`${builder} is missing: run \`npx tsc -b\` first`);
  return {
    ...require(builder),
    ...require(path.join(repoRoot, 'out/engine/onnx/writeOnnx.js')),
  };
}

/** A fast seeded PRNG (xorshift32) filling float32 values uniform in [-scale, scale). */
function randomWeights(count, scale, state) {
  const values = new Float32Array(count);
  let x = state.seed | 0 || 1;
  const factor = (2 * scale) / 4294967296;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = (x >>> 0) * factor - scale;
  }
  state.seed = x;
  return values;
}

/** Wraps GraphBuilder with the layers the two networks need; counts parameters as it goes. */
class NetBuilder {
  constructor(api, name) {
    this.api = api;
    this.graph = new api.GraphBuilder({ name, opset: 13, irVersion: 8 });
    this.rng = { seed: 0x9e3779b9 };
    this.params = 0;
    this.layer = 0;
  }

  weight(name, dims, fanIn) {
    const count = dims.reduce((p, d) => p * d, 1);
    this.params += count;
    return this.graph.initializer(this.api.float32Tensor(name, dims, randomWeights(count, Math.sqrt(6 / fanIn), this.rng)));
  }

  /** Conv (with the folded BatchNorm as its bias) and an optional Relu. */
  conv(input, inChannels, outChannels, kernel, { stride = 1, pad = Math.floor(kernel / 2), relu = true, name } = {}) {
    const id = name ?? `conv${this.layer++}`;
    const w = this.weight(`${id}.weight`, [outChannels, inChannels, kernel, kernel], inChannels * kernel * kernel);
    const b = this.weight(`${id}.bias`, [outChannels], inChannels * kernel * kernel);
    const [out] = this.graph.node('Conv', [input, w, b], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 }, { name: id });
    return relu ? this.relu(out) : out;
  }

  relu(input) {
    return this.graph.node('Relu', [input])[0];
  }

  maxPool(input, kernel, stride, pad) {
    return this.graph.node('MaxPool', [input], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad] })[0];
  }

  gemm(input, inFeatures, outFeatures, name) {
    const w = this.weight(`${name}.weight`, [outFeatures, inFeatures], inFeatures);
    const b = this.weight(`${name}.bias`, [outFeatures], inFeatures);
    return this.graph.node('Gemm', [input, w, b], { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 }, { name })[0];
  }
}

/** ResNet-50 v1 (stride on the first 1x1 of a downsampling bottleneck, as in the ONNX zoo's v1). */
export function buildResNet50(api) {
  const net = new NetBuilder(api, 'resnet50_v1');
  const g = net.graph;
  let x = g.input('data', ['N', 3, 224, 224]);
  x = net.conv(x, 3, 64, 7, { stride: 2, pad: 3, name: 'stem.conv' });
  x = net.maxPool(x, 3, 2, 1);
  let channels = 64;
  const stages = [[3, 64], [4, 128], [6, 256], [3, 512]];
  stages.forEach(([blocks, width], stage) => {
    for (let block = 0; block < blocks; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      const prefix = `stage${stage + 1}.block${block}`;
      let y = net.conv(x, channels, width, 1, { stride, name: `${prefix}.conv1` });
      y = net.conv(y, width, width, 3, { name: `${prefix}.conv2` });
      y = net.conv(y, width, width * 4, 1, { relu: false, name: `${prefix}.conv3` });
      const shortcut = block === 0 ? net.conv(x, channels, width * 4, 1, { stride, relu: false, name: `${prefix}.downsample` }) : x;
      x = net.relu(g.node('Add', [y, shortcut])[0]);
      channels = width * 4;
    }
  });
  x = g.node('GlobalAveragePool', [x])[0];
  x = g.node('Flatten', [x], { axis: 1 })[0];
  const logits = net.gemm(x, 2048, 1000, 'fc');
  g.output(logits, ['N', 1000]);
  return { model: g.build(), params: net.params };
}

/** VGG-16 (configuration D, no BatchNorm, no Dropout in the exported inference graph). */
export function buildVgg16(api) {
  const net = new NetBuilder(api, 'vgg16');
  const g = net.graph;
  let x = g.input('data', ['N', 3, 224, 224]);
  let channels = 3;
  for (const item of [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']) {
    if (item === 'M') {
      x = net.maxPool(x, 2, 2, 0);
      continue;
    }
    x = net.conv(x, channels, item, 3, { pad: 1 });
    channels = item;
  }
  x = g.node('Flatten', [x], { axis: 1 })[0];
  x = net.relu(net.gemm(x, 25088, 4096, 'fc6'));
  x = net.relu(net.gemm(x, 4096, 4096, 'fc7'));
  const logits = net.gemm(x, 4096, 1000, 'fc8');
  g.output(logits, ['N', 1000]);
  return { model: g.build(), params: net.params };
}

/** CIFAR ResNet-(6n+2) with option-A shortcuts (strided Slice, then zero Pad of the channels), as in ../shared/models. */
export function buildCifarResNet(api, depth) {
  const n = (depth - 2) / 6;
  const net = new NetBuilder(api, `resnet${depth}_cifar`);
  const g = net.graph;
  const ints = (name, values) => g.initializer(api.int64Tensor(name, [values.length], values));
  let x = g.input('input', ['N', 3, 32, 32]);
  x = net.conv(x, 3, 16, 3, { name: 'conv1' });
  let channels = 16;
  [16, 32, 64].forEach((width, stage) => {
    for (let block = 0; block < n; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      const prefix = `layer${stage + 1}.${block}`;
      let y = net.conv(x, channels, width, 3, { stride, name: `${prefix}.conv1` });
      y = net.conv(y, width, width, 3, { relu: false, name: `${prefix}.conv2` });
      let shortcut = x;
      if (stride !== 1 || channels !== width) {
        const sliced = g.node('Slice', [x, ints(`${prefix}.s_st`, [0, 0]), ints(`${prefix}.s_en`, [1 << 30, 1 << 30]), ints(`${prefix}.s_ax`, [2, 3]), ints(`${prefix}.s_sp`, [2, 2])])[0];
        const extra = (width - channels) / 2;
        shortcut = g.node('Pad', [sliced, ints(`${prefix}.pads`, [0, extra, 0, 0, 0, extra, 0, 0])])[0];
      }
      x = net.relu(g.node('Add', [y, shortcut])[0]);
      channels = width;
    }
  });
  x = g.node('GlobalAveragePool', [x])[0];
  x = g.node('Flatten', [x], { axis: 1 })[0];
  const logits = net.gemm(x, 64, 10, 'linear');
  g.output(logits, ['N', 10]);
  return { model: g.build(), params: net.params };
}

/** Parameters of a CIFAR ResNet-(6n+2) with conv biases (folded BatchNorm) and the 64 -> 10 classifier. */
function cifarResNetParams(depth) {
  const n = (depth - 2) / 6;
  let params = 3 * 16 * 9 + 16;
  let channels = 16;
  for (const width of [16, 32, 64]) {
    for (let block = 0; block < n; block++) {
      params += channels * width * 9 + width + width * width * 9 + width;
      channels = width;
    }
  }
  return params + 64 * 10 + 10;
}

export const benchModels = {
  resnet44: { file: 'resnet44-cifar.onnx', label: 'CIFAR ResNet-44-shaped', build: (api) => buildCifarResNet(api, 44), expectedParams: cifarResNetParams(44) },
  resnet56: { file: 'resnet56-cifar.onnx', label: 'CIFAR ResNet-56-shaped', build: (api) => buildCifarResNet(api, 56), expectedParams: cifarResNetParams(56) },
  resnet50: { file: 'resnet50.onnx', label: 'ResNet-50-shaped', build: buildResNet50, expectedParams: 25_530_472 },
  vgg16: { file: 'vgg16.onnx', label: 'VGG-16-shaped', build: buildVgg16, expectedParams: 138_357_544 },
};

/** Path of a benchmark model, generated (and cached) when missing. */
export function ensureModel(key, { force = false, log = console.log } = {}) {
  const spec = benchModels[key];
  if (!spec) throw new Error(`unknown benchmark model '${key}'`);
  const filePath = path.join(cacheDir, spec.file);
  if (!force && fs.existsSync(filePath)) return filePath;
  fs.mkdirSync(cacheDir, { recursive: true });
  const api = engine();
  const started = performance.now();
  const { model, params } = spec.build(api);
  if (params !== spec.expectedParams) throw new Error(`${spec.label}: built ${params} params, expected ${spec.expectedParams}`);
  api.writeOnnxFile(model, filePath);
  const megabytes = fs.statSync(filePath).size / 1e6;
  log(`generated ${path.relative(repoRoot, filePath)} (${spec.label}, ${(params / 1e6).toFixed(2)}M params, ${megabytes.toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return filePath;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const force = process.argv.includes('--force');
  for (const key of Object.keys(benchModels)) console.log(ensureModel(key, { force }));
}
