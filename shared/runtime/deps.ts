import type { EventValidator } from '../../events/catalog.ts';
import type { Config } from '../config/config.ts';
import type { StepRegistry } from '../domain/step.ts';
import type { ProbeSummary } from '../media/classify.ts';
import type { ByteSource, MediaInput } from '../media/input.ts';
import type { MediaTools } from '../media/tools.ts';
import type { Logger } from '../observability/log.ts';
import type { DocumentStore } from '../ports/document-store.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { Publisher } from '../ports/bus.ts';
import type { Clock } from '../ports/clock.ts';

/** Everything a function may touch, injected, so the same handler runs on the embedded runtime and on GCP. */
export interface Deps {
  readonly config: Config;
  readonly blobs: BlobStore;
  readonly bus: Publisher;
  readonly store: DocumentStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly validator: EventValidator;
  readonly steps: StepRegistry;
  /** Resolved once per process, on first use; a missing ffmpeg is a ConfigError, not a per-message retry. */
  readonly mediaTools: () => Promise<MediaTools>;
  /** ffprobe reads `input`; the structure checks read `bytes`, the same bytes (see probeMedia). */
  readonly probe: (input: MediaInput, bytes: ByteSource, tools: MediaTools) => Promise<ProbeSummary>;
}

/** Memoizes an async factory, and forgets a failure so a later call can try again. */
export function once<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= factory().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
