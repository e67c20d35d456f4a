/**
 * The steps this build of mediaflow runs. Adding a step means adding it here; the coordinator plans from this
 * list and never names a step itself.
 */
import { createStepRegistry } from '../shared/domain/step.ts';
import { audioStep } from './audio/step.ts';
import { checksumStep } from './checksum/step.ts';
import { createHlsAudioStep } from './hls-audio/step.ts';
import { createPackageStep } from './hls-package/step.ts';
import { createSegmentStep } from './hls-segment/step.ts';
import { createSubtitlesStep } from './hls-subtitles/step.ts';
import { tagStep } from './tag/step.ts';
import { thumbnailStep } from './thumbnail/step.ts';

export const productionSteps = createStepRegistry([
  checksumStep,
  audioStep,
  thumbnailStep,
  createSegmentStep(),
  createHlsAudioStep(),
  createSubtitlesStep(),
  createPackageStep(),
  tagStep,
]);
