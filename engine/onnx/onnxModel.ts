// Reads an .onnx file into a model object. The file is read into one buffer; tensor bytes stay views
// into it (protobufjs slices a Node Buffer without copying), so weights are copied exactly once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, HalocError } from '../errors';
import { collectConstants, type ConstantMap } from './constants';
import { int64ToNumber, onnx } from './proto';

/** A parsed ONNX model with its constants; the proto is shared, never mutated by readers. */
export interface OnnxModel {
  readonly filePath: string;
  readonly dir: string;
  readonly fileSizeBytes: number;
  readonly proto: onnx.ModelProto;
  readonly graph: onnx.IGraphProto;
  readonly constants: ConstantMap;
  /** Version of the default ("" / ai.onnx) operator set. */
  readonly opsetVersion: number;
}

/** Reads and decodes an .onnx file; throws a HalocError naming the file and the problem. */
export function readOnnxModel(filePath: string): OnnxModel {
  const absolute = path.resolve(filePath);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HalocError('NOT_FOUND', `${filePath}: no such file`);
    if (code === 'EISDIR') throw new HalocError('NOT_ONNX', `${filePath}: is a folder, not an ONNX file`);
    throw new HalocError('IO', `${filePath}: cannot be read (${errorMessage(error)})`);
  }
  return decodeOnnxModel(bytes, absolute);
}

/** Decodes ONNX bytes that were read from `filePath` (used for external data and messages). */
export function decodeOnnxModel(bytes: Uint8Array, filePath: string): OnnxModel {
  if (bytes.length === 0) throw new HalocError('NOT_ONNX', `${filePath}: the file is empty`);
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const kind = /index out of range/.test(errorMessage(error)) ? 'truncated or damaged' : 'not a valid ONNX file';
    throw new HalocError('CORRUPT', `${filePath}: ${kind} (${errorMessage(error)})`);
  }
  const graph = proto.graph;
  if (!graph || int64ToNumber(proto.irVersion) <= 0) {
    throw new HalocError('NOT_ONNX', `${filePath}: not an ONNX model (no graph or IR version found)`);
  }
  const dir = path.dirname(filePath);
  let constants: ConstantMap;
  try {
    constants = collectConstants(graph, dir);
  } catch (error) {
    // Damaged tensors, missing or unsafe external data: the one-line message must name the model file.
    throw error instanceof HalocError ? new HalocError(error.code, `${filePath}: ${error.message}`) : error;
  }
  return { filePath, dir, fileSizeBytes: bytes.length, proto, graph, constants, opsetVersion: defaultOpset(proto) };
}

function defaultOpset(proto: onnx.IModelProto): number {
  const entry = (proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? int64ToNumber(entry.version) : 1;
}
