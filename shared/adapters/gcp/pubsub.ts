/**
 * Pub/Sub adapters. On Cloud Run the functions only publish (deliveries arrive as push requests); the pull-based
 * subscribe here serves the port's contract suite and local tooling, with the same ack/nack semantics.
 */
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import type { Delivery, DeliveryHandler, MessageBus, OutgoingMessage, Publisher, SubscriptionSpec } from '../../ports/bus.ts';

export function createPubSubClient(options: { projectId: string }): PubSub {
  return new PubSub({ projectId: options.projectId });
}

export class PubSubPublisher implements Publisher {
  readonly #pubsub: PubSub;
  readonly #topics = new Map<string, Topic>();

  constructor(pubsub: PubSub) {
    this.#pubsub = pubsub;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    let handle = this.#topics.get(topic);
    if (!handle) {
      // A handler publishes a few messages and returns: waiting for a batch to fill would only add latency.
      handle = this.#pubsub.topic(topic, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
      this.#topics.set(topic, handle);
    }
    return handle.publishMessage({ data: message.data, attributes: { ...message.attributes } });
  }
}

/** How a subscription is created beyond its spec. Production (Terraform) always gets the defaults. */
export interface SubscriptionCreateOptions {
  /**
   * false leaves the retry policy out: only the local cloud's `push-without-retry-policy` delivery, a test-bed
   * deviation, because the emulator strands push messages under a retry policy (docs/local-cloud-emulator.md).
   */
  readonly retryPolicy?: boolean;
}

/** The subscription settings of a spec, in the client's shape: the same record Terraform and the local bus use. */
export function subscriptionOptions(
  projectId: string,
  spec: SubscriptionSpec,
  pushEndpoint?: string,
  options: SubscriptionCreateOptions = {},
): Record<string, unknown> {
  return {
    ackDeadlineSeconds: spec.ackDeadlineSeconds,
    ...(options.retryPolicy === false
      ? {}
      : { retryPolicy: { minimumBackoff: { seconds: spec.minimumBackoffSeconds }, maximumBackoff: { seconds: spec.maximumBackoffSeconds } } }),
    ...(spec.deadLetterTopic
      ? { deadLetterPolicy: { deadLetterTopic: `projects/${projectId}/topics/${spec.deadLetterTopic}`, maxDeliveryAttempts: spec.maxDeliveryAttempts } }
      : {}),
    ...(pushEndpoint ? { pushConfig: { pushEndpoint } } : {}),
  };
}

/** Creates the topic if it is missing; concurrent creators and re-runs are fine. */
export async function ensureTopic(pubsub: PubSub, name: string): Promise<Topic> {
  const topic = pubsub.topic(name);
  const [exists] = await topic.exists();
  if (!exists) await topic.create().catch(ignoreAlreadyExists);
  return topic;
}

export async function ensureSubscription(
  pubsub: PubSub,
  spec: SubscriptionSpec,
  pushEndpoint?: string,
  options: SubscriptionCreateOptions = {},
): Promise<Subscription> {
  const projectId = pubsub.projectId;
  const topic = await ensureTopic(pubsub, spec.topic);
  if (spec.deadLetterTopic) await ensureTopic(pubsub, spec.deadLetterTopic);
  const subscription = topic.subscription(spec.name);
  const [exists] = await subscription.exists();
  if (!exists) await topic.createSubscription(spec.name, subscriptionOptions(projectId, spec, pushEndpoint, options)).catch(ignoreAlreadyExists);
  return subscription;
}

function ignoreAlreadyExists(error: unknown): void {
  if ((error as { code?: number }).code !== 6) throw error;
}

/**
 * Pull-based MessageBus on Pub/Sub. idle() cannot see the server's backlog, so it means "nothing in flight
 * here and nothing received for `quietMs`": good enough for tests and tools, which is all it serves.
 */
export class PubSubBus extends PubSubPublisher implements MessageBus {
  readonly #client: PubSub;
  readonly #subscriptions: Subscription[] = [];
  readonly #quietMs: number;
  readonly #pending: Promise<void>[] = [];
  #inFlight = 0;
  #lastActivity = Date.now();

  constructor(pubsub: PubSub, options: { quietMs?: number } = {}) {
    super(pubsub);
    this.#client = pubsub;
    this.#quietMs = options.quietMs ?? 1_000;
  }

  subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): void {
    const ready = ensureSubscription(this.#client, spec).then((subscription) => {
      subscription.setOptions({ flowControl: { maxMessages: spec.maxConcurrency, allowExcessMessages: false } });
      subscription.on('message', (message: Message) => this.#deliver(spec, message, handler));
      subscription.on('error', () => undefined);
      this.#subscriptions.push(subscription);
    });
    this.#pending.push(ready);
  }

  /** Resolves once every subscribe() has created its subscription and started pulling. */
  async ready(): Promise<void> {
    await Promise.all(this.#pending);
  }

  #deliver(spec: SubscriptionSpec, message: Message, handler: DeliveryHandler): void {
    this.#inFlight += 1;
    this.#lastActivity = Date.now();
    const delivery: Delivery = {
      messageId: message.id,
      publishTime: new Date(message.publishTime.getTime()),
      data: Buffer.from(message.data),
      attributes: { ...message.attributes },
      // The emulator reports 0 where the service would count attempts; 0 means "unknown" to the edge.
      deliveryAttempt: message.deliveryAttempt,
      subscription: spec.name,
      topic: spec.topic,
    };
    handler(delivery)
      .then(
        () => message.ack(),
        () => message.nack(),
      )
      .finally(() => {
        this.#inFlight -= 1;
        this.#lastActivity = Date.now();
      });
  }

  async idle(): Promise<void> {
    await this.ready();
    while (this.#inFlight > 0 || Date.now() - this.#lastActivity < this.#quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#subscriptions.map((subscription) => subscription.close()));
  }
}
