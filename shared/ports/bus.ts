/**
 * The message bus, shaped after Pub/Sub so one handler runs unchanged on the in-process bus and on push
 * subscriptions: a handler that resolves acks the message, one that rejects nacks it for redelivery.
 */

export interface OutgoingMessage {
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
}

/** What handlers use: they only ever publish. Subscriptions are wiring, owned by the runtime. */
export interface Publisher {
  /** Resolves with the message id once the bus has accepted the message. */
  publish(topic: string, message: OutgoingMessage): Promise<string>;
}

export interface Delivery {
  readonly messageId: string;
  readonly publishTime: Date;
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
  /** 1 on first delivery, as Pub/Sub counts it when a dead-letter policy is set. */
  readonly deliveryAttempt: number;
  readonly subscription: string;
  readonly topic: string;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** Everything that makes a subscription behave; the same record drives the local bus, the emulator setup and Terraform. */
export interface SubscriptionSpec {
  readonly name: string;
  readonly topic: string;
  /** A delivery not acked within this time counts as failed and is redelivered (Pub/Sub: 10..600 s). */
  readonly ackDeadlineSeconds: number;
  /** Pub/Sub allows 5..100 when a dead-letter topic is set. */
  readonly maxDeliveryAttempts: number;
  readonly minimumBackoffSeconds: number;
  readonly maximumBackoffSeconds: number;
  /** Where a message goes after maxDeliveryAttempts. Undefined means retry forever (only the dead-letter sink itself). */
  readonly deadLetterTopic?: string;
  /** Deliveries in flight at once on this subscription. */
  readonly maxConcurrency: number;
}

/** Attribute names Pub/Sub adds to a dead-lettered message; the local bus adds the same ones. */
export const DeadLetterAttribute = {
  sourceSubscription: 'CloudPubSubDeadLetterSourceSubscription',
  sourceSubscriptionProject: 'CloudPubSubDeadLetterSourceSubscriptionProject',
  sourceDeliveryCount: 'CloudPubSubDeadLetterSourceDeliveryCount',
  sourceTopicPublishTime: 'CloudPubSubDeadLetterSourceTopicPublishTime',
} as const;

/** A bus that can also deliver: the in-process bus, and test harnesses. */
export interface MessageBus extends Publisher {
  subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): void;
  /** Resolves when nothing is in flight, queued or waiting for a retry on any subscription. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
