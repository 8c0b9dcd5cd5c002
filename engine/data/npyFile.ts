// Reads NumPy .npy arrays (and the arrays of an .npz zip archive, through fflate) into typed arrays.
import { unzipSync } from 'fflate';
import { errorMessage, HalocError } from '../errors';
import { halfToFloat } from '../float16';

/** One array: float types become Float32Array, uint8/bool Uint8Array, other integers Int32Array. */
export interface NpyArray {
  readonly shape: readonly number[];
  /** The NumPy dtype descriptor, e.g. '<f4' or '|u1'. */
  readonly dtype: string;
  readonly data: Float32Array | Uint8Array | Int32Array;
}

/** Parses the bytes of one .npy file; `name` is only for error messages. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const bad = (what: string): HalocError => new HalocError('CORRUPT', `${name}: not a readable .npy array (${what}); save it with numpy.save`);
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw bad('missing the NUMPY signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6] ?? 0;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, Math.min(headerLength, bytes.length - headerStart)).toString('latin1');
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (dtype === undefined || shapeText === undefined) throw bad('unreadable header');
  if (fortran) throw new HalocError('UNSUPPORTED', `${name}: Fortran-ordered array; save it with numpy.save(numpy.ascontiguousarray(x))`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const kind = dtype.slice(1);
  const itemSize = Number(kind.slice(1));
  if (dtype.startsWith('>') && itemSize > 1) throw new HalocError('UNSUPPORTED', `${name}: big-endian array (${dtype}); save it as little-endian with x.astype(x.dtype.newbyteorder('<'))`);
  const start = headerStart + headerLength;
  if (!Number.isFinite(itemSize) || start + count * itemSize > bytes.length) throw bad(`truncated data for shape [${shape.join(', ')}]`);
  const read = (index: number): number => readElement(view, start + index * itemSize, kind);
  if (kind === 'u1' || kind === 'b1') return { shape, dtype, data: bytes.slice(start, start + count) };
  if (!/^(f4|f8|f2|i1|i2|i4|i8|u2|u4|u8)$/.test(kind)) throw new HalocError('UNSUPPORTED', `${name}: dtype ${dtype} is not supported; save images as float32 or uint8 and labels as integers`);
  const data = kind.startsWith('f') ? new Float32Array(count) : new Int32Array(count);
  for (let i = 0; i < count; i++) data[i] = read(i);
  return { shape, dtype, data };
}

/** Parses every array of an .npz archive (zip of .npy files), by name without '.npy'. */
export function parseNpz(bytes: Uint8Array, name: string): Map<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw new HalocError('CORRUPT', `${name}: not a readable .npz archive (${errorMessage(error)}); save it with numpy.savez`);
  }
  const arrays = new Map<string, NpyArray>();
  for (const [file, data] of Object.entries(files)) {
    if (file.endsWith('.npy')) arrays.set(file.slice(0, -4), parseNpy(data, `${name}: ${file}`));
  }
  return arrays;
}

function readElement(view: DataView, offset: number, kind: string): number {
  switch (kind) {
    case 'f4': return view.getFloat32(offset, true);
    case 'f8': return view.getFloat64(offset, true);
    case 'f2': return halfToFloat(view.getUint16(offset, true));
    case 'i1': return view.getInt8(offset);
    case 'i2': return view.getInt16(offset, true);
    case 'i4': return view.getInt32(offset, true);
    case 'i8': return Number(view.getBigInt64(offset, true));
    case 'u2': return view.getUint16(offset, true);
    case 'u4': return view.getUint32(offset, true);
    default: return Number(view.getBigUint64(offset, true));
  }
}
