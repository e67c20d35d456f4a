/** The harness itself: every server answers where the setup says it is, and delivery to functions is reliable. */
import type { Message } from '@google-cloud/pubsub';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/local-cloud/local-cloud.ts';
import { startPushForwarder, type PushForwarder } from '../../scripts/local-cloud/push-forwarder.ts';
import { createPubSubClient, ensureSubscription, ensureTopic } from '../../shared/adapters/gcp/pubsub.ts';
import type { SubscriptionSpec } from '../../shared/ports/bus.ts';

describe('local cloud', () => {
  it('provides the emulators and fake-gcs-server, all answering', async () => {
    const cloud = inject('localCloud');
    for (const url of [`http://${cloud.pubsubHost}/`, `http://${cloud.firestoreHost}/`, `${cloud.storageEndpoint}/storage/v1/b`]) {
      const response = await fetch(url);
      expect(response.ok, url).toBe(true);
    }
    expect(cloud.env.PUBSUB_EMULATOR_HOST).toBe(cloud.pubsubHost);
  });
});

/**
 * The stack's push forwarder (docs/local-cloud-emulator.md): the emulator's own push strands messages that fail
 * while several are in retry-policy backoff; the forwarder, on a pull subscription with the same policies, must
 * redeliver each failed message and dead-letter it after maxDeliveryAttempts, with none left in between.
 */
describe('push forwarder', () => {
  const MESSAGES = 20;
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function forwardTo(name: string, failFirst: number): Promise<{ acked: Set<string>; deadLettered: Set<string>; pushes: Map<string, number> }> {
    const cloud = inject('localCloud');
    const pubsub = createPubSubClient({ projectId: cloud.projectId });
    cleanups.push(() => pubsub.close());
    const pushes = new Map<string, number>();
    const acked = new Set<string>();
    const deadLettered = new Set<string>();
    const server: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const push = JSON.parse(body) as { message: { attributes: Record<string, string> }; subscription: string };
        const seq = push.message.attributes.seq!;
        const count = (pushes.get(seq) ?? 0) + 1;
        pushes.set(seq, count);
        if (count <= failFirst) return void response.writeHead(500).end();
        acked.add(seq);
        response.writeHead(204).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));

    const spec: SubscriptionSpec = {
      name: `${name}-sub`,
      topic: name,
      ackDeadlineSeconds: 10,
      maxDeliveryAttempts: 5,
      minimumBackoffSeconds: 1,
      maximumBackoffSeconds: 2,
      deadLetterTopic: `${name}-dead-letters`,
      maxConcurrency: 8,
    };
    const topic = await ensureTopic(pubsub, spec.topic);
    const deadLetterTopic = await ensureTopic(pubsub, spec.deadLetterTopic!);
    const [deadLetters] = await deadLetterTopic.createSubscription(`${name}-dead-letters-pull`);
    deadLetters.on('message', (message: Message) => {
      deadLettered.add(message.attributes.seq!);
      message.ack();
    });
    cleanups.push(() => deadLetters.close());
    await ensureSubscription(pubsub, spec);
    const forwarder: PushForwarder = startPushForwarder(pubsub, spec, `http://127.0.0.1:${port}/projects/${cloud.projectId}/topics/${name}`, {
      maxInFlight: 8,
    });
    cleanups.push(() => forwarder.close());

    await Promise.all(Array.from({ length: MESSAGES }, (_, seq) => topic.publishMessage({ data: Buffer.from('x'), attributes: { seq: String(seq) } })));
    const deadline = Date.now() + 60_000;
    while (acked.size + deadLettered.size < MESSAGES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    return { acked, deadLettered, pushes };
  }

  it('dead-letters every message that fails every push, after exactly maxDeliveryAttempts pushes', { timeout: 90_000 }, async () => {
    const { acked, deadLettered, pushes } = await forwardTo('forwarder-always-fails', Number.POSITIVE_INFINITY);
    expect(acked.size).toBe(0);
    expect(deadLettered.size).toBe(MESSAGES);
    expect(new Set(pushes.values())).toEqual(new Set([5]));
  });

  it('acks every message on the push after its failures, none dead-lettered', { timeout: 90_000 }, async () => {
    const { acked, deadLettered, pushes } = await forwardTo('forwarder-fails-twice', 2);
    expect(acked.size).toBe(MESSAGES);
    expect(deadLettered.size).toBe(0);
    expect(new Set(pushes.values())).toEqual(new Set([3]));
  });
});
