/** Clocks for tests that must see time pass (a lease run out) without waiting for it. */
import type { Clock } from '../../shared/ports/clock.ts';

/** Real time plus an offset the test moves forward. */
export function shiftedClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(ms) {
      offset += ms;
    },
  };
}
