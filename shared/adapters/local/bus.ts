/**
 * The in-process MessageBus. It keeps Pub/Sub's at-least-once contract (per-subscription fan-out, ack deadlines,
 * exponential backoff, dead-lettering, bounded concurrency) so handlers meet locally the same redeliveries they meet
 * in the cloud, and a handler that is not idempotent fails here first.
 */
import type { Delivery, DeliveryHandler, MessageBus, OutgoingMessage, SubscriptionSpec } from '../../ports/bus.ts';
import { DeadLetterAttribute } from '../../ports/bus.ts';
import type { Clock } from '../../ports/clock.ts';
import { systemClock } from '../../ports/clock.ts';
import { ConfigError, errorMessage } from '../../errors.ts';
import type { BusJournal, JournaledMessage } from './bus-journal.ts';

export interface DeadLetterInfo {
  subscription: string;
  messageId: string;
  deliveryAttempt: number;
  lastError: string;
}

export interface NackInfo {
  subscription: string;
  messageId: string;
  deliveryAttempt: number;
  error: string;
}

export interface LocalBusOptions {
  /** Source of publishTime. Default systemClock. */
  clock?: Clock;
  /**
   * Multiplies every backoff and ack deadline from the SubscriptionSpec, so tests don't wait Pub/Sub's real
   * 10 s..600 s. Default 1; e.g. 0.01.
   */
  timeScale?: number;
  /**
   * Overrides timeScale for ack deadlines only. The embedded runtime shortens backoffs but keeps real deadlines
   * (1), because a deadline scaled down would redeliver a legitimately long ffmpeg run while it still works.
   */
  ackDeadlineScale?: number;
  /** Goes into the dead-letter attributes, as Pub/Sub names the source project. Default 'local'. */
  projectId?: string;
  /** Called with each dead-lettered message, after it was published to the dead-letter topic. */
  onDeadLetter?: (info: DeadLetterInfo) => void;
  /** Called when a delivery attempt fails: the handler rejected or the ack deadline passed. */
  onNack?: (info: NackInfo) => void;
  /**
   * Keeps every undelivered or unacked message on disk, so a process killed half-way loses nothing: recover()
   * in the next process redelivers them. Without one, messages live only in memory, as in most tests.
   */
  journal?: BusJournal;
}

type StoredMessage = JournaledMessage;

interface Pending {
  readonly message: StoredMessage;
  /** Failed attempts so far; the next delivery is attempt `failures + 1`. */
  readonly failures: number;
}

interface Subscription {
  readonly spec: SubscriptionSpec;
  readonly handler: DeliveryHandler;
  readonly queue: Pending[];
  readonly retryTimers: Set<NodeJS.Timeout>;
  /** Deliveries holding a concurrency slot. */
  inFlight: number;
  /** Handlers still running past their ack deadline: they hold no slot, but idle() and close() wait for them. */
  zombies: number;
}

export class LocalBus implements MessageBus {
  readonly #clock: Clock;
  readonly #timeScale: number;
  readonly #ackDeadlineScale: number;
  readonly #projectId: string;
  readonly #onDeadLetter: ((info: DeadLetterInfo) => void) | undefined;
  readonly #onNack: ((info: NackInfo) => void) | undefined;
  readonly #journal: BusJournal | undefined;
  readonly #subscriptions = new Map<string, Subscription>();
  #idleWaiters: Array<() => void> = [];
  #lastId = 0;
  #closed = false;

  constructor(options: LocalBusOptions = {}) {
    const timeScale = options.timeScale ?? 1;
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new ConfigError(`LocalBus timeScale must be a positive number, got ${timeScale}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#timeScale = timeScale;
    this.#ackDeadlineScale = options.ackDeadlineScale ?? timeScale;
    this.#projectId = options.projectId ?? 'local';
    this.#onDeadLetter = options.onDeadLetter;
    this.#onNack = options.onNack;
    this.#journal = options.journal;
  }

  publish(topic: string, message: OutgoingMessage): Promise<string> {
    // The executor turns a throw (closed bus, malformed message) into a rejection, as a remote publish would fail.
    return new Promise((resolve) => resolve(this.#publishNow(topic, message)));
  }

  subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): void {
    if (this.#closed) throw new Error(`LocalBus is closed; cannot subscribe ${spec.name}`);
    if (this.#subscriptions.has(spec.name)) throw new ConfigError(`Subscription ${spec.name} already exists`);
    // Otherwise the subscription would stall or fail every attempt, far from the wiring mistake that caused it.
    if (!(spec.maxConcurrency >= 1)) throw new ConfigError(`Subscription ${spec.name}: maxConcurrency must be >= 1`);
    if (!(spec.ackDeadlineSeconds > 0)) throw new ConfigError(`Subscription ${spec.name}: ackDeadlineSeconds must be > 0`);
    this.#subscriptions.set(spec.name, { spec, handler, queue: [], retryTimers: new Set(), inFlight: 0, zombies: 0 });
  }

  /**
   * Queues what the journal still holds for the subscriptions made so far, with the attempt counts they reached.
   * Call it once, after every subscription is made: a message a recovered delivery publishes reaches only the
   * subscriptions that exist when it is published.
   */
  recover(): number {
    if (!this.#journal) return 0;
    let recovered = 0;
    for (const sub of this.#subscriptions.values()) {
      const pending = this.#journal.pending(sub.spec.name);
      sub.queue.push(...pending);
      recovered += pending.length;
      this.#pump(sub);
    }
    return recovered;
  }

  idle(): Promise<void> {
    if (this.#isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const sub of this.#subscriptions.values()) {
      for (const timer of sub.retryTimers) clearTimeout(timer);
      sub.retryTimers.clear();
      sub.queue.length = 0;
    }
    this.#checkIdle();
    return this.idle();
  }

  #publishNow(topic: string, message: OutgoingMessage): string {
    if (this.#closed) throw new Error(`LocalBus is closed; cannot publish to ${topic}`);
    const stored: StoredMessage = {
      id: this.#journal?.nextId() ?? String(++this.#lastId),
      topic,
      publishTime: new Date(this.#clock.now().getTime()),
      data: Buffer.from(message.data),
      attributes: Object.freeze({ ...message.attributes }),
    };
    // Attached at publish time, like Pub/Sub: a subscription created later never sees this message.
    const attached = [...this.#subscriptions.values()].filter((sub) => sub.spec.topic === topic);
    // On disk before any delivery, so a crash from here on redelivers rather than loses.
    this.#journal?.record(
      stored,
      attached.map((sub) => sub.spec.name),
    );
    for (const sub of attached) {
      sub.queue.push({ message: stored, failures: 0 });
      this.#pump(sub);
    }
    return stored.id;
  }

  #pump(sub: Subscription): void {
    while (!this.#closed && sub.inFlight < sub.spec.maxConcurrency) {
      const next = sub.queue.shift();
      if (next === undefined) return;
      this.#deliver(sub, next);
    }
  }

  #deliver(sub: Subscription, pending: Pending): void {
    const { message } = pending;
    // Fresh copies per attempt, so one handler mutating its buffer can't corrupt another's delivery or a retry.
    const delivery: Delivery = Object.freeze({
      messageId: message.id,
      publishTime: new Date(message.publishTime.getTime()),
      data: Buffer.from(message.data),
      attributes: message.attributes,
      deliveryAttempt: pending.failures + 1,
      subscription: sub.spec.name,
      topic: message.topic,
    });
    sub.inFlight++;
    let expired = false;
    const deadline = setTimeout(
      () => {
        // The handler keeps running, as it does on Pub/Sub; only its slot and its say over the outcome are taken.
        expired = true;
        sub.inFlight--;
        sub.zombies++;
        this.#failed(sub, pending, 'ack deadline exceeded');
        this.#pump(sub);
      },
      sub.spec.ackDeadlineSeconds * 1000 * this.#ackDeadlineScale,
    );
    const settle = (failure: string | undefined): void => {
      if (expired) {
        sub.zombies--;
      } else {
        clearTimeout(deadline);
        sub.inFlight--;
        if (failure !== undefined) this.#failed(sub, pending, failure);
        else this.#journal?.settled(sub.spec.name, message.id);
      }
      this.#pump(sub);
      this.#checkIdle();
    };
    // Invoking inside then() defers the handler off the publisher's stack and turns a synchronous throw into a nack.
    void Promise.resolve()
      .then(() => sub.handler(delivery))
      .then(
        () => settle(undefined),
        (error: unknown) => settle(errorMessage(error)),
      );
  }

  #failed(sub: Subscription, pending: Pending, reason: string): void {
    const { spec } = sub;
    const attempt = pending.failures + 1;
    const messageId = pending.message.id;
    notify(this.#onNack, { subscription: spec.name, messageId, deliveryAttempt: attempt, error: reason });
    if (this.#closed) return;
    const deadLetterTopic = spec.deadLetterTopic;
    if (deadLetterTopic !== undefined && attempt >= spec.maxDeliveryAttempts) {
      this.#deadLetter(deadLetterTopic, spec.name, pending.message, attempt);
      this.#journal?.settled(spec.name, messageId);
      notify(this.#onDeadLetter, { subscription: spec.name, messageId, deliveryAttempt: attempt, lastError: reason });
      return;
    }
    this.#journal?.failed(spec.name, messageId, attempt);
    // Without a dead-letter topic Pub/Sub retries forever; the cap keeps that at maximumBackoff per attempt.
    const backoff = Math.min(spec.maximumBackoffSeconds, spec.minimumBackoffSeconds * 2 ** (attempt - 1));
    // Left ref'd on purpose: an unref'd retry would let a script awaiting idle() exit with work still pending.
    const timer = setTimeout(() => {
      sub.retryTimers.delete(timer);
      sub.queue.push({ message: pending.message, failures: attempt });
      this.#pump(sub);
    }, this.#scaledMs(backoff));
    sub.retryTimers.add(timer);
  }

  #deadLetter(topic: string, subscription: string, message: StoredMessage, deliveryCount: number): void {
    this.#publishNow(topic, {
      data: message.data,
      attributes: {
        ...message.attributes,
        // Pub/Sub (and its emulator) name the source subscription by its short id; the project is its own attribute.
        [DeadLetterAttribute.sourceSubscription]: subscription,
        [DeadLetterAttribute.sourceSubscriptionProject]: this.#projectId,
        [DeadLetterAttribute.sourceDeliveryCount]: String(deliveryCount),
        [DeadLetterAttribute.sourceTopicPublishTime]: message.publishTime.toISOString(),
      },
    });
  }

  #scaledMs(seconds: number): number {
    return seconds * 1000 * this.#timeScale;
  }

  #isQuiet(): boolean {
    for (const sub of this.#subscriptions.values()) {
      if (sub.queue.length > 0 || sub.inFlight > 0 || sub.zombies > 0 || sub.retryTimers.size > 0) return false;
    }
    return true;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isQuiet()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Observers must not be able to break delivery bookkeeping, so their errors stop here. */
function notify<T>(observer: ((info: T) => void) | undefined, info: T): void {
  try {
    observer?.(info);
  } catch {
    // An observability hook failing is not a reason to lose or duplicate a message.
  }
}
