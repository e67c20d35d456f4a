/**
 * The steps this build of mediaflow runs. Adding a step means adding it here; the coordinator plans from this
 * list and never names a step itself.
 */
import { createStepRegistry } from '../shared/domain/step.ts';
import { checksumStep } from './checksum/step.ts';

export const productionSteps = createStepRegistry([checksumStep]);
