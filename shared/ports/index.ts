export type { DocumentStore, DocData, DocSnapshot, DocValue, Query, Transaction } from './document-store.ts';
export type { BlobMetadata, BlobRef, BlobStore, WriteOptions } from './blob-store.ts';
export { BlobNotFoundError, PreconditionFailedError } from './blob-store.ts';
export type { Delivery, DeliveryHandler, MessageBus, OutgoingMessage, Publisher, SubscriptionSpec } from './bus.ts';
export { DeadLetterAttribute } from './bus.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
