/**
 * Fan-in of the audio orders, one per audio stream: the renditions in the source's stream order. audioTracks
 * reads the folded shape, and outputs recorded before several tracks were rendered (one rendition's outputs at
 * the top level, no `tracks`) as that one track.
 */
import type { HlsAudioCombinedOutputs, HlsAudioOutputs } from '../../events/generated/steps/hls-audio.ts';
import { COMBINED_SCHEMA_FILE, OUTPUTS_SCHEMA_FILE, readStepSchema } from '../../events/step-schemas.ts';
import { schemaGuard } from '../../shared/domain/schema-guard.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { AudioOutputs } from './publish.ts';

/** What the asset records for the step (combined.v1.schema.json beside this file). */
export type AudioTracks = DeepReadonly<HlsAudioCombinedOutputs>;

/**
 * The primary track's outputs stay at the top level, where readers of the single-rendition outputs find them
 * (gain, samples, codec); `tracks` lists every rendition, the primary first.
 */
export function combineAudioTracks(shardOutputs: readonly AudioOutputs[]): AudioTracks {
  const [primary] = shardOutputs;
  if (!primary) throw new Error('hls-audio reported no track to fold');
  return { ...primary, tracks: shardOutputs };
}

const recorded = schemaGuard<HlsAudioCombinedOutputs>(readStepSchema(import.meta.dirname, COMBINED_SCHEMA_FILE), 'the hls-audio outputs');
const track = schemaGuard<HlsAudioOutputs>(readStepSchema(import.meta.dirname, OUTPUTS_SCHEMA_FILE), 'the hls-audio track outputs');

/** Every rendition the step recorded, checked against the step's schemas: none when the step did not run. */
export function audioTracks(outputs: DocData | undefined): readonly AudioOutputs[] {
  if (!outputs) return [];
  return 'tracks' in outputs ? recorded.check(outputs).tracks : [track.check(outputs)];
}
