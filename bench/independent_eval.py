"""Independent top-1/top-5 accuracy of an ONNX image classifier on an ImageFolder tar.

This is the cross-check of the project's accuracy figures (the project is TypeScript on
onnxruntime-node): it shares no code with the project and no inference engine with it. Images are
read with tarfile and decoded with PIL; the model is read with the `onnx` module and its graph is
executed by the small numpy interpreter below (no onnxruntime, no onnx.reference).

Run it with Debian's interpreter (packages python3-onnx, python3-numpy, python3-pil):

  /usr/bin/python3 bench/independent_eval.py MODEL.onnx FOLDER.tar [--size 32] \
      [--mean 0.485,0.456,0.406] [--std 0.229,0.224,0.225] [--limit N] [--batch 500] [--threads T] [--json]

Data: the tar holds <root?>/<class>/<file>.jpg|jpeg|png; the label of a file is the index of its
folder name among the class folders sorted alphabetically; files are taken in name order within a
class. --limit N takes N files round-robin over the classes (the first files of each class), so a
partial run keeps every class.

Preprocessing: RGB; when the image is not already the requested size, a bilinear resize (PIL) of the
shorter side to the crop size followed by a centre crop; then x / 255, (x - mean) / std per channel,
NCHW float32.

Decoding differs from the project's (PIL/libjpeg against jpeg-js), so the two can differ by a few
images in a thousand: ResNet-20 on cifar10-test-jpeg.tar scores 81.03% here and 80.81% in the
project; fed the jpeg-js pixels, this interpreter also gives 80.81%.

Execution is float32 throughout; Conv is im2col (stride tricks) plus numpy's einsum, which with
Debian's reference BLAS is faster than matmul, split over --threads worker threads (default: the
usable cores). ResNet-20 on the 10,000 CIFAR-10 test images takes about 70 s on 2 busy cores.

Output: top-1 and top-5 with the image count; with --json one line
{"top1": fraction, "top5": fraction, "images": n, "seconds": wall time}.

Supported operators (default domain): Conv, Relu, Clip, Add, Sub, Mul, Div, Slice, Pad,
GlobalAveragePool, AveragePool, MaxPool, Flatten, Reshape, Gemm, MatMul, BatchNormalization, Concat,
Transpose, Identity, Constant, Softmax, Squeeze, Unsqueeze, Shape, Gather, Cast, Dropout. Any other
operator stops the run with an error that names it.
"""
import argparse
import io
import os
import json
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


class EvalError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

def list_image_folder(tar):
    """[(member, label)] in class order then name order, and the sorted class names."""
    entries = []
    roots = set()
    for member in tar.getmembers():
        if not member.isfile():
            continue
        parts = [p for p in member.name.split('/') if p not in ('', '.')]
        if len(parts) < 2 or parts[-1].startswith('.') or not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
            continue
        roots.add('/'.join(parts[:-2]))
        entries.append((parts[-2], '/'.join(parts), member))
    if not entries:
        raise EvalError('no .jpg/.jpeg/.png files in <class>/<file> folders in the tar')
    if len(roots) > 1:
        raise EvalError('the class folders are not all under one root: ' + ', '.join(sorted(repr(r) for r in roots)[:5]))
    classes = sorted({c for c, _, _ in entries})
    index = {c: i for i, c in enumerate(classes)}
    per_class = [[] for _ in classes]
    for cls, path, member in sorted(entries, key=lambda e: (e[0], e[1])):
        per_class[index[cls]].append(member)
    return per_class, classes


def choose(per_class, limit):
    """All files (class order), or `limit` of them taken round-robin over the classes."""
    if limit is None or limit >= sum(len(f) for f in per_class):
        return [(m, label) for label, files in enumerate(per_class) for m in files]
    chosen = set()
    count = 0
    for rank in range(max(len(f) for f in per_class)):
        for label, files in enumerate(per_class):
            if rank < len(files) and count < limit:
                chosen.add((label, rank))
                count += 1
    return [(m, label) for label, files in enumerate(per_class) for rank, m in enumerate(files) if (label, rank) in chosen]


def load_image(tar, member, height, width):
    from PIL import Image
    data = tar.extractfile(member).read()
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert('RGB')
        w, h = img.size
        if (h, w) != (height, width):
            scale = max(height / h, width / w)
            nh, nw = max(height, round(h * scale)), max(width, round(w * scale))
            img = img.resize((nw, nh), Image.BILINEAR)
            top, left = (nh - height) // 2, (nw - width) // 2
            img = img.crop((left, top, left + width, top + height))
        return np.asarray(img, dtype=np.uint8)


def preprocess(images, mean, std):
    """[N,H,W,3] uint8 -> [N,3,H,W] float32."""
    x = images.astype(np.float32) * np.float32(1.0 / 255.0)
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


# ----------------------------------------------------------------------------------------------
# ONNX graph interpreter
# ----------------------------------------------------------------------------------------------

def attributes(node):
    from onnx import helper, numpy_helper
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if a.type == a.TENSOR:
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        out[a.name] = v
    return out


def ints(values):
    return [int(v) for v in np.asarray(values).reshape(-1)]


def conv_pads(in_sizes, kernel, strides, dilations, pads, auto_pad):
    """[begin..., end...] for the spatial axes."""
    n = len(in_sizes)
    if auto_pad in ('', 'NOTSET'):
        return list(pads) if pads else [0] * (2 * n)
    if auto_pad == 'VALID':
        return [0] * (2 * n)
    if auto_pad in ('SAME_UPPER', 'SAME_LOWER'):
        begin, end = [], []
        for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small = total // 2
            begin.append(small if auto_pad == 'SAME_UPPER' else total - small)
            end.append(total - begin[-1])
        return begin + end
    raise EvalError('unsupported auto_pad ' + repr(auto_pad))


def windows(x, kernel, strides, dilations):
    """View [N, C, Ho, Wo, kh, kw] of the (already padded) NCHW x."""
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if x.shape[2] < span_h or x.shape[3] < span_w:
        raise EvalError('kernel larger than the padded input')
    v = np.lib.stride_tricks.sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    return v[:, :, ::sh, ::sw, ::dh, ::dw]


WORKERS = None  # a ThreadPoolExecutor when more than one thread is used


def op_conv(inputs, attrs, opset):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    if x.ndim != 4:
        raise EvalError('Conv: only 2-D convolutions (4-D input) are supported, got rank %d' % x.ndim)
    n, c, h, wid = x.shape
    o, cg, kh, kw = w.shape
    groups = int(attrs.get('group', 1))
    if c != cg * groups or o % groups:
        raise EvalError('Conv: channels %d, weight %s and group %d do not agree' % (c, w.shape, groups))
    strides = ints(attrs.get('strides', [1, 1]))
    dilations = ints(attrs.get('dilations', [1, 1]))
    pads = conv_pads((h, wid), (kh, kw), strides, dilations, ints(attrs.get('pads', [])), attrs.get('auto_pad', 'NOTSET'))
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    og = o // groups
    k = cg * kh * kw
    wk = np.ascontiguousarray(w.reshape(groups, og, k).transpose(0, 2, 1))  # [G, K, Og]
    view = windows(x, (kh, kw), strides, dilations)  # [N, C, Ho, Wo, kh, kw], no copy
    ho, wo = view.shape[2], view.shape[3]
    out = np.empty((n, o, ho, wo), dtype=np.result_type(x.dtype, w.dtype))

    def images(start, stop):
        # im2col of a few images as [G, K, m] (m = images * Ho * Wo), then out = W^T cols per group.
        # numpy's own einsum loop: with Debian's reference BLAS it is 2-4x faster than matmul here.
        m = stop - start
        part = view[start:stop].reshape(m, groups, cg, ho, wo, kh, kw)
        cols = part.transpose(1, 2, 5, 6, 0, 3, 4).reshape(groups, k, m * ho * wo)
        res = np.einsum('gkm,gko->gom', cols, wk)
        out[start:stop] = res.reshape(groups, og, m, ho, wo).transpose(2, 0, 1, 3, 4).reshape(m, o, ho, wo)

    # chunks whose column matrix stays near 8 MB (cache-friendly), spread over the worker threads
    # (numpy releases the GIL in the copies and in einsum)
    step = max(1, (1 << 21) // max(1, ho * wo * c * kh * kw))
    starts = range(0, n, step)
    if WORKERS is None or len(starts) == 1:
        for start in starts:
            images(start, min(n, start + step))
    else:
        for f in [WORKERS.submit(images, start, min(n, start + step)) for start in starts]:
            f.result()
    if b is not None:
        out += b.reshape(1, o, 1, 1)
    return [out]


def pool_geometry(x, attrs, dilations):
    if x.ndim != 4:
        raise EvalError('pooling: only 4-D inputs are supported, got rank %d' % x.ndim)
    kernel = ints(attrs['kernel_shape'])
    strides = ints(attrs.get('strides', [1, 1]))
    size = x.shape[2:]
    pads = conv_pads(size, kernel, strides, dilations, ints(attrs.get('pads', [])), attrs.get('auto_pad', 'NOTSET'))
    extra = [0, 0]
    if int(attrs.get('ceil_mode', 0)):
        for i in range(2):
            span = (kernel[i] - 1) * dilations[i] + 1
            padded = size[i] + pads[i] + pads[i + 2]
            out = -(-(padded - span) // strides[i]) + 1
            if (out - 1) * strides[i] >= size[i] + pads[i]:
                out -= 1  # the last window must start inside the input or its leading padding
            extra[i] = max(0, (out - 1) * strides[i] + span - padded)
    return kernel, strides, pads, extra


def op_maxpool(inputs, attrs, opset):
    x = inputs[0]
    dilations = ints(attrs.get('dilations', [1, 1]))
    kernel, strides, pads, extra = pool_geometry(x, attrs, dilations)
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2] + extra[0]), (pads[1], pads[3] + extra[1])), constant_values=-np.inf)
    return [windows(xp, kernel, strides, dilations).max(axis=(4, 5))]


def op_avgpool(inputs, attrs, opset):
    x = inputs[0]
    kernel, strides, pads, extra = pool_geometry(x, attrs, [1, 1])
    widths = ((0, 0), (0, 0), (pads[0], pads[2] + extra[0]), (pads[1], pads[3] + extra[1]))
    total = windows(np.pad(x, widths), kernel, strides, [1, 1]).sum(axis=(4, 5))
    counted = np.zeros((1, 1) + x.shape[2:], dtype=x.dtype)
    counted[...] = 1
    if int(attrs.get('count_include_pad', 0)):
        counted = np.pad(counted, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=1)
        counted = np.pad(counted, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    else:
        counted = np.pad(counted, widths)
    count = windows(counted, kernel, strides, [1, 1]).sum(axis=(4, 5))
    return [(total / count).astype(x.dtype, copy=False)]


def op_global_avgpool(inputs, attrs, opset):
    x = inputs[0]
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]


def op_gemm(inputs, attrs, opset):
    a, b = inputs[0], inputs[1]
    if int(attrs.get('transA', 0)):
        a = a.T
    if int(attrs.get('transB', 0)):
        b = b.T
    y = a @ b
    alpha = attrs.get('alpha', 1.0)
    if alpha != 1.0:
        y = y * np.asarray(alpha, dtype=y.dtype)
    if len(inputs) > 2 and inputs[2] is not None:
        beta = attrs.get('beta', 1.0)
        y = y + inputs[2] * np.asarray(beta, dtype=y.dtype)
    return [y]


def op_batchnorm(inputs, attrs, opset):
    x, scale, bias, mean, var = inputs[:5]
    if int(attrs.get('training_mode', 0)):
        raise EvalError('BatchNormalization: training_mode=1 is not supported')
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = np.asarray(attrs.get('epsilon', 1e-5), dtype=np.float32)
    factor = (scale / np.sqrt(var + eps)).astype(x.dtype)
    shift = (bias - mean * factor).astype(x.dtype)
    return [x * factor.reshape(shape) + shift.reshape(shape)]


def op_slice(inputs, attrs, opset):
    x = inputs[0]
    if opset < 10:
        starts, ends = ints(attrs['starts']), ints(attrs['ends'])
        axes = ints(attrs['axes']) if 'axes' in attrs else list(range(len(starts)))
        steps = [1] * len(starts)
    else:
        starts, ends = ints(inputs[1]), ints(inputs[2])
        axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
        steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        if st == 0:
            raise EvalError('Slice: step 0')
        index[a % x.ndim] = slice(s, e, st)  # Python's slice clamps the way ONNX specifies
    return [x[tuple(index)]]


def op_pad(inputs, attrs, opset):
    x = inputs[0]
    mode = attrs.get('mode', 'constant')
    if opset < 11:
        pads = ints(attrs['pads'])
        value = attrs.get('value', 0.0)
        axes = list(range(x.ndim))
    else:
        pads = ints(inputs[1])
        value = inputs[2].reshape(-1)[0] if len(inputs) > 2 and inputs[2] is not None and inputs[2].size else 0
        axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(x.ndim))
    k = len(axes)
    widths = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        widths[a % x.ndim] = (pads[i], pads[i + k])
    if any(p < 0 for w in widths for p in w):
        # negative pads crop
        index = tuple(slice(max(0, -b), x.shape[d] - max(0, -e)) for d, (b, e) in enumerate(widths))
        x = x[index]
        widths = [(max(0, b), max(0, e)) for b, e in widths]
    if mode == 'constant':
        return [np.pad(x, widths, mode='constant', constant_values=np.asarray(value, dtype=x.dtype))]
    if mode in ('reflect', 'edge'):
        return [np.pad(x, widths, mode=mode)]
    raise EvalError('Pad: unsupported mode ' + repr(mode))


def op_flatten(inputs, attrs, opset):
    x = inputs[0]
    axis = int(attrs.get('axis', 1)) % (x.ndim + 1) if x.ndim else 0
    return [x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))]


def op_reshape(inputs, attrs, opset):
    x = inputs[0]
    shape = ints(inputs[1]) if opset >= 5 else ints(attrs['shape'])
    allowzero = int(attrs.get('allowzero', 0))
    target = [x.shape[i] if (d == 0 and not allowzero) else d for i, d in enumerate(shape)]
    return [x.reshape(target)]


def op_clip(inputs, attrs, opset):
    x = inputs[0]
    if opset < 11:
        lo, hi = attrs.get('min', None), attrs.get('max', None)
    else:
        lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
        hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    if lo is not None:
        x = np.maximum(x, np.asarray(lo, dtype=x.dtype))
    if hi is not None:
        x = np.minimum(x, np.asarray(hi, dtype=x.dtype))
    return [x]


def op_div(inputs, attrs, opset):
    a, b = inputs
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        q = np.abs(a) // np.abs(b)  # integer division truncates toward zero
        return [(np.sign(a) * np.sign(b) * q).astype(np.result_type(a, b))]
    return [a / b]


def op_softmax(inputs, attrs, opset):
    x = inputs[0]
    if opset < 13:
        axis = int(attrs.get('axis', 1)) % x.ndim
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        return [(e / e.sum(axis=1, keepdims=True)).reshape(x.shape)]
    axis = int(attrs.get('axis', -1))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / e.sum(axis=axis, keepdims=True)]


def op_squeeze(inputs, attrs, opset):
    x = inputs[0]
    if opset >= 13:
        axes = ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else None
    else:
        axes = ints(attrs['axes']) if 'axes' in attrs else None
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]


def op_unsqueeze(inputs, attrs, opset):
    x = inputs[0]
    axes = ints(inputs[1]) if opset >= 13 else ints(attrs['axes'])
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


def op_shape(inputs, attrs, opset):
    shape = np.array(inputs[0].shape, dtype=np.int64)
    start, end = attrs.get('start', 0), attrs.get('end', None)
    return [shape[start:end]]


def op_gather(inputs, attrs, opset):
    x, idx = inputs
    axis = int(attrs.get('axis', 0)) % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take(x, idx, axis=axis)]


def op_constant(inputs, attrs, opset):
    if 'value' in attrs:
        return [attrs['value']]
    for key, dtype in (('value_float', np.float32), ('value_floats', np.float32), ('value_int', np.int64), ('value_ints', np.int64)):
        if key in attrs:
            return [np.array(attrs[key], dtype=dtype)]
    raise EvalError('Constant: unsupported attribute ' + ', '.join(attrs))


def op_cast(inputs, attrs, opset):
    from onnx import mapping
    return [inputs[0].astype(mapping.TENSOR_TYPE_TO_NP_TYPE[int(attrs['to'])])]


def op_transpose(inputs, attrs, opset):
    x = inputs[0]
    perm = ints(attrs['perm']) if 'perm' in attrs else list(reversed(range(x.ndim)))
    return [np.transpose(x, perm)]


def same_dtype(f):
    return lambda inputs, attrs, opset: [f(*inputs)]


OPS = {
    'Conv': op_conv,
    'Relu': lambda i, a, o: [np.maximum(i[0], np.asarray(0, dtype=i[0].dtype))],
    'Clip': op_clip,
    'Add': same_dtype(np.add),
    'Sub': same_dtype(np.subtract),
    'Mul': same_dtype(np.multiply),
    'Div': op_div,
    'Slice': op_slice,
    'Pad': op_pad,
    'GlobalAveragePool': op_global_avgpool,
    'AveragePool': op_avgpool,
    'MaxPool': op_maxpool,
    'Flatten': op_flatten,
    'Reshape': op_reshape,
    'Gemm': op_gemm,
    'MatMul': same_dtype(np.matmul),
    'BatchNormalization': op_batchnorm,
    'Concat': lambda i, a, o: [np.concatenate([t for t in i if t is not None], axis=int(a['axis']))],
    'Transpose': op_transpose,
    'Identity': lambda i, a, o: [i[0]],
    'Dropout': lambda i, a, o: [i[0], np.ones(i[0].shape, dtype=bool)],
    'Constant': op_constant,
    'Softmax': op_softmax,
    'Squeeze': op_squeeze,
    'Unsqueeze': op_unsqueeze,
    'Shape': op_shape,
    'Gather': op_gather,
    'Cast': op_cast,
}


class Model:
    def __init__(self, path):
        import onnx
        from onnx import numpy_helper
        model = onnx.load(path)
        self.opset = 1
        for imp in model.opset_import:
            if imp.domain in ('', 'ai.onnx'):
                self.opset = imp.version
        graph = model.graph
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in self.constants]
        if len(self.inputs) != 1:
            raise EvalError('expected one image input, the graph has %d non-initializer inputs: %s' % (len(self.inputs), self.inputs))
        self.output = graph.output[0].name
        unknown = sorted({'%s%s' % (n.domain + '.' if n.domain not in ('', 'ai.onnx') else '', n.op_type)
                          for n in graph.node if n.domain not in ('', 'ai.onnx') or n.op_type not in OPS})
        if unknown:
            raise EvalError('unsupported operator(s): ' + ', '.join(unknown))
        self.nodes = self.sort(graph.node)
        self.attrs = [attributes(n) for n in self.nodes]
        # the last node that reads each value, so that intermediate tensors are freed early
        self.last_use = {}
        for k, n in enumerate(self.nodes):
            for name in n.input:
                self.last_use[name] = k
        self.keep = set(self.constants) | {self.output}

    def sort(self, nodes):
        """Nodes in a topological order (Kahn's algorithm, keeping the file order among ready nodes)."""
        produced = {name: k for k, n in enumerate(nodes) for name in n.output if name}
        waiting = [0] * len(nodes)
        readers = [[] for _ in nodes]
        for k, n in enumerate(nodes):
            for name in set(n.input):
                if name in produced:
                    waiting[k] += 1
                    readers[produced[name]].append(k)
        import heapq
        ready = [k for k, w in enumerate(waiting) if w == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            k = heapq.heappop(ready)
            order.append(nodes[k])
            for r in readers[k]:
                waiting[r] -= 1
                if waiting[r] == 0:
                    heapq.heappush(ready, r)
        if len(order) != len(nodes):
            raise EvalError('the graph has a cycle')
        return order

    def run(self, x):
        values = dict(self.constants)
        values[self.inputs[0]] = x
        for k, (node, attrs) in enumerate(zip(self.nodes, self.attrs)):
            args = []
            for name in node.input:
                if name == '':
                    args.append(None)
                elif name in values:
                    args.append(values[name])
                else:
                    raise EvalError('%s node %r reads %r, which nothing produced' % (node.op_type, node.name, name))
            try:
                results = OPS[node.op_type](args, attrs, self.opset)
            except (EvalError, ValueError, KeyError, IndexError, TypeError) as e:
                raise EvalError('%s node %r: %s' % (node.op_type, node.name, e))
            for name, value in zip(node.output, results):
                if name:
                    values[name] = value
            for name in node.input:
                if self.last_use.get(name) == k and name not in self.keep:
                    values.pop(name, None)
        return values[self.output]


# ----------------------------------------------------------------------------------------------

def parse_floats(text, name):
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        raise EvalError('--%s: expected comma-separated numbers, got %r' % (name, text))
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise EvalError('--%s: expected 1 or 3 values' % name)
    return np.array(values, dtype=np.float32)


def main(argv):
    p = argparse.ArgumentParser(description='Top-1/top-5 of an ONNX classifier on an ImageFolder tar, with a numpy ONNX interpreter.')
    p.add_argument('model')
    p.add_argument('data', help='tar of an ImageFolder: <root?>/<class>/<file>.jpg|png')
    p.add_argument('--size', default='32', help='H or H,W of the model input (default 32)')
    p.add_argument('--mean', default='0.485,0.456,0.406')
    p.add_argument('--std', default='0.229,0.224,0.225')
    p.add_argument('--limit', type=int, default=None, help='at most N images, round-robin over the classes')
    p.add_argument('--batch', type=int, default=500)
    p.add_argument('--threads', type=int, default=None, help='worker threads for Conv (default: the usable cores)')
    p.add_argument('--json', action='store_true', help='print one JSON line {"top1","top5","images","seconds"}')
    args = p.parse_args(argv)
    started = time.time()
    try:
        size = [int(v) for v in args.size.split(',')]
        height, width = (size[0], size[0]) if len(size) == 1 else size[:2]
        mean, std = parse_floats(args.mean, 'mean'), parse_floats(args.std, 'std')
        if args.batch < 1 or (args.limit is not None and args.limit < 1):
            raise EvalError('--batch and --limit must be positive')
        threads = args.threads or len(os.sched_getaffinity(0))
        if threads > 1:
            global WORKERS
            WORKERS = ThreadPoolExecutor(threads)
        model = Model(args.model)
        top1 = top5 = seen = 0
        with tarfile.open(args.data) as tar:
            per_class, classes = list_image_folder(tar)
            files = choose(per_class, args.limit)
            for start in range(0, len(files), args.batch):
                chunk = files[start:start + args.batch]
                images = np.stack([load_image(tar, m, height, width) for m, _ in chunk])
                labels = np.array([label for _, label in chunk])
                logits = model.run(preprocess(images, mean, std))
                logits = np.asarray(logits).reshape(len(chunk), -1)
                if logits.shape[1] < len(classes):
                    raise EvalError('the model gives %d scores per image but the data has %d classes' % (logits.shape[1], len(classes)))
                top1 += int((np.argmax(logits, axis=1) == labels).sum())
                k = min(5, logits.shape[1])
                best = np.argpartition(-logits, k - 1, axis=1)[:, :k]
                top5 += int((best == labels[:, None]).any(axis=1).sum())
                seen += len(chunk)
    except (EvalError, OSError, tarfile.TarError) as e:
        print('independent_eval: error: %s' % e, file=sys.stderr)
        return 1
    seconds = time.time() - started
    if args.json:
        print(json.dumps({'top1': top1 / seen, 'top5': top5 / seen, 'images': seen, 'seconds': round(seconds, 3)}))
    else:
        print('images: %d (%d classes)' % (seen, len(classes)))
        print('top-1: %.2f%% (%d)' % (100.0 * top1 / seen, top1))
        print('top-5: %.2f%% (%d)' % (100.0 * top5 / seen, top5))
        print('time: %.1f s' % seconds)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
