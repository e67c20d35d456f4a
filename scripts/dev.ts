/**
 * `npm run dev`: the pipeline on the local cloud. Starts the Pub/Sub and Firestore emulators and
 * fake-gcs-server, creates buckets, topics and push subscriptions (with dead-letter topics), runs every
 * function as its own functions-framework process, prints where everything is, and stops it all on Ctrl-C.
 */
import { startGcpStack } from './local-cloud/gcp-stack.ts';

const stack = await startGcpStack({
  projectId: process.env.GOOGLE_CLOUD_PROJECT ?? 'mediaflow-dev',
  functionEnv: { MEDIAFLOW_LOG_LEVEL: process.env.MEDIAFLOW_LOG_LEVEL ?? 'info' },
  log: (line) => process.stdout.write(`  ${line}\n`),
});

const exports = Object.entries(stack.env)
  .filter(([key]) => key !== 'MEDIAFLOW_MIN_BACKOFF_SECONDS' && key !== 'MEDIAFLOW_MAX_BACKOFF_SECONDS')
  .map(([key, value]) => `export ${key}=${value}`)
  .join('\n');
process.stdout.write(`
mediaflow is running on the local cloud. In another shell:

${exports}

  # upload with any GCS client, e.g. @google-cloud/storage with apiEndpoint=${stack.cloud.storageEndpoint}:
  curl -X POST --data-binary @photo.jpg -H 'Content-Type: image/jpeg' \\
    '${stack.cloud.storageEndpoint}/upload/storage/v1/b/${stack.config.buckets.ingest}/o?uploadType=media&name=photo.jpg'
  npm run mediaflow -- status          # reads the Firestore emulator when MEDIAFLOW_RUNTIME=gcp

Ctrl-C stops everything.
`);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping the local cloud...\n');
  stack.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
