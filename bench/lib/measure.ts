/**
 * Recording what a run costs: per-hop latency from each delivery's publishTime to its handler settling, and the
 * process's wall time, CPU and memory around the run.
 */
import type { Delivery, DeliveryHandler } from '../../shared/ports/bus.ts';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface HopStats {
  readonly deliveries: number;
  /** publishTime → handler settled: queue wait plus handling, what a message actually experiences. */
  readonly latency: LatencySummary;
  /** Handler start → settled: the work alone, so queueing can be told apart from slow handlers. */
  readonly handler: LatencySummary;
}

interface Samples {
  readonly latency: number[];
  readonly handler: number[];
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with publishTime (a Date). */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export class HopRecorder {
  readonly #byFunction = new Map<string, Samples>();
  #redeliveries = 0;
  #failures = 0;

  /** Wraps a subscription's handler so every delivery it settles is recorded under `name`. */
  wrap(name: string, handler: DeliveryHandler): DeliveryHandler {
    let samples = this.#byFunction.get(name);
    if (!samples) {
      samples = { latency: [], handler: [] };
      this.#byFunction.set(name, samples);
    }
    const into = samples;
    return async (delivery: Delivery) => {
      if (delivery.deliveryAttempt > 1) this.#redeliveries++;
      const started = performance.now();
      try {
        await handler(delivery);
      } catch (error) {
        this.#failures++;
        throw error;
      } finally {
        into.handler.push(performance.now() - started);
        into.latency.push(epochMs() - delivery.publishTime.getTime());
      }
    };
  }

  get deliveries(): number {
    let total = 0;
    for (const samples of this.#byFunction.values()) total += samples.latency.length;
    return total;
  }

  /** Deliveries that were a retry: a no-op chain should have none, so any number here skews the figures. */
  get redeliveries(): number {
    return this.#redeliveries;
  }

  get failures(): number {
    return this.#failures;
  }

  /** Per function, in the order the functions were first wrapped; functions that saw no delivery are left out. */
  stats(): Map<string, HopStats> {
    const stats = new Map<string, HopStats>();
    for (const [name, samples] of this.#byFunction) {
      if (samples.latency.length === 0) continue;
      stats.set(name, { deliveries: samples.latency.length, latency: summarize(samples.latency), handler: summarize(samples.handler) });
    }
    return stats;
  }
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

/** Nearest-rank percentile of sorted values: always a value that was actually observed. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface ProcessCost {
  readonly wallSeconds: number;
  /** User plus system time of the whole process, every thread included (libuv's pool does the file I/O). */
  readonly cpuSeconds: number;
  /**
   * The process's resident-set high-water mark after the run. It never goes down, so a run measured after a
   * heavier one reports the heavier one's peak: run the lighter workload first.
   */
  readonly peakRssMb: number;
}

export async function measureProcess(work: () => Promise<void>): Promise<ProcessCost> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // maxRSS is in kilobytes.
  return { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}
