// Encodes a model back to ONNX bytes and writes it atomically. Every field that onnx-proto knows is
// kept as read; tensors can be moved to an external data file (needed beyond protobuf's 2 GB).
import * as path from 'node:path';
import type { CancelSignal } from '../cancellation';
import { writeFileAtomic, writeFilesAtomic } from '../io/atomicWrite';
import type { ConstantMap } from './constants';
import { StoredTensor } from './constTensor';
import { isFloatType } from './dataType';
import { onnx } from './proto';

/** Options for writing a model. */
export interface WriteOnnxOptions {
  /** Store initializers of at least this many bytes in `<file>.data` beside the model. */
  readonly externalDataMinBytes?: number;
  /** Constants of the model being written, needed when its initializers use external data. */
  readonly constants?: ConstantMap;
  /** The model already encoded by the caller, written as it is when no tensor moves to external data. */
  readonly encoded?: Uint8Array;
  /** Paths that must not be overwritten (the input model and its external data files). */
  readonly protectedPaths?: readonly string[];
  /** A cancel stops the write and leaves no file (checked while writing and before the renames). */
  readonly cancel?: CancelSignal;
}

/** Encodes a model to ONNX bytes (initializers with external data are written as they are). */
export function encodeOnnx(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Writes a model to `filePath` (and its external data file when asked or needed), atomically. */
export function writeOnnxFile(model: onnx.IModelProto, filePath: string, options: WriteOnnxOptions = {}): void {
  const graph = model.graph;
  const needsExternal = (graph?.initializer ?? []).some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
  if (!graph || (options.externalDataMinBytes === undefined && !needsExternal)) {
    writeFileAtomic(filePath, [options.encoded ?? encodeOnnx(model)], options.protectedPaths, options.cancel);
    return;
  }
  const dataFileName = `${path.basename(filePath)}.data`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const minBytes = options.externalDataMinBytes ?? Infinity;
  const initializer = (graph.initializer ?? []).map((tensor) => {
    const wasExternal = tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
    const raw = wasExternal ? externalBytes(tensor, options.constants) : tensor.rawData;
    // Only float weights move out: small integer tensors (shapes, pads) stay inline, where runtimes expect them.
    if (!raw || (!wasExternal && (raw.length < minBytes || !isFloatType(tensor.dataType ?? 0)))) return tensor;
    const padding = (64 - (offset % 64)) % 64; // aligned, as onnx's writer does, so readers can map it
    if (padding) chunks.push(new Uint8Array(padding));
    offset += padding;
    chunks.push(raw);
    const moved: onnx.ITensorProto = {
      ...tensor,
      rawData: new Uint8Array(0),
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: dataFileName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ],
    };
    offset += raw.length;
    return moved;
  });
  writeFilesAtomic(
    [
      { path: path.join(path.dirname(filePath), dataFileName), chunks },
      { path: filePath, chunks: [encodeOnnx({ ...model, graph: { ...graph, initializer } })] },
    ],
    options.protectedPaths,
    options.cancel,
  );
}

/** The model with every external initializer's bytes stored inline (for sessions made from bytes). */
export function inlineExternalData(model: onnx.IModelProto, constants: ConstantMap): onnx.IModelProto {
  const isExternal = (t: onnx.ITensorProto): boolean => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
  const graph = model.graph;
  if (!graph?.initializer?.some(isExternal)) return model;
  const inline = (t: onnx.ITensorProto): onnx.ITensorProto => ({ ...t, rawData: externalBytes(t, constants), dataLocation: onnx.TensorProto.DataLocation.DEFAULT, externalData: [] });
  return { ...model, graph: { ...graph, initializer: graph.initializer.map((t) => (isExternal(t) ? inline(t) : t)) } };
}

function externalBytes(tensor: onnx.ITensorProto, constants: ConstantMap | undefined): Uint8Array {
  const stored = constants?.get(tensor.name ?? '');
  const bytes = stored instanceof StoredTensor ? stored.storedBytes() : undefined;
  if (!bytes) throw new Error(`writeOnnxFile: the model's constants are needed to copy external tensor '${tensor.name ?? ''}'`);
  return bytes;
}
