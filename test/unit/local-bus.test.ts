import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBus } from '../../shared/adapters/local/bus.ts';
import type { LocalBusOptions, NackInfo } from '../../shared/adapters/local/bus.ts';
import { DeadLetterAttribute } from '../../shared/ports/bus.ts';
import type { Delivery, DeliveryHandler, OutgoingMessage, SubscriptionSpec } from '../../shared/ports/bus.ts';

const buses: LocalBus[] = [];

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

function makeBus(options: LocalBusOptions = {}): LocalBus {
  const bus = new LocalBus({ timeScale: 0.002, ...options });
  buses.push(bus);
  return bus;
}

function spec(name: string, topic: string, overrides: Partial<SubscriptionSpec> = {}): SubscriptionSpec {
  return {
    name,
    topic,
    // 100 ms at timeScale 0.002: loose enough that a loaded machine doesn't turn a slow ack into a redelivery.
    ackDeadlineSeconds: 50,
    maxDeliveryAttempts: 5,
    minimumBackoffSeconds: 1,
    maximumBackoffSeconds: 2,
    maxConcurrency: 1,
    ...overrides,
  };
}

function message(text: string, attributes: Record<string, string> = {}): OutgoingMessage {
  return { data: Buffer.from(text), attributes };
}

/** A handler written synchronously; a throw becomes a rejection, i.e. a nack, as in an async handler. */
function settles(body: (delivery: Delivery) => void): DeliveryHandler {
  return (delivery) =>
    new Promise((resolve) => {
      body(delivery);
      resolve();
    });
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await sleep(1);
  }
}

describe('LocalBus publish and fan-out', () => {
  it('delivers one copy of each message to every subscription on the topic', async () => {
    const bus = makeBus({ clock: { now: () => new Date('2024-05-01T12:00:00.000Z') } });
    const seen: Delivery[] = [];
    bus.subscribe(
      spec('a', 'uploads'),
      settles((d) => {
        seen.push(d);
        d.data.fill(0);
      }),
    );
    bus.subscribe(
      spec('b', 'uploads'),
      settles((d) => {
        seen.push(d);
      }),
    );
    bus.subscribe(
      spec('other', 'thumbnails'),
      settles((d) => {
        seen.push(d);
      }),
    );
    const sent = message('hello', { kind: 'upload' });
    const id = await bus.publish('uploads', sent);
    await bus.idle();

    expect(seen.map((d) => d.subscription).sort()).toEqual(['a', 'b']);
    for (const d of seen) {
      expect(d).toMatchObject({ messageId: id, topic: 'uploads', deliveryAttempt: 1, attributes: { kind: 'upload' } });
      expect(d.publishTime.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    }
    expect(seen.find((d) => d.subscription === 'b')?.data.toString()).toBe('hello');
  });

  it('copies data and attributes at publish, so later changes by the publisher never reach a queued delivery', async () => {
    const bus = makeBus();
    const received: Array<[string, string | undefined]> = [];
    bus.subscribe(
      spec('a', 't'),
      settles((d) => {
        received.push([d.data.toString(), d.attributes['kind']]);
      }),
    );
    const first = message('one', { kind: 'original' });
    const second = message('two', { kind: 'original' });
    const published = Promise.all([bus.publish('t', first), bus.publish('t', second)]);
    for (const sent of [first, second]) {
      sent.data.fill(0);
      (sent.attributes as Record<string, string>)['kind'] = 'changed';
    }
    await published;
    await bus.idle();
    expect(received).toEqual([
      ['one', 'original'],
      ['two', 'original'],
    ]);
  });

  it('resolves a publish to a topic nobody subscribes to and drops the message', async () => {
    const bus = makeBus();
    const ids = [await bus.publish('void', message('x')), await bus.publish('void', message('y'))];
    expect(ids[0]).toMatch(/^\d+$/);
    expect(ids[1]).not.toBe(ids[0]);
    await bus.idle();
  });

  it('rejects a second subscription with the same name', () => {
    const bus = makeBus();
    bus.subscribe(spec('a', 'one'), async () => {});
    expect(() => bus.subscribe(spec('a', 'two'), async () => {})).toThrow(/already exists/);
  });
});

describe('LocalBus acks and retries', () => {
  it('acks a message whose handler resolves: delivered exactly once', async () => {
    const nacks: NackInfo[] = [];
    const bus = makeBus({ onNack: (n) => nacks.push(n) });
    const attempts: number[] = [];
    bus.subscribe(
      spec('a', 't', { ackDeadlineSeconds: 10 }),
      settles((d) => {
        attempts.push(d.deliveryAttempt);
      }),
    );
    await bus.publish('t', message('x'));
    await bus.idle();
    await sleep(40); // past the 20 ms ack deadline and the backoff: nothing may come back
    expect(attempts).toEqual([1]);
    expect(nacks).toEqual([]);
  });

  it('redelivers a rejected message with growing, capped backoff', async () => {
    const nacks: NackInfo[] = [];
    const bus = makeBus({ onNack: (n) => nacks.push(n) });
    const attempts: number[] = [];
    const times: number[] = [];
    // timeScale 0.002: backoff 20, 40, then capped at 50 ms (uncapped would be 80, 160).
    const s = spec('a', 't', { minimumBackoffSeconds: 10, maximumBackoffSeconds: 25, maxDeliveryAttempts: 10, deadLetterTopic: 'dlq' });
    bus.subscribe(
      s,
      settles((d) => {
        attempts.push(d.deliveryAttempt);
        times.push(performance.now());
        if (d.deliveryAttempt < 5) throw new Error(`fail ${d.deliveryAttempt}`);
      }),
    );
    await bus.publish('t', message('x'));
    await bus.idle();

    expect(attempts).toEqual([1, 2, 3, 4, 5]);
    expect(nacks.map((n) => [n.deliveryAttempt, n.error])).toEqual([
      [1, 'fail 1'],
      [2, 'fail 2'],
      [3, 'fail 3'],
      [4, 'fail 4'],
    ]);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(48);
    expect(gaps[3]).toBeGreaterThanOrEqual(48);
    expect(gaps[3]).toBeLessThan(140);
  });

  it('treats a synchronous throw as a nack', async () => {
    const nacks: NackInfo[] = [];
    const bus = makeBus({ onNack: (n) => nacks.push(n) });
    const attempts: number[] = [];
    bus.subscribe(spec('a', 't'), (d) => {
      attempts.push(d.deliveryAttempt);
      if (d.deliveryAttempt === 1) throw new Error('sync');
      return Promise.resolve();
    });
    await bus.publish('t', message('x'));
    await bus.idle();
    expect(attempts).toEqual([1, 2]);
    expect(nacks.map((n) => n.error)).toEqual(['sync']);
  });

  it('dead-letters after maxDeliveryAttempts with the Pub/Sub attributes', async () => {
    let tick = Date.parse('2024-05-01T12:00:00.000Z');
    const clock = { now: () => new Date((tick += 1000)) };
    const deadLettered: unknown[] = [];
    const bus = makeBus({ clock, projectId: 'proj', onDeadLetter: (info) => deadLettered.push(info) });
    let workCalls = 0;
    const dlq: Delivery[] = [];
    bus.subscribe(
      spec('work', 'jobs', { maxDeliveryAttempts: 5, deadLetterTopic: 'jobs-dlq' }),
      settles(() => {
        workCalls++;
        throw new Error('boom');
      }),
    );
    bus.subscribe(
      spec('sink', 'jobs-dlq'),
      settles((d) => {
        dlq.push(d);
      }),
    );
    const id = await bus.publish('jobs', message('payload', { assetId: 'a1' }));
    await bus.idle();

    expect(workCalls).toBe(5);
    expect(dlq).toHaveLength(1);
    const dead = dlq[0];
    expect(dead?.data.toString()).toBe('payload');
    expect(dead?.topic).toBe('jobs-dlq');
    expect(dead?.attributes).toEqual({
      assetId: 'a1',
      [DeadLetterAttribute.sourceSubscription]: 'work',
      [DeadLetterAttribute.sourceSubscriptionProject]: 'proj',
      [DeadLetterAttribute.sourceDeliveryCount]: '5',
      [DeadLetterAttribute.sourceTopicPublishTime]: '2024-05-01T12:00:01.000Z',
    });
    expect(dead?.publishTime.toISOString()).toBe('2024-05-01T12:00:02.000Z');
    expect(deadLettered).toEqual([{ subscription: 'work', messageId: id, deliveryAttempt: 5, lastError: 'boom' }]);
  });

  it('keeps retrying past maxDeliveryAttempts when there is no dead-letter topic', async () => {
    const deadLettered: unknown[] = [];
    const bus = makeBus({ onDeadLetter: (info) => deadLettered.push(info) });
    const attempts: number[] = [];
    bus.subscribe(
      spec('a', 't', { maxDeliveryAttempts: 5 }),
      settles((d) => {
        attempts.push(d.deliveryAttempt);
        if (d.deliveryAttempt < 8) throw new Error('again');
      }),
    );
    await bus.publish('t', message('x'));
    await bus.idle();
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(deadLettered).toEqual([]);
  });

  it('redelivers past the ack deadline while the first handler still runs, and ignores its late result', async () => {
    const nacks: NackInfo[] = [];
    const bus = makeBus({ onNack: (n) => nacks.push(n) });
    let zombieRunning = false;
    let failZombie: (error: Error) => void = () => {};
    const attempts: Array<{ attempt: number; zombieRunning: boolean }> = [];
    bus.subscribe(spec('a', 't', { ackDeadlineSeconds: 10 }), (d) => {
      attempts.push({ attempt: d.deliveryAttempt, zombieRunning });
      if (d.deliveryAttempt > 1) return Promise.resolve();
      zombieRunning = true;
      return new Promise<void>((_, reject) => {
        failZombie = reject;
      });
    });
    await bus.publish('t', message('x'));
    await until(() => attempts.length === 2);
    expect(attempts).toEqual([
      { attempt: 1, zombieRunning: false },
      { attempt: 2, zombieRunning: true },
    ]);
    expect(nacks).toMatchObject([{ deliveryAttempt: 1, error: 'ack deadline exceeded' }]);

    let idle = false;
    const idlePromise = bus.idle().then(() => (idle = true));
    await sleep(30);
    expect(idle).toBe(false);

    failZombie(new Error('late failure'));
    await idlePromise;
    await sleep(30);
    expect(attempts).toHaveLength(2);
    expect(nacks).toHaveLength(1);
  });
});

describe('LocalBus concurrency', () => {
  it('keeps at most maxConcurrency deliveries in flight, in FIFO order', async () => {
    const bus = makeBus();
    let inFlight = 0;
    let maxInFlight = 0;
    const started: string[] = [];
    bus.subscribe(spec('a', 't', { maxConcurrency: 2 }), async (d) => {
      started.push(d.data.toString());
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(5);
      inFlight--;
    });
    const texts = Array.from({ length: 10 }, (_, i) => `m${i}`);
    await Promise.all(texts.map((t) => bus.publish('t', message(t))));
    await bus.idle();
    expect(maxInFlight).toBe(2);
    expect(started).toEqual(texts);
  });

  it('frees the slot while a message waits for its backoff', async () => {
    const bus = makeBus();
    const order: string[] = [];
    // Backoff 100 ms at timeScale 0.002: 'second' must not wait behind it.
    bus.subscribe(
      spec('a', 't', { minimumBackoffSeconds: 50, maximumBackoffSeconds: 50 }),
      settles((d) => {
        const text = d.data.toString();
        order.push(`${text}#${d.deliveryAttempt}`);
        if (text === 'first' && d.deliveryAttempt === 1) throw new Error('retry me');
      }),
    );
    await bus.publish('t', message('first'));
    await bus.publish('t', message('second'));
    await bus.idle();
    expect(order).toEqual(['first#1', 'second#1', 'first#2']);
  });
});

describe('LocalBus idle and close', () => {
  it('idle() waits for a chain published from inside handlers, retries included', async () => {
    const bus = makeBus();
    const received: string[] = [];
    bus.subscribe(spec('hop-a', 'a'), async () => {
      await sleep(5);
      await bus.publish('b', message('from a'));
    });
    bus.subscribe(spec('hop-b', 'b'), async (d) => {
      if (d.deliveryAttempt === 1) throw new Error('flaky');
      await sleep(5);
      await bus.publish('c', message('from b'));
    });
    bus.subscribe(spec('hop-c', 'c'), async (d) => {
      await sleep(5);
      received.push(d.data.toString());
    });
    await bus.publish('a', message('start'));
    const seenAtIdle = await Promise.all([bus.idle(), bus.idle()].map((p) => p.then(() => [...received])));
    expect(seenAtIdle).toEqual([['from b'], ['from b']]);
  });

  it('close() waits for in-flight handlers, stops retries and rejects publish', async () => {
    const nacks: NackInfo[] = [];
    const bus = makeBus({ onNack: (n) => nacks.push(n) });
    const attempts: number[] = [];
    bus.subscribe(
      spec('retrying', 'r', { minimumBackoffSeconds: 10, maximumBackoffSeconds: 10 }),
      settles((d) => {
        attempts.push(d.deliveryAttempt);
        throw new Error('always');
      }),
    );
    let slowDone = false;
    bus.subscribe(spec('slow', 's'), async () => {
      await sleep(10);
      slowDone = true;
    });
    await bus.publish('r', message('x'));
    await bus.publish('s', message('y'));
    await until(() => nacks.length === 1);

    await bus.close();
    expect(slowDone).toBe(true);
    await sleep(60); // the 20 ms retry would have fired by now
    expect(attempts).toEqual([1]);
    await expect(bus.publish('r', message('z'))).rejects.toThrow(/closed/);
    await bus.idle();
  });
});

describe('ackDeadlineScale', () => {
  it('scales ack deadlines separately from backoffs, so a slow handler is not redelivered while it works', async () => {
    const run = async (options: LocalBusOptions): Promise<number> => {
      const bus = makeBus(options);
      let deliveries = 0;
      // 0.2 s of work against a 1 s deadline: scaled by 0.002 the deadline is 2 ms and the handler is redelivered.
      bus.subscribe(spec('slow', 'slow-topic', { ackDeadlineSeconds: 1, maxDeliveryAttempts: 5, deadLetterTopic: 'slow-dlq' }), async () => {
        deliveries += 1;
        await sleep(200);
      });
      await bus.publish('slow-topic', message('x'));
      await bus.idle();
      return deliveries;
    };
    expect(await run({ ackDeadlineScale: 1 })).toBe(1);
    expect(await run({})).toBeGreaterThan(1);
  });
});
