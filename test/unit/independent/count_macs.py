#!/usr/bin/env python3
"""An independent count of MACs and parameters for haloc's tests, using only Python's `onnx`.

  count_macs.py build OUTDIR   builds real-architecture models with onnx.helper (random numpy weights),
                               writes them to OUTDIR, counts them, and prints JSON
  count_macs.py count FILE...  counts existing .onnx files (external data is loaded by onnx.load)

Counting uses onnx.shape_inference.infer_shapes and these formulas, nothing from haloc:
  Conv:   output elements x (Cin / group) x kH x kW   (Cin from the inferred input shape)
  Gemm:   M x K x N                                   (transA / transB honoured)
  MatMul: batch x M x K x N                           (numpy semantics)
  params: elements of float initializers and of float Constant-node tensors
Symbolic dims are fixed to 1 (the batch) before inference. Output: one JSON object on stdout.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
RNG = np.random.default_rng(1234)


class Net:
    """Accumulates nodes and weights; every node gets a name (haloc reports layers by node name)."""

    def __init__(self, name, opset=13):
        self.name, self.opset = name, opset
        self.nodes, self.inits, self.count = [], [], 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def weight(self, name, shape, as_constant=False):
        values = (RNG.standard_normal(shape) * 0.05).astype(np.float32)
        if as_constant:
            self.nodes.append(helper.make_node("Constant", [], [name], name=f"{name}_const", value=numpy_helper.from_array(values, name)))
        else:
            self.inits.append(numpy_helper.from_array(values, name))
        return name

    def bias_floats(self, name, size):
        """A bias as a Constant node with value_floats."""
        values = [float(v) for v in RNG.standard_normal(size) * 0.01]
        self.nodes.append(helper.make_node("Constant", [], [name], name=f"{name}_const", value_floats=values))
        return name

    def ints(self, name, values):
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    def scalar(self, name, value):
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        return name

    def op(self, op_type, inputs, name=None, **attrs):
        name = name or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [name + "_out"], name=name, **attrs))
        return name + "_out"

    def conv(self, x, cin, cout, k, stride=1, group=1, name=None, bias=True, as_constant=False, bias_floats=False):
        name = name or self.fresh("conv")
        w = self.weight(name + ".weight", (cout, cin // group, k, k), as_constant)
        inputs = [x, w]
        if bias:
            inputs.append(self.bias_floats(name + ".bias", cout) if bias_floats else self.weight(name + ".bias", (cout,), as_constant))
        return self.op("Conv", inputs, name=name, kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group)

    def bn(self, x, c, name):
        params = [self.weight(f"{name}.{p}", (c,)) for p in ("g", "b", "m")]
        var = name + ".v"
        self.inits.append(numpy_helper.from_array((RNG.random(c) + 0.5).astype(np.float32), var))
        return self.op("BatchNormalization", [x, *params, var], name=name, epsilon=1e-5)

    def model(self, inputs, output, output_shape):
        graph = helper.make_graph(self.nodes, self.name, inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="count_macs.py")
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model


def resnet56():
    """CIFAR ResNet-56: 3 stages x 9 basic blocks (16/32/64 channels), unfused BN, option-A shortcuts."""
    net = Net("resnet56")
    x = net.conv("input", 3, 16, 3, name="conv1", bias=False)
    x = net.op("Relu", [net.bn(x, 16, "bn1")])
    cin = 16
    for stage, c in enumerate((16, 32, 64)):
        for block in range(9):
            p = f"layer{stage + 1}.{block}"
            stride = 2 if stage > 0 and block == 0 else 1
            h = net.op("Relu", [net.bn(net.conv(x, cin, c, 3, stride, name=p + ".conv1", bias=False), c, p + ".bn1")])
            h = net.bn(net.conv(h, c, c, 3, 1, name=p + ".conv2", bias=False), c, p + ".bn2")
            shortcut = x
            if stride == 2:  # option A: take every other pixel, pad the new channels with zeros
                sl = net.op("Slice", [x, net.ints(p + ".st", [0, 0]), net.ints(p + ".en", [2**31 - 1] * 2), net.ints(p + ".ax", [2, 3]), net.ints(p + ".sp", [2, 2])], name=p + ".slice")
                shortcut = net.op("Pad", [sl, net.ints(p + ".pads", [0, c // 4, 0, 0, 0, c // 4, 0, 0])], name=p + ".pad", mode="constant")
            x = net.op("Relu", [net.op("Add", [h, shortcut], name=p + ".add")])
            cin = c
    x = net.op("Flatten", [net.op("GlobalAveragePool", [x], name="gap")], name="flatten")
    x = net.op("Gemm", [x, net.weight("fc.weight", (10, 64)), net.weight("fc.bias", (10,))], name="fc", transB=1)
    return net.model([helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])], x, ["N", 10])


def mobilenet_v2_grouped():
    """MobileNet-v2 (width 1.0, 224x224) with ReLU6 as Clip; depthwise 3x3 convs (group = C); the last
    1x1 conv and an extra 3x3 conv are grouped (group 4), ShuffleNet style."""
    net = Net("mobilenet_v2_grouped")
    lo, hi = net.scalar("relu6.min", 0.0), net.scalar("relu6.max", 6.0)

    def relu6(t):
        return net.op("Clip", [t, lo, hi])

    x = relu6(net.conv("input", 3, 32, 3, 2, name="stem"))
    cin = 32
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for index, (t, c, n, s) in enumerate(settings):
        for i in range(n):
            p = f"block{index}.{i}"
            stride = s if i == 0 else 1
            hidden = cin * t
            h = x if t == 1 else relu6(net.conv(x, cin, hidden, 1, name=p + ".expand"))
            h = relu6(net.conv(h, hidden, hidden, 3, stride, group=hidden, name=p + ".depthwise"))
            h = net.conv(h, hidden, c, 1, name=p + ".project")
            x = net.op("Add", [x, h], name=p + ".add") if stride == 1 and cin == c else h
            cin = c
    x = relu6(net.conv(x, 320, 320, 3, 1, group=4, name="grouped3x3"))
    x = relu6(net.conv(x, 320, 1280, 1, group=4, name="head"))
    x = net.op("Flatten", [net.op("GlobalAveragePool", [x], name="gap")], name="flatten")
    x = net.op("Gemm", [x, net.weight("classifier.weight", (1000, 1280)), net.weight("classifier.bias", (1000,))], name="classifier", transB=1)
    return net.model([helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])], x, [1, 1000])


def vgg_constant_weights():
    """VGG-11 for CIFAR (32x32) whose conv weights and biases are Constant nodes (value tensors, and
    value_floats for some biases); the classifier weight is a Transpose of a Constant."""
    net = Net("vgg11_constants")
    x, cin = "input", 3
    for index, item in enumerate([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]):
        if item == "M":
            x = net.op("MaxPool", [x], name=f"pool{index}", kernel_shape=[2, 2], strides=[2, 2])
        else:
            x = net.op("Relu", [net.conv(x, cin, item, 3, name=f"features.{index}", as_constant=True, bias_floats=index % 2 == 1)])
            cin = item
    x = net.op("Flatten", [x], name="flatten")
    w1 = net.op("Transpose", [net.weight("fc1.w_in_out", (512, 512), as_constant=True)], name="fc1.transpose", perm=[1, 0])
    x = net.op("Relu", [net.op("Gemm", [x, w1, net.weight("fc1.bias", (512,), as_constant=True)], name="fc1", transB=1)])
    x = net.op("Gemm", [x, net.weight("fc2.weight", (512, 10), as_constant=True)], name="fc2")
    return net.model([helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])], x, [1, 10])


def mlp_head():
    """Token MLP (batched MatMul) -> mean over tokens -> MLP head of Gemms (transB = 1, then plain)."""
    net = Net("mlp_head")
    x = net.op("MatMul", ["tokens", net.weight("mlp.w1", (64, 256))], name="mlp.fc1")
    x = net.op("Relu", [net.op("Add", [x, net.weight("mlp.b1", (256,))], name="mlp.bias1")])
    x = net.op("MatMul", [x, net.weight("mlp.w2", (256, 64))], name="mlp.fc2")
    x = net.op("ReduceMean", [x], name="pool", axes=[1], keepdims=0)
    x = net.op("Relu", [net.op("Gemm", [x, net.weight("head.w1", (128, 64)), net.weight("head.b1", (128,))], name="head.fc1", transB=1)])
    x = net.op("Gemm", [x, net.weight("head.w2", (128, 10)), net.weight("head.b2", (10,))], name="head.fc2")
    return net.model([helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["N", 8, 64])], x, ["N", 10])


def fix_symbolic_dims(model):
    for value in list(model.graph.input) + list(model.graph.output):
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.dim_value = 1


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def prod(values):
    result = 1
    for v in values:
        result *= int(v)
    return result


def count(model):
    model = onnx.ModelProto.FromString(model.SerializeToString())
    fix_symbolic_dims(model)
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for value in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        shapes[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]
    params = 0
    for tensor in model.graph.initializer:
        shapes[tensor.name] = list(tensor.dims)
        if tensor.data_type in FLOAT_TYPES:
            params += prod(tensor.dims)
    layers = []
    for index, node in enumerate(model.graph.node):
        if node.op_type == "Constant":
            tensor = attribute(node, "value", None)
            floats = attribute(node, "value_floats", None)
            if tensor is not None and tensor.data_type in FLOAT_TYPES:
                params += prod(tensor.dims)
            elif floats is not None:
                params += len(floats)
            continue
        macs = 0
        group = attribute(node, "group", 1)
        if node.op_type == "Conv":
            x, w, y = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
            macs = prod(y) * (x[1] // group) * prod(w[2:])
        elif node.op_type == "Gemm":
            a, b = shapes[node.input[0]], shapes[node.input[1]]
            m, k = (a[1], a[0]) if attribute(node, "transA", 0) else (a[0], a[1])
            n = b[0] if attribute(node, "transB", 0) else b[1]
            macs = m * k * n
        elif node.op_type == "MatMul":
            a, b, y = shapes[node.input[0]], shapes[node.input[1]], shapes[node.output[0]]
            batch = prod(y[:-2]) if len(a) > 1 and len(b) > 1 else 1
            m = a[-2] if len(a) > 1 else 1
            macs = batch * m * a[-1] * (b[-1] if len(b) > 1 else 1)
        if macs:
            # haloc labels an unnamed node 'OpType#index'
            layers.append({"name": node.name or f"{node.op_type}#{index}", "op": node.op_type, "macs": macs, "group": group, "inChannels": shapes[node.input[0]][1]})
    return {"totalMacs": sum(l["macs"] for l in layers), "totalParams": params, "layers": layers}


def main(argv):
    if len(argv) >= 2 and argv[0] == "build":
        out_dir = argv[1]
        results = []
        for build in (resnet56, mobilenet_v2_grouped, vgg_constant_weights, mlp_head):
            model = build()
            path = os.path.join(out_dir, model.graph.name + ".onnx")
            onnx.save(model, path)
            results.append({"file": path, "name": model.graph.name, **count(model)})
        print(json.dumps({"onnx": onnx.__version__, "models": results}))
    elif len(argv) >= 2 and argv[0] == "count":
        results = []
        for path in argv[1:]:
            model = onnx.load(path)  # loads external data from the model's folder
            weights = [numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer if t.data_type in FLOAT_TYPES]
            checksum = float(sum(w.sum() for w in weights))
            results.append({"file": path, "name": model.graph.name, **count(model), "floatSum": checksum})
        print(json.dumps({"onnx": onnx.__version__, "models": results}))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
