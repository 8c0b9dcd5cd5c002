// Typed access to node attributes (AttributeProto), with ONNX's defaults supplied by the caller.
import { int64ToNumber, type onnx } from './proto';

/** The attribute called `name`, if the node has it. */
export function findAttribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** An INT attribute, or `fallback`. */
export function attributeInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const attribute = findAttribute(node, name);
  return attribute ? int64ToNumber(attribute.i) : fallback;
}

/** An INTS attribute, or undefined when absent. */
export function attributeInts(node: onnx.INodeProto, name: string): number[] | undefined {
  const attribute = findAttribute(node, name);
  return attribute ? (attribute.ints ?? []).map(int64ToNumber) : undefined;
}

/** A FLOAT attribute, or `fallback`. */
export function attributeFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  return findAttribute(node, name)?.f ?? fallback;
}

/** A STRING attribute decoded as UTF-8, or `fallback`. */
export function attributeString(node: onnx.INodeProto, name: string, fallback: string): string {
  const bytes = findAttribute(node, name)?.s;
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : fallback;
}
