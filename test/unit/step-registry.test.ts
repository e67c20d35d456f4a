import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { createStepRegistry, PROBE_STEP } from '../../shared/domain/step.ts';
import { testStep } from '../support/embedded.ts';

const noop = async () => ({ outputs: {} });

describe('step registry', () => {
  it('refuses duplicates, the reserved probe name, unknown dependencies and cycles', () => {
    expect(() => createStepRegistry([testStep('a', noop), testStep('a', noop)])).toThrow("step 'a' is registered twice");
    expect(() => createStepRegistry([testStep(PROBE_STEP, noop)])).toThrow('reserved');
    expect(() => createStepRegistry([testStep('a', noop, { dependsOn: ['ghost'] })])).toThrow("unknown step 'ghost'");
    expect(() => createStepRegistry([testStep('a', noop, { dependsOn: ['b'] }), testStep('b', noop, { dependsOn: ['a'] })])).toThrow('cycle: a → b → a');
  });

  it('every production step has a params schema file and a timeout within the ack-deadline ceiling', () => {
    for (const step of productionSteps.values()) {
      expect(step.paramsSchema).toMatchObject({ type: 'object' });
      expect(step.timeoutMs).toBeGreaterThan(0);
      expect(step.timeoutMs).toBeLessThanOrEqual(585_000);
    }
  });

  it('every production step has strict outputs schemas, and a combined one exactly when it folds shards', () => {
    for (const step of productionSteps.values()) {
      const ajv = new Ajv2020({ strict: true, allErrors: true });
      expect(() => ajv.compile(step.outputsSchema), step.name).not.toThrow();
      expect(step.combinedOutputsSchema !== undefined, step.name).toBe(step.combine !== undefined);
      if (step.combinedOutputsSchema) expect(() => ajv.compile(step.combinedOutputsSchema!), step.name).not.toThrow();
    }
  });
});
