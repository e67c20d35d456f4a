/**
 * The GCP runtime's dependencies: Firestore, GCS and Pub/Sub behind the same ports as the embedded runtime.
 * The client libraries find the local emulators through FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST;
 * fake-gcs-server through the configured storage endpoint.
 */
import { EventValidator } from '../../events/catalog.ts';
import { createFirestoreDocumentStore } from '../adapters/gcp/document-store.ts';
import { createGcsBlobStore } from '../adapters/gcp/blob-store.ts';
import { createPubSubClient, PubSubPublisher } from '../adapters/gcp/pubsub.ts';
import type { Config } from '../config/config.ts';
import type { StepRegistry } from '../domain/step.ts';
import { probeMedia, REMOTE_MAX_BOX_READS } from '../media/probe.ts';
import { resolveMediaTools } from '../media/tools.ts';
import { createLogger } from '../observability/log.ts';
import { systemClock } from '../ports/clock.ts';
import { once, type Deps } from './deps.ts';

export function createGcpDeps(config: Config, steps: StepRegistry, env: Readonly<Record<string, string | undefined>>): Deps {
  return {
    config,
    blobs: createGcsBlobStore({ projectId: config.projectId, ...(config.storageApiEndpoint ? { apiEndpoint: config.storageApiEndpoint } : {}) }),
    bus: new PubSubPublisher(createPubSubClient({ projectId: config.projectId })),
    store: createFirestoreDocumentStore({ projectId: config.projectId }),
    clock: systemClock,
    log: createLogger(config.logLevel, { runtime: 'gcp' }),
    validator: new EventValidator(new Map([...steps.values()].map((step) => [step.name, step.paramsSchema]))),
    steps,
    mediaTools: once(() => resolveMediaTools(env)),
    probe: (input, bytes, tools) => probeMedia(input, bytes, tools, { maxBoxReads: REMOTE_MAX_BOX_READS }),
  };
}
