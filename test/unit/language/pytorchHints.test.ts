// PyTorch sources: layer assignments are found inside their classes (multi-line calls, strings and
// comments with parentheses, torch.nn imports), ONNX layer names give module paths in both export
// styles, and an attribute matches the layers whose path ends in it, checked on ResNet-20's real names.
import * as assert from 'node:assert/strict';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { findModuleAssignments } from '../../../language/pythonModules';
import { layersOfAttribute, modulePathOf } from '../../../language/pytorchMatch';
import { sharedModel, skipSuiteWithoutSharedModels } from '../testSupport';

// The ResNet-20 of akamaster/pytorch_resnet_cifar10 (the bundled model's source), abridged.
const resnetSource = `import torch
import torch.nn as nn
from torch.nn import Linear as _L, Conv2d

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, option='A'):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = torch.nn.Conv2d(
            planes, planes, kernel_size=3,  # a comment with a ) in it
            stride=1, padding=1, bias=False)
        # self.conv3 = nn.Conv2d(planes, planes, 1)

class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super(ResNet, self).__init__()
        self.in_planes = 16
        self.conv1 = Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.layer1 = self._make_layer(block, 16, num_blocks[0], stride=1)
        self.linear: nn.Linear = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.linear(x)

def helper():
    self.fc = nn.Linear(")", 2)
`;

describe('language: PyTorch sources', function () {
  it('finds each self.<attr> = nn.Conv2d / nn.Linear with its class and the end of the call', function () {
    const found = findModuleAssignments(resnetSource);
    assert.deepEqual(found.map((a) => [a.className, a.attribute, a.layerType, a.line, a.column]), [
      ['BasicBlock', 'conv1', 'Conv2d', 9, 8],
      ['BasicBlock', 'conv2', 'Conv2d', 11, 8],
      ['ResNet', 'conv1', 'Conv2d', 20, 8],
      ['ResNet', 'linear', 'Linear', 22, 8],
      [undefined, 'fc', 'Linear', 28, 4],
    ]);
    const lines = resnetSource.split('\n');
    const conv2 = found[1];
    assert.ok(conv2);
    assert.equal(conv2.endLine, 13);
    assert.equal(lines[conv2.endLine]?.slice(0, conv2.endColumn).trimStart(), 'stride=1, padding=1, bias=False)');
    const conv1 = found[0];
    assert.ok(conv1);
    assert.equal(conv1.endColumn, lines[9]?.length);
    const fc = found[4];
    assert.equal(fc && lines[fc.endLine]?.slice(0, fc.endColumn).trim(), 'self.fc = nn.Linear(")", 2)');
  });

  it('ignores layer types that are not from torch.nn', function () {
    assert.deepEqual(findModuleAssignments('class A:\n    def __init__(self):\n        self.l = Linear(2, 3)\n'), []);
  });

  it('module paths of both export styles; none for unnamed layers', function () {
    assert.equal(modulePathOf('/layer1/layer1.0/conv1/Conv'), 'layer1.0.conv1');
    assert.equal(modulePathOf('/conv1/Conv'), 'conv1');
    assert.equal(modulePathOf('/features/features.0/Conv_3'), 'features.0');
    assert.equal(modulePathOf('layer1.0.conv1'), 'layer1.0.conv1');
    assert.equal(modulePathOf('Gemm#53'), undefined);
    assert.equal(modulePathOf('onnx::Conv_12'), undefined);
    assert.deepEqual(layersOfAttribute('conv1', ['/layer1/layer1.0/conv1/Conv', '/layer1/layer1.0/conv2/Conv', '/conv1/Conv']), ['/layer1/layer1.0/conv1/Conv', '/conv1/Conv']);
    assert.deepEqual(layersOfAttribute('0', ['/features/features.0/Conv']), ['/features/features.0/Conv'], 'an index segment only matches an index');
  });

  describe('on ResNet-20\'s real layer names', function () {
    let names: string[] = [];
    before(async function () {
      skipSuiteWithoutSharedModels(this);
      const analysis = await analyzeModel(readOnnxModel(sharedModel('resnet20-cifar10.onnx')), { batch: 1 });
      names = analysis.layers.filter((l) => l.compressible).map((l) => l.name);
    });

    it('conv2 of BasicBlock matches its 9 uses; conv1 matches the stem and 9 blocks; linear matches nothing (unnamed Gemm)', function () {
      assert.deepEqual(layersOfAttribute('conv2', names), ['1', '2', '3'].flatMap((stage) => ['0', '1', '2'].map((block) => `layer${stage}.${block}.conv2`)));
      const conv1 = layersOfAttribute('conv1', names);
      assert.equal(conv1.length, 10);
      assert.equal(conv1[0], 'conv1');
      assert.deepEqual(layersOfAttribute('linear', names), []);
    });
  });
});
