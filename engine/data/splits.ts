// Deterministic seeded splits of a dataset into named parts (e.g. weights / architecture / test),
// stratified by class where labels exist.
import { HalocError } from '../errors';
import { seededUniform } from '../random';

/** Indices of the images of each named part, ascending. */
export type Splits<Name extends string> = Record<Name, Int32Array>;

/** Splits `count` images (with their labels, if any) into parts by fraction; the fractions may sum to less than 1. */
export function splitIndices<Name extends string>(count: number, labels: Int32Array | undefined, fractions: Readonly<Record<Name, number>>, seed: number): Splits<Name> {
  const names = Object.keys(fractions) as Name[];
  const values = names.map((n) => fractions[n]);
  const total = values.reduce((a, b) => a + b, 0);
  if (names.length === 0 || values.some((f) => !(f >= 0)) || total > 1 + 1e-9) {
    throw new HalocError('BAD_ARGUMENT', `split fractions must be >= 0 and sum to at most 1, not ${names.map((n) => `${n}=${fractions[n]}`).join(', ')}`);
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const label = labels?.[i] ?? 0;
    const group = groups.get(label) ?? [];
    group.push(i);
    groups.set(label, group);
  }
  const parts = names.map(() => [] as number[]);
  const random = seededUniform(seed);
  for (const label of [...groups.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(groups.get(label) ?? [], random);
    let start = 0;
    allocate(members.length, values, total).forEach((size, p) => {
      parts[p]?.push(...members.slice(start, start + size));
      start += size;
    });
  }
  const result = {} as Splits<Name>;
  names.forEach((name, p) => (result[name] = Int32Array.from(parts[p] ?? []).sort()));
  return result;
}

/** Sizes per part for a group of `size`: floors of the shares, the rest by largest remainder (ties to the earlier part). */
function allocate(size: number, fractions: readonly number[], total: number): number[] {
  const target = Math.min(size, Math.round(size * total));
  const exact = fractions.map((f) => f * size);
  const sizes = exact.map(Math.floor);
  let left = target - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    sizes[i] = (sizes[i] ?? 0) + 1;
    left--;
  }
  return sizes;
}

/** Fisher-Yates shuffle with a seeded generator. */
export function shuffleInPlace<T extends number[] | Int32Array>(items: T, random: () => number): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i] ?? 0;
    items[i] = items[j] ?? 0;
    items[j] = t;
  }
  return items;
}
