import { describe, expect, it } from 'vitest';
import { loadConfig, workTopic } from '../../shared/config/config.ts';
import { ConfigError } from '../../shared/errors.ts';

describe('loadConfig', () => {
  it('gives the embedded runtime working defaults', () => {
    const config = loadConfig({}, { dataDir: '/tmp/x' });
    expect(config).toMatchObject({
      runtime: 'embedded',
      buckets: { ingest: 'mediaflow-ingest', derivatives: 'mediaflow-derivatives', partner: [] },
      topics: { uploads: 'mediaflow-uploads', stepResults: 'mediaflow-step-results', deadLetters: 'mediaflow-dead-letters' },
      retry: { maxDeliveryAttempts: 5, minimumBackoffSeconds: 10, maximumBackoffSeconds: 600 },
      dataDir: '/tmp/x',
    });
    expect(workTopic(config, 'checksum')).toBe('mediaflow-work-checksum');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('turns Vertex tagging on only with a project and a location', () => {
    expect(loadConfig({}).vertex).toBeUndefined();
    expect(loadConfig({ MEDIAFLOW_VERTEX_PROJECT: 'p', MEDIAFLOW_VERTEX_LOCATION: 'europe-west4', MEDIAFLOW_VERTEX_MODEL: 'gemini-2.5-flash' }).vertex).toEqual({
      project: 'p',
      location: 'europe-west4',
      model: 'gemini-2.5-flash',
    });
  });

  it('requires the deployment facts on gcp, and lists every problem at once', () => {
    expect(() => loadConfig({ MEDIAFLOW_RUNTIME: 'gcp' })).toThrow(ConfigError);
    try {
      loadConfig({ MEDIAFLOW_RUNTIME: 'gcp', MEDIAFLOW_MAX_DELIVERY_ATTEMPTS: '2' });
    } catch (error) {
      const message = (error as Error).message;
      for (const expected of ['MEDIAFLOW_INGEST_BUCKET is required', 'MEDIAFLOW_DERIVATIVES_BUCKET is required', 'GOOGLE_CLOUD_PROJECT is required', 'MEDIAFLOW_MAX_DELIVERY_ATTEMPTS must be a number in [5, 100]']) {
        expect(message).toContain(expected);
      }
    }
  });

  it.each([
    [{ MEDIAFLOW_RUNTIME: 'lambda' }, "MEDIAFLOW_RUNTIME must be 'embedded' or 'gcp'"],
    [{ MEDIAFLOW_INGEST_BUCKET: 'Bad_Bucket' }, 'is not a valid bucket name'],
    [{ MEDIAFLOW_INGEST_BUCKET: 'same-one', MEDIAFLOW_DERIVATIVES_BUCKET: 'same-one' }, 'must differ'],
    [{ MEDIAFLOW_MIN_BACKOFF_SECONDS: '60', MEDIAFLOW_MAX_BACKOFF_SECONDS: '30' }, 'must not exceed'],
    [{ MEDIAFLOW_LOG_LEVEL: 'loud' }, 'MEDIAFLOW_LOG_LEVEL must be one of'],
    [{ MEDIAFLOW_PARTNER_BUCKETS: 'ok-bucket,NOPE' }, "MEDIAFLOW_PARTNER_BUCKETS 'NOPE'"],
    [{ MEDIAFLOW_VERTEX_PROJECT: 'p' }, 'MEDIAFLOW_VERTEX_PROJECT and MEDIAFLOW_VERTEX_LOCATION go together'],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
