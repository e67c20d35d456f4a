/**
 * Starts the local cloud once for the GCP suites and stops it afterwards. A missing server fails the run with
 * its install instructions; these suites are never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startLocalCloud } from '../../scripts/local-cloud/local-cloud.ts';

export interface ProvidedLocalCloud {
  readonly projectId: string;
  readonly pubsubHost: string;
  readonly firestoreHost: string;
  readonly storageEndpoint: string;
  readonly env: Record<string, string>;
  /** fake-gcs-server publishes finalize notifications for this bucket to this topic. */
  readonly notificationTopic: string;
  readonly notificationBucket: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    localCloud: ProvidedLocalCloud;
  }
}

export const NOTIFICATION_TOPIC = 'mediaflow-uploads';
export const NOTIFICATION_BUCKET = 'mediaflow-ingest';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cloud = await startLocalCloud({ projectId: 'mediaflow-test', notificationTopic: NOTIFICATION_TOPIC, notificationBucket: NOTIFICATION_BUCKET });
  project.provide('localCloud', {
    projectId: cloud.projectId,
    pubsubHost: cloud.pubsubHost,
    firestoreHost: cloud.firestoreHost,
    storageEndpoint: cloud.storageEndpoint,
    env: cloud.env,
    notificationTopic: NOTIFICATION_TOPIC,
    notificationBucket: NOTIFICATION_BUCKET,
  });
  return () => cloud.stop();
}
