/**
 * The embedded bus's journal: what one process leaves undelivered or unacked, the next process on the same file
 * delivers, with the attempt count it had reached; what was acked or dead-lettered is never delivered again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../../shared/adapters/local/bus.ts';
import { SqliteBusJournal } from '../../shared/adapters/local/bus-journal.ts';
import { DeadLetterAttribute, type Delivery, type SubscriptionSpec } from '../../shared/ports/bus.ts';

let dir: string;
let file: string;
const opened: { bus: LocalBus; journal: SqliteBusJournal }[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-journal-'));
  file = path.join(dir, 'state.sqlite');
});
afterEach(async () => {
  for (const { bus, journal } of opened.splice(0)) {
    await bus.close();
    journal.close();
  }
  await rm(dir, { recursive: true, force: true });
});

/** A process: a bus over the journal in the shared file. */
function open(): { bus: LocalBus; journal: SqliteBusJournal } {
  const journal = SqliteBusJournal.open(file);
  const bus = new LocalBus({ timeScale: 0.002, journal });
  const process = { bus, journal };
  opened.push(process);
  return process;
}

/** Ends a process without acking anything still in flight, as `kill -9` would: nothing is settled on the way out. */
async function kill(process: { bus: LocalBus; journal: SqliteBusJournal }): Promise<void> {
  opened.splice(opened.indexOf(process), 1);
  // close() stops the bus's timers and deliveries at once; its promise waits for handlers that never end, so it is
  // not awaited. The journal closes right after, so nothing the dead process would still do can reach the file.
  void process.bus.close();
  process.journal.close();
  await Promise.resolve();
}

function spec(name: string, topic: string, overrides: Partial<SubscriptionSpec> = {}): SubscriptionSpec {
  return {
    name,
    topic,
    ackDeadlineSeconds: 50,
    maxDeliveryAttempts: 3,
    minimumBackoffSeconds: 1,
    maximumBackoffSeconds: 2,
    maxConcurrency: 1,
    ...overrides,
  };
}

const never = (): Promise<void> => new Promise(() => undefined);

describe('the bus journal', () => {
  it('redelivers, in the next process, a message whose handler was still running when the process died', async () => {
    const first = open();
    let started = 0;
    first.bus.subscribe(spec('work', 'topic-a'), () => {
      started++;
      return never();
    });
    await first.bus.publish('topic-a', { data: Buffer.from('one'), attributes: { k: 'v' } });
    await expect.poll(() => started).toBe(1);
    await kill(first);

    const second = open();
    const delivered: Delivery[] = [];
    second.bus.subscribe(spec('work', 'topic-a'), async (delivery) => {
      delivered.push(delivery);
    });
    expect(second.bus.recover()).toBe(1);
    await second.bus.idle();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.data.toString()).toBe('one');
    expect(delivered[0]!.attributes).toEqual({ k: 'v' });
    // The killed attempt never reported, as on Pub/Sub, where it would count once its deadline passed.
    expect(delivered[0]!.deliveryAttempt).toBe(1);
    expect(second.journal.pending('work')).toEqual([]);
  });

  it('keeps the failed-attempt count across processes, so a poison message still reaches the dead-letter topic', async () => {
    const first = open();
    let failures = 0;
    // Two failed attempts, then the process dies during the third.
    first.bus.subscribe(spec('work', 'topic-a'), async () => {
      if (failures === 2) return never();
      failures++;
      throw new Error('boom');
    });
    await first.bus.publish('topic-a', { data: Buffer.from('poison'), attributes: {} });
    await expect.poll(() => failures).toBe(2);
    await kill(first);

    const second = open();
    const attempts: number[] = [];
    const deadLettered: Delivery[] = [];
    second.bus.subscribe(spec('work', 'topic-a', { deadLetterTopic: 'dead' }), async (delivery) => {
      attempts.push(delivery.deliveryAttempt);
      throw new Error('still boom');
    });
    second.bus.subscribe(spec('dead-sink', 'dead'), async (delivery) => {
      deadLettered.push(delivery);
    });
    second.bus.recover();
    await second.bus.idle();
    expect(attempts).toEqual([3]);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]!.attributes[DeadLetterAttribute.sourceDeliveryCount]).toBe('3');
    expect(second.journal.pending('work')).toEqual([]);
    expect(second.journal.pending('dead-sink')).toEqual([]);
  });

  it('never redelivers what was acked, and issues message ids no earlier process issued', async () => {
    const first = open();
    const ids: string[] = [];
    first.bus.subscribe(spec('work', 'topic-a'), async (delivery) => {
      ids.push(delivery.messageId);
    });
    await first.bus.publish('topic-a', { data: Buffer.from('a'), attributes: {} });
    await first.bus.publish('topic-a', { data: Buffer.from('b'), attributes: {} });
    await first.bus.idle();
    await kill(first);

    const second = open();
    second.bus.subscribe(spec('work', 'topic-a'), async (delivery) => {
      ids.push(delivery.messageId);
    });
    expect(second.bus.recover()).toBe(0);
    await second.bus.publish('topic-a', { data: Buffer.from('c'), attributes: {} });
    await second.bus.idle();
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it('journals a message for each subscription of its topic, and only for those', async () => {
    const first = open();
    first.bus.subscribe(spec('one', 'topic-a'), never);
    first.bus.subscribe(spec('two', 'topic-a'), never);
    first.bus.subscribe(spec('other', 'topic-b'), never);
    await first.bus.publish('topic-a', { data: Buffer.from('x'), attributes: {} });
    expect(first.journal.pending('one')).toHaveLength(1);
    expect(first.journal.pending('two')).toHaveLength(1);
    expect(first.journal.pending('other')).toHaveLength(0);
    await kill(first);
  });
});
