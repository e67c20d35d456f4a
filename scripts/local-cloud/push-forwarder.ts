/**
 * Push delivery for the local cloud, done by the stack instead of the Pub/Sub emulator. The emulator strands push
 * messages once several of them are in retry-policy backoff at once: they are neither pushed again nor
 * dead-lettered (docs/local-cloud-emulator.md, scripts/local-cloud/emulator-stranding.ts). Its pull delivery
 * honours the same retry and dead-letter policies correctly, so each subscription is created as a pull
 * subscription with the production settings, and this forwarder pulls and POSTs each message to the function
 * in the emulator's own push body. 2xx (or 102) acks, anything else, a timeout or a refused connection nacks:
 * the emulator then applies the retry policy's backoff and, after maxDeliveryAttempts, the dead-letter policy.
 *
 * It pulls with unary Pull, only as many messages as it has free slots, like push: a message's ack deadline runs
 * only while it is being delivered. (Streaming pull buffers messages in the client beyond its flow control, and
 * the emulator redelivered those whose deadline ran out there: 107 deliveries of 72 messages, none nacked.)
 */
import { v1, type protos, type PubSub } from '@google-cloud/pubsub';
import type { SubscriptionSpec } from '../../shared/ports/bus.ts';

type ReceivedMessage = protos.google.pubsub.v1.IReceivedMessage;

export interface ForwarderStats {
  /** Deliveries POSTed so far, how many were acked and nacked, how many are in flight, pull errors. */
  readonly forwarded: number;
  readonly acked: number;
  readonly nacked: number;
  readonly inFlight: number;
  readonly errors: number;
}

export interface PushForwarder {
  readonly subscription: string;
  readonly endpoint: string;
  stats(): ForwarderStats;
  close(): Promise<void>;
}

export interface PushForwarderOptions {
  /**
   * Deliveries in flight at once. Not spec.maxConcurrency, which is the embedded runtime's per-process figure
   * (1 for most functions).
   */
  readonly maxInFlight: number;
  /** Send the deliveryAttempt field, as real push does with a dead-letter policy (pushBody). Default true. */
  readonly deliveryAttempt?: boolean;
  readonly onError?: (error: Error) => void;
}

/** An empty pull is retried after this, doubling up to IDLE_MAX_MS while the subscription stays empty. */
const IDLE_MIN_MS = 25;
const IDLE_MAX_MS = 250;
const PULL_TIMEOUT_MS = 30_000;
const ERROR_PAUSE_MS = 500;

function millis(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(timestamp?.seconds ?? 0) * 1000 + Math.floor((timestamp?.nanos ?? 0) / 1e6);
}

/**
 * The body real Pub/Sub POSTs to a push endpoint: the emulator's push body, plus (with `withAttempt`) the
 * deliveryAttempt real push adds when a dead-letter policy is set, as every mediaflow subscription has.
 */
export function pushBody(projectId: string, subscription: string, received: ReceivedMessage, withAttempt = false): Record<string, unknown> {
  const message = received.message ?? {};
  const publishTime = new Date(millis(message.publishTime)).toISOString();
  const attempt = received.deliveryAttempt ?? 0;
  return {
    message: {
      data: Buffer.from(message.data ?? '').toString('base64'),
      attributes: { ...(message.attributes ?? {}) },
      messageId: message.messageId ?? '',
      message_id: message.messageId ?? '',
      publishTime,
      publish_time: publishTime,
    },
    subscription: `projects/${projectId}/subscriptions/${subscription}`,
    ...(withAttempt && attempt > 0 ? { deliveryAttempt: attempt } : {}),
  };
}

/** Pub/Sub push counts these answers as an ack. */
function acks(status: number): boolean {
  return status === 102 || (status >= 200 && status < 300);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/**
 * Starts forwarding `spec`'s pull subscription (which must exist) to `endpoint`, each delivery with the ack
 * deadline as its timeout, as a push would have.
 */
export function startPushForwarder(pubsub: PubSub, spec: SubscriptionSpec, endpoint: string, options: PushForwarderOptions): PushForwarder {
  // The PubSub client has already worked out the emulator's address and insecure credentials.
  const client = new v1.SubscriberClient({ ...pubsub.options });
  const subscription = `projects/${pubsub.projectId}/subscriptions/${spec.name}`;
  const closing = new AbortController();
  let forwarded = 0;
  let acked = 0;
  let nacked = 0;
  let errors = 0;
  let inFlight = 0;
  let slotFreed: () => void = () => undefined;

  const fail = (error: unknown): void => {
    if (closing.signal.aborted) return;
    errors += 1;
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  };

  const settle = async (ackId: string, ok: boolean): Promise<void> => {
    if (ok) {
      acked += 1;
      await client.acknowledge({ subscription, ackIds: [ackId] });
    } else {
      nacked += 1;
      await client.modifyAckDeadline({ subscription, ackIds: [ackId], ackDeadlineSeconds: 0 });
    }
  };

  const deliver = async (received: ReceivedMessage): Promise<void> => {
    forwarded += 1;
    const ok = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(pushBody(pubsub.projectId, spec.name, received, options.deliveryAttempt ?? true)),
      signal: AbortSignal.any([AbortSignal.timeout(spec.ackDeadlineSeconds * 1000), closing.signal]),
    })
      .then(async (response) => {
        await response.arrayBuffer().catch(() => undefined);
        return acks(response.status);
      })
      .catch(() => false);
    if (!closing.signal.aborted) await settle(received.ackId ?? '', ok).catch(fail);
  };

  const pump = async (): Promise<void> => {
    let idleMs = IDLE_MIN_MS;
    while (!closing.signal.aborted) {
      const free = options.maxInFlight - inFlight;
      if (free <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      let received: ReceivedMessage[];
      try {
        // Not a long poll: the emulator's does not wake when a nacked message's backoff ends, only on a publish
        // (measured: a retry waited out the whole 30 s pull). An empty answer is retried after a short pause.
        const [response] = await client.pull({ subscription, maxMessages: free, returnImmediately: true }, { timeout: PULL_TIMEOUT_MS });
        received = response.receivedMessages ?? [];
      } catch (error) {
        fail(error);
        await sleep(ERROR_PAUSE_MS, closing.signal);
        continue;
      }
      if (received.length === 0) {
        await sleep(idleMs, closing.signal);
        idleMs = Math.min(IDLE_MAX_MS, idleMs * 2);
        continue;
      }
      idleMs = IDLE_MIN_MS;
      for (const message of received) {
        inFlight += 1;
        void deliver(message).finally(() => {
          inFlight -= 1;
          slotFreed();
        });
      }
    }
  };
  const pumping = pump();

  return {
    subscription: spec.name,
    endpoint,
    stats: () => ({ forwarded, acked, nacked, inFlight, errors }),
    /** Stops pulling; what is in flight is abandoned, and the emulator redelivers it after its ack deadline. */
    async close() {
      closing.abort();
      slotFreed();
      await pumping;
      await client.close();
    },
  };
}
