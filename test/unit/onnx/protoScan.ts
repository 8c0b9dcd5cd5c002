// Wire-level view of protobuf bytes for the ONNX fuzzer: where each field's key, length and value
// are, so that mutations can change a wire type or a declared length without decoding the model.

/** One field as it sits in the bytes. */
export interface WireField {
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly field: number;
  readonly wireType: number;
  /** For length-delimited fields (wire type 2): where the length varint starts; the value follows it. */
  readonly lengthStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** Reads a varint at `at`; undefined when it runs past `end` or is longer than 10 bytes. */
export function readVarint(bytes: Uint8Array, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const byte = bytes[i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/** Encodes a non-negative integer (up to 2^64 - 1, given as a bigint) as a varint. */
export function encodeVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Uint8Array.from(out);
}

/**
 * The fields of a message in bytes [start, end), and of nested messages up to `maxDepth` deep (a
 * length-delimited value that parses cleanly as fields is taken to be a message). Stops at `limit`.
 */
export function scanFields(bytes: Uint8Array, start = 0, end = bytes.length, maxDepth = 4, limit = 20000): WireField[] {
  const out: WireField[] = [];
  scanInto(bytes, start, end, maxDepth, limit, out);
  return out;
}

function scanInto(bytes: Uint8Array, start: number, end: number, depth: number, limit: number, out: WireField[]): boolean {
  const mine: WireField[] = [];
  let at = start;
  while (at < end) {
    const key = readVarint(bytes, at, end);
    if (!key || key.value < 8 || key.value > 0xffff) return false;
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    let valueStart = key.next;
    let valueEnd: number;
    if (wireType === 0) {
      const v = readVarint(bytes, valueStart, end);
      if (!v) return false;
      valueEnd = v.next;
    } else if (wireType === 1 || wireType === 5) {
      valueEnd = valueStart + (wireType === 1 ? 8 : 4);
    } else if (wireType === 2) {
      const length = readVarint(bytes, valueStart, end);
      if (!length) return false;
      valueStart = length.next;
      valueEnd = valueStart + length.value;
    } else {
      return false;
    }
    if (valueEnd > end) return false;
    mine.push({ keyStart: at, keyEnd: key.next, field, wireType, lengthStart: key.next, valueStart, valueEnd });
    at = valueEnd;
  }
  for (const field of mine) {
    if (out.length >= limit) break;
    out.push(field);
    // Raw tensor bytes are large and rarely parse as fields: only try values small enough to be messages.
    if (field.wireType === 2 && depth > 0 && field.valueEnd - field.valueStart < 1 << 20) {
      const before = out.length;
      if (!scanInto(bytes, field.valueStart, field.valueEnd, depth - 1, limit, out)) out.length = before;
    }
  }
  return true;
}
