/** Time as a dependency, so tests and benches can control it and documents carry real timestamps. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
