// The median of repeated timings as one of them: the lower middle one of an even count, so that the
// figure kept is a timing that happened (with its CPU share), never an average of two.

/** The lower middle item of `items` ordered by `value` (undefined when there are none); `items` is left as it was. */
export function lowerMedian<T>(items: readonly T[], value: (item: T) => number): T | undefined {
  return [...items].sort((a, b) => value(a) - value(b))[Math.floor((items.length - 1) / 2)];
}
