// What shape inference knows about one tensor: its element type, its dims (numbers, or the name of a
// symbolic dimension no setting resolved), and for small integer tensors their values (shape folding).

/** One dimension: a size, or a symbolic name ("batch", "height", or a derived "height'"). */
export type Dim = number | string;

/** Inferred type and shape of a tensor. */
export interface ValueInfo {
  readonly elemType: number;
  /** Undefined when even the rank is unknown. */
  readonly dims: readonly Dim[] | undefined;
  /** Values of a small integer tensor computed from constants (Shape -> Gather -> Concat chains). */
  readonly intValues?: readonly number[];
}

/** Thrown by a shape function that cannot resolve an output; the message says why. */
export class ShapeError extends Error {}

/** True when every dim is a number. */
export function isStatic(dims: readonly Dim[] | undefined): dims is readonly number[] {
  return dims !== undefined && dims.every((d) => typeof d === 'number');
}

/** Product of dims, or undefined when any is symbolic. */
export function staticProduct(dims: readonly Dim[] | undefined): number | undefined {
  return isStatic(dims) ? dims.reduce((p, d) => p * d, 1) : undefined;
}

/** A dim derived from a symbolic one (e.g. the output height of a conv on a symbolic height). */
export function derivedDim(dim: Dim, compute: (size: number) => number): Dim {
  return typeof dim === 'number' ? compute(dim) : dim.endsWith("'") ? dim : `${dim}'`;
}

/** A symbolic dim standing for a size computed from `dims` (named after their first symbol). */
export function derivedFromDims(dims: readonly Dim[]): Dim {
  const symbol = dims.find((d): d is string => typeof d === 'string');
  return symbol ? derivedDim(symbol, (d) => d) : '?';
}

/** The symbolic names a list of dims depends on. */
export function symbolsOf(dims: readonly Dim[] | undefined): string[] {
  return (dims ?? []).filter((d): d is string => typeof d === 'string' && d !== '?').map((d) => d.replace(/'+$/, ''));
}

/** Formats dims as `[1, 3, 32, 32]`. */
export function formatDims(dims: readonly Dim[] | undefined): string {
  return dims ? `[${dims.join(', ')}]` : '[?]';
}
