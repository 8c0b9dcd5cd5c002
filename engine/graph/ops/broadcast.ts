// Multidirectional (numpy-style) broadcasting of shapes, shared by element-wise ops and MatMul.
import { ShapeError, type Dim } from '../valueInfo';

/** Broadcast shape of several inputs; throws when sizes clash. */
export function broadcastDims(shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let axis = 0; axis < rank; axis++) {
    let dim: Dim = 1;
    for (const shape of shapes) {
      const d = shape[axis - (rank - shape.length)] ?? 1;
      if (d === 1 || d === dim) continue;
      if (dim === 1) dim = d;
      else if (typeof d === 'number' && typeof dim === 'number') throw new ShapeError(`cannot broadcast sizes ${dim} and ${d}`);
      else if (typeof dim === 'string' && typeof d === 'number') dim = d; // a symbol broadcast against n must be n or 1
    }
    out.push(dim);
  }
  return out;
}
