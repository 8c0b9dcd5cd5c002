// Byte-level mutations of ONNX files for the fuzzer: truncation, flipped bytes, wrong wire types,
// huge declared lengths, and inserted or deleted runs of bytes. None of them decodes the model.
import type { FuzzRandom } from './fuzzRandom';
import { encodeVarint, type WireField } from './protoScan';

/** A mutated copy of the bytes and what was done, in words. */
export interface ByteMutation {
  readonly bytes: Uint8Array;
  readonly description: string;
}

function splice(bytes: Uint8Array, start: number, end: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start) + insert.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(insert, start);
  out.set(bytes.subarray(end), start + insert.length);
  return out;
}

/** The file cut after `tenths` tenths of its length (1..9). */
export function truncateAtTenth(bytes: Uint8Array, tenths: number): ByteMutation {
  const length = Math.floor((bytes.length * tenths) / 10);
  return { bytes: Uint8Array.prototype.slice.call(bytes, 0, length), description: `truncated at ${tenths}/10 (${length} of ${bytes.length} bytes)` };
}

/** Up to 8 bytes XORed with random values; half the time aimed at keys and lengths, which matter most. */
export function flipBytes(bytes: Uint8Array, fields: readonly WireField[], random: FuzzRandom): ByteMutation {
  const out = Uint8Array.prototype.slice.call(bytes); // a copy even for a Node Buffer, whose slice is a view
  const count = 1 + random.int(8);
  const positions: number[] = [];
  for (let i = 0; i < count; i++) {
    const field = fields.length > 0 && random.chance(0.5) ? random.pick(fields) : undefined;
    const at = field ? field.keyStart + random.int(Math.max(1, field.valueStart - field.keyStart)) : random.int(out.length);
    out[at] = (out[at] ?? 0) ^ (1 + random.int(255));
    positions.push(at);
  }
  return { bytes: out, description: `flipped bytes at ${positions.join(', ')}` };
}

/** One field's key rewritten with another wire type (including the invalid 6 and 7 and the group types). */
export function wrongWireType(bytes: Uint8Array, fields: readonly WireField[], random: FuzzRandom): ByteMutation {
  const field = random.pick(fields);
  const wireType = (field.wireType + 1 + random.int(7)) % 8;
  const key = encodeVarint(BigInt(field.field) * 8n + BigInt(wireType));
  return { bytes: splice(bytes, field.keyStart, field.keyEnd, key), description: `field ${field.field} at byte ${field.keyStart}: wire type ${field.wireType} -> ${wireType}` };
}

const hugeLengths: readonly bigint[] = [2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n + 7n, 2n ** 53n - 1n, 2n ** 63n, 2n ** 64n - 1n];

/** One length-delimited field's declared length replaced by a huge one, or one a little too long. */
export function hugeLength(bytes: Uint8Array, fields: readonly WireField[], random: FuzzRandom): ByteMutation | undefined {
  const delimited = fields.filter((f) => f.wireType === 2);
  if (delimited.length === 0) return undefined;
  const field = random.pick(delimited);
  const actual = BigInt(field.valueEnd - field.valueStart);
  const length = random.chance(0.7) ? random.pick(hugeLengths) : actual + BigInt(1 + random.int(4096));
  return { bytes: splice(bytes, field.lengthStart, field.valueStart, encodeVarint(length)), description: `field ${field.field} at byte ${field.keyStart}: length ${actual} -> ${length}` };
}

/** A run of random bytes inserted, or a run deleted, at a random place. */
export function insertOrDelete(bytes: Uint8Array, random: FuzzRandom): ByteMutation {
  const at = random.int(bytes.length);
  if (random.chance(0.5)) {
    const count = 1 + random.int(64);
    const insert = Uint8Array.from({ length: count }, () => random.int(256));
    return { bytes: splice(bytes, at, at, insert), description: `${count} random bytes inserted at ${at}` };
  }
  const count = 1 + random.int(Math.min(4096, bytes.length - at));
  return { bytes: splice(bytes, at, at + count, new Uint8Array(0)), description: `${count} bytes deleted at ${at}` };
}
