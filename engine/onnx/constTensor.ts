// Constant tensors of a model (initializers, Constant nodes, and views of them through Reshape,
// Transpose and Identity). Bytes are read lazily and never copied until a caller asks for values.
import { HalocError } from '../errors';
import { bfloat16ToFloat, halfToFloat } from '../float16';
import { byteSizeOf, DataType } from './dataType';
import { readExternalBytes, type ExternalDataRef } from './externalData';
import { int64ToNumber, type onnx } from './proto';

/** Where a constant comes from, as shown to the user. */
export type ConstOrigin =
  | { readonly kind: 'initializer' }
  | { readonly kind: 'constantNode'; readonly nodeName: string }
  | { readonly kind: 'folded'; readonly op: string; readonly fromTensor: string };

/** A constant tensor with lazily materialised values. */
export interface ConstTensor {
  readonly name: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly elementCount: number;
  readonly origin: ConstOrigin;
  /** The stored tensor this one is a view of (itself when stored): parameters are counted once per store. */
  readonly storageName: string;
  /** Values as float32 in row-major order of `dims` (a new array). */
  toFloat32(): Float32Array;
  /** Values as JS numbers (for shape and index tensors; int64 beyond 2^53 loses precision). */
  toNumbers(): number[];
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCountOf(dims: readonly number[]): number {
  return dims.reduce((product, d) => product * d, 1);
}

/** A tensor stored in the model: raw bytes, typed repeated fields, or external data. */
export class StoredTensor implements ConstTensor {
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly elementCount: number;

  constructor(
    readonly name: string,
    private readonly proto: onnx.ITensorProto,
    readonly origin: ConstOrigin,
    private readonly external: ExternalDataRef | undefined,
  ) {
    this.dims = (proto.dims ?? []).map(int64ToNumber);
    this.dataType = proto.dataType ?? 0;
    this.elementCount = elementCountOf(this.dims);
    if (this.dims.some((d) => d < 0 || !Number.isSafeInteger(d))) {
      throw new HalocError('CORRUPT', `tensor '${name}' has an invalid shape [${this.dims.join(', ')}]`);
    }
    const expected = byteSizeOf(this.dataType, this.elementCount);
    const stored = external ? external.lengthBytes : (proto.rawData?.length ?? 0);
    if ((external || stored > 0) && expected > 0 && stored !== expected) {
      throw new HalocError('CORRUPT', `tensor '${name}' of shape [${this.dims.join(', ')}] should hold ${expected} bytes but holds ${stored}`);
    }
    const typedCount = external || stored > 0 ? undefined : typedFieldLength(proto, this.dataType);
    if (typedCount !== undefined && typedCount !== this.elementCount) {
      throw new HalocError('CORRUPT', `tensor '${name}' of shape [${this.dims.join(', ')}] should hold ${this.elementCount} values but holds ${typedCount}`);
    }
  }

  get storageName(): string {
    return this.name;
  }

  toFloat32(): Float32Array {
    const raw = this.storedBytes();
    if (raw && this.dataType === DataType.FLOAT) {
      // One copy into an aligned buffer: raw_data offsets inside the file need not be 4-byte aligned.
      const aligned = new Uint8Array(raw.byteLength);
      aligned.set(raw);
      return new Float32Array(aligned.buffer, 0, this.elementCount);
    }
    return Float32Array.from(this.values());
  }

  toNumbers(): number[] {
    return Array.from(this.values());
  }

  /** The stored little-endian bytes (a view into the file buffer, or one read of external data). */
  storedBytes(): Uint8Array | undefined {
    const raw = this.external ? readExternalBytes(this.external) : this.proto.rawData;
    return raw && raw.length > 0 ? raw : undefined;
  }

  private values(): ArrayLike<number> {
    const raw = this.storedBytes();
    if (raw) return decodeRaw(raw, this.dataType, this.elementCount, this.name);
    return decodeTypedFields(this.proto, this.dataType, this.name);
  }
}

/** The same values as another constant with a new shape (Reshape, Identity, Flatten, Squeeze...). */
export class ReshapedTensor implements ConstTensor {
  readonly origin: ConstOrigin;
  constructor(
    readonly name: string,
    private readonly source: ConstTensor,
    readonly dims: readonly number[],
    op: string,
  ) {
    this.origin = { kind: 'folded', op, fromTensor: source.name };
  }
  get dataType(): number { return this.source.dataType; }
  get elementCount(): number { return this.source.elementCount; }
  get storageName(): string { return this.source.storageName; }
  toFloat32(): Float32Array { return this.source.toFloat32(); }
  toNumbers(): number[] { return this.source.toNumbers(); }
}

/** A constant permuted by Transpose(perm); values are permuted when asked for. */
export class TransposedTensor implements ConstTensor {
  readonly origin: ConstOrigin;
  readonly dims: readonly number[];
  constructor(
    readonly name: string,
    private readonly source: ConstTensor,
    private readonly perm: readonly number[],
  ) {
    this.origin = { kind: 'folded', op: 'Transpose', fromTensor: source.name };
    this.dims = perm.map((axis) => source.dims[axis] ?? 0);
  }
  get dataType(): number { return this.source.dataType; }
  get elementCount(): number { return this.source.elementCount; }
  get storageName(): string { return this.source.storageName; }
  toFloat32(): Float32Array { return transposeValues(this.source.toFloat32(), this.source.dims, this.perm); }
  toNumbers(): number[] { return Array.from(transposeValues(Float64Array.from(this.source.toNumbers()), this.source.dims, this.perm)); }
}

/** Permutes a row-major array of shape `dims` by `perm` (output axis i = input axis perm[i]). */
export function transposeValues<T extends Float32Array | Float64Array>(input: T, dims: readonly number[], perm: readonly number[]): T {
  const rank = dims.length;
  const output = new (input.constructor as new (n: number) => T)(input.length);
  const inStrides = new Array<number>(rank).fill(1);
  for (let axis = rank - 2; axis >= 0; axis--) inStrides[axis] = (inStrides[axis + 1] ?? 1) * (dims[axis + 1] ?? 1);
  const outDims = perm.map((a) => dims[a] ?? 1);
  const strideOfOut = perm.map((a) => inStrides[a] ?? 0);
  const index = new Array<number>(rank).fill(0);
  for (let out = 0, src = 0; out < output.length; out++) {
    output[out] = input[src] ?? 0;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis] = (index[axis] ?? 0) + 1;
      src += strideOfOut[axis] ?? 0;
      if ((index[axis] ?? 0) < (outDims[axis] ?? 1)) break;
      src -= (strideOfOut[axis] ?? 0) * (outDims[axis] ?? 1);
      index[axis] = 0;
    }
  }
  return output;
}

function decodeRaw(raw: Uint8Array, dataType: number, count: number, name: string): ArrayLike<number> {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  const read = rawReader(view, dataType, name);
  for (let i = 0; i < count; i++) out[i] = read(i);
  return out;
}

function rawReader(view: DataView, dataType: number, name: string): (i: number) => number {
  switch (dataType) {
    case DataType.FLOAT: return (i) => view.getFloat32(i * 4, true);
    case DataType.DOUBLE: return (i) => view.getFloat64(i * 8, true);
    case DataType.FLOAT16: return (i) => halfToFloat(view.getUint16(i * 2, true));
    case DataType.BFLOAT16: return (i) => bfloat16ToFloat(view.getUint16(i * 2, true));
    case DataType.INT8: return (i) => view.getInt8(i);
    case DataType.UINT8: case DataType.BOOL: return (i) => view.getUint8(i);
    case DataType.INT16: return (i) => view.getInt16(i * 2, true);
    case DataType.UINT16: return (i) => view.getUint16(i * 2, true);
    case DataType.INT32: return (i) => view.getInt32(i * 4, true);
    case DataType.UINT32: return (i) => view.getUint32(i * 4, true);
    case DataType.INT64: return (i) => Number(view.getBigInt64(i * 8, true));
    case DataType.UINT64: return (i) => Number(view.getBigUint64(i * 8, true));
    default: throw new HalocError('UNSUPPORTED', `tensor '${name}' has element type ${dataType}, whose values cannot be read`);
  }
}

function decodeTypedFields(proto: onnx.ITensorProto, dataType: number, name: string): ArrayLike<number> {
  switch (dataType) {
    case DataType.FLOAT: return proto.floatData ?? [];
    case DataType.DOUBLE: return proto.doubleData ?? [];
    case DataType.INT64: return (proto.int64Data ?? []).map(int64ToNumber);
    case DataType.UINT32: case DataType.UINT64: return (proto.uint64Data ?? []).map(int64ToNumber);
    case DataType.FLOAT16: return (proto.int32Data ?? []).map(halfToFloat);
    case DataType.BFLOAT16: return (proto.int32Data ?? []).map(bfloat16ToFloat);
    case DataType.INT32: case DataType.INT16: case DataType.INT8: case DataType.UINT16: case DataType.UINT8: case DataType.BOOL:
      return proto.int32Data ?? [];
    default: throw new HalocError('UNSUPPORTED', `tensor '${name}' has element type ${dataType}, whose values cannot be read`);
  }
}

/** Number of values in the typed field that holds a tensor of this type; undefined for strings and unknown types. */
function typedFieldLength(proto: onnx.ITensorProto, dataType: number): number | undefined {
  switch (dataType) {
    case DataType.FLOAT: return proto.floatData?.length ?? 0;
    case DataType.DOUBLE: return proto.doubleData?.length ?? 0;
    case DataType.INT64: return proto.int64Data?.length ?? 0;
    case DataType.UINT32: case DataType.UINT64: return proto.uint64Data?.length ?? 0;
    case DataType.FLOAT16: case DataType.BFLOAT16: case DataType.INT32: case DataType.INT16: case DataType.INT8:
    case DataType.UINT16: case DataType.UINT8: case DataType.BOOL:
      return proto.int32Data?.length ?? 0;
    default: return undefined;
  }
}
