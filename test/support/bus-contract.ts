/**
 * The Bus port's contract, run against the in-process bus and against the Pub/Sub emulator: what a handler
 * can observe must be the same on both (payload and attributes intact, fan-out, redelivery after a nack,
 * dead-lettering with Pub/Sub's attributes after the last attempt).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterAttribute, type Delivery, type MessageBus, type SubscriptionSpec } from '../../shared/ports/bus.ts';

export interface BusUnderTest {
  readonly bus: MessageBus;
  /** Topics must exist before a subscription or a publish on the real service. */
  createTopic(name: string): Promise<void>;
  /** Subscriptions start asynchronously on Pub/Sub; resolves once they pull. */
  ready(): Promise<void>;
  dispose(): Promise<void>;
}

const WAIT_MS = 30_000;

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function spec(name: string, topic: string, overrides: Partial<SubscriptionSpec> = {}): SubscriptionSpec {
  return { name, topic, ackDeadlineSeconds: 10, maxDeliveryAttempts: 5, minimumBackoffSeconds: 0, maximumBackoffSeconds: 1, maxConcurrency: 2, ...overrides };
}

export function describeBusContract(name: string, open: () => Promise<BusUnderTest>): void {
  describe(`Bus contract: ${name}`, () => {
    let subject: BusUnderTest | undefined;
    afterEach(async () => {
      await subject?.dispose();
      subject = undefined;
    });
    const unique = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

    it('delivers data and attributes intact, to every subscription of the topic', async () => {
      subject = await open();
      const topic = unique('fanout');
      await subject.createTopic(topic);
      const received = new Map<string, Delivery[]>();
      for (const sub of ['a', 'b']) {
        const subName = unique(sub);
        received.set(sub, []);
        subject.bus.subscribe(spec(subName, topic), async (delivery) => void received.get(sub)!.push(delivery));
      }
      await subject.ready();
      const data = Buffer.from(JSON.stringify({ hello: 'wörld', bytes: [0, 255] }));
      const id = await subject.bus.publish(topic, { data, attributes: { 'ce-id': 'e-1', 'ce-type': 'com.example.v1' } });
      expect(id).toMatch(/\S/);
      await waitFor('both subscriptions', () => [...received.values()].every((list) => list.length === 1));
      for (const [, [delivery]] of received) {
        expect(delivery!.data.equals(data)).toBe(true);
        expect(delivery!.attributes).toMatchObject({ 'ce-id': 'e-1', 'ce-type': 'com.example.v1' });
        expect(delivery!.messageId).toBe(id);
        expect(delivery!.topic).toBe(topic);
      }
    });

    it('redelivers a nacked message, and an acked one is not delivered again', async () => {
      subject = await open();
      const topic = unique('retry');
      await subject.createTopic(topic);
      const seen: string[] = [];
      subject.bus.subscribe(spec(unique('retry'), topic), async (delivery) => {
        seen.push(delivery.data.toString());
        if (seen.length === 1) throw new Error('transient');
      });
      await subject.ready();
      await subject.bus.publish(topic, { data: Buffer.from('m1'), attributes: {} });
      await waitFor('the redelivery', () => seen.length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(seen).toEqual(['m1', 'm1']);
    });

    it('after the last attempt, dead-letters with the original payload and Pub/Sub dead-letter attributes', async () => {
      subject = await open();
      const topic = unique('work');
      const deadLetters = unique('dlq');
      await subject.createTopic(topic);
      await subject.createTopic(deadLetters);
      const subscription = unique('work');
      let attempts = 0;
      const dead: Delivery[] = [];
      subject.bus.subscribe(spec(subscription, topic, { deadLetterTopic: deadLetters }), async () => {
        attempts += 1;
        throw new Error('always fails');
      });
      subject.bus.subscribe(spec(unique('dlq-sink'), deadLetters), async (delivery) => void dead.push(delivery));
      await subject.ready();
      await subject.bus.publish(topic, { data: Buffer.from('poison'), attributes: { 'ce-id': 'p-1' } });
      await waitFor('the dead letter', () => dead.length === 1);
      expect(attempts).toBe(5);
      expect(dead[0]!.data.toString()).toBe('poison');
      expect(dead[0]!.attributes).toMatchObject({
        'ce-id': 'p-1',
        [DeadLetterAttribute.sourceSubscription]: subscription,
        [DeadLetterAttribute.sourceDeliveryCount]: '5',
      });
      expect(dead[0]!.attributes[DeadLetterAttribute.sourceTopicPublishTime]).toMatch(/^\d{4}-\d\d-\d\dT/);
    });
  });
}
