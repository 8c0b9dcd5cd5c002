// ONNX element types (TensorProto.DataType): names as the ONNX text syntax writes them, and sizes.

/** Element type codes of TensorProto.DataType, including the float8/4-bit codes newer than onnx-proto. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
  BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15,
  BFLOAT16: 16, FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21,
  INT4: 22, FLOAT4E2M1: 23,
} as const;

const namesByCode: Record<number, string> = {
  0: 'undefined', 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64',
  15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
  20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

/** Bits per element; 0 for strings and unknown codes. */
const bitsByCode: Record<number, number> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64,
  15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4,
};

/** The ONNX text-syntax name of an element type (`float`, `int64`, ...). */
export function dataTypeName(code: number): string {
  return namesByCode[code] ?? `type${code}`;
}

/** Storage size in bytes of `elements` values of a type (rounded up for 4-bit types); 0 if unknown. */
export function byteSizeOf(code: number, elements: number): number {
  return Math.ceil(((bitsByCode[code] ?? 0) * elements) / 8);
}

/** True for the floating-point element types, whose constant tensors count as parameters. */
export function isFloatType(code: number): boolean {
  return code === 1 || code === 10 || code === 11 || code === 16 || (code >= 17 && code <= 20) || code === 23;
}
