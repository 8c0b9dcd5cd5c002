// Learning-rate schedule: linear warm-up from 0, then cosine decay to a floor.

/** A cosine schedule with warm-up. */
export interface CosineSchedule {
  readonly baseRate: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
  /** The last rate as a fraction of baseRate (default 0). */
  readonly floorFraction?: number;
}

/** The learning rate at `step` (0-based). */
export function learningRateAt(schedule: CosineSchedule, step: number): number {
  const { baseRate, totalSteps, warmupSteps } = schedule;
  if (step < warmupSteps) return (baseRate * (step + 1)) / warmupSteps;
  const floor = baseRate * (schedule.floorFraction ?? 0);
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return floor + (baseRate - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
