import { describe, expect, it } from 'vitest';
import { loadConfig, workTopic } from '../../shared/config/config.ts';
import { DEFAULT_LIMITS, LIMIT_CEILINGS, LIMIT_ENV, type Limits } from '../../shared/domain/limits.ts';
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
    expect(loadConfig({ MEDIAFLOW_VERTEX_PROJECT: 'p', MEDIAFLOW_VERTEX_LOCATION: 'europe-west4', MEDIAFLOW_VERTEX_MODEL: 'gemini-2.5-flash' }).vertex).toEqual(
      {
        project: 'p',
        location: 'europe-west4',
        model: 'gemini-2.5-flash',
      },
    );
  });

  it('requires the deployment facts on gcp, and lists every problem at once', () => {
    expect(() => loadConfig({ MEDIAFLOW_RUNTIME: 'gcp' })).toThrow(ConfigError);
    try {
      loadConfig({ MEDIAFLOW_RUNTIME: 'gcp', MEDIAFLOW_MAX_DELIVERY_ATTEMPTS: '2' });
    } catch (error) {
      const message = (error as Error).message;
      for (const expected of [
        'MEDIAFLOW_INGEST_BUCKET is required',
        'MEDIAFLOW_DERIVATIVES_BUCKET is required',
        'GOOGLE_CLOUD_PROJECT is required',
        'MEDIAFLOW_MAX_DELIVERY_ATTEMPTS must be a number in [5, 100]',
      ]) {
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

describe('loadConfig: partner buckets', () => {
  it('parses the grants and lists each partner bucket once, in order', () => {
    const config = loadConfig({ MEDIAFLOW_PARTNER_BUCKETS: 'partner-drop, acme=shared-drop/acme/,beta=shared-drop/beta/,acme=partner-drop' });
    expect(config.buckets.partner).toEqual(['partner-drop', 'shared-drop']);
    expect(config.partnerGrants).toEqual([
      { partner: undefined, bucket: 'partner-drop', prefix: '' },
      { partner: 'acme', bucket: 'shared-drop', prefix: 'acme/' },
      { partner: 'beta', bucket: 'shared-drop', prefix: 'beta/' },
      { partner: 'acme', bucket: 'partner-drop', prefix: '' },
    ]);
  });

  it('no partner buckets by default', () => {
    expect(loadConfig({}).partnerGrants).toEqual([]);
  });

  it.each([
    ['the default ingest bucket', {}, 'mediaflow-ingest', 'mediaflow-ingest'],
    ['the default derivatives bucket, under a prefix', {}, 'acme=mediaflow-derivatives/acme/', 'mediaflow-derivatives'],
    ['a configured ingest bucket', { MEDIAFLOW_INGEST_BUCKET: 'my-uploads' }, 'ok-drop,my-uploads', 'my-uploads'],
    ['a configured derivatives bucket', { MEDIAFLOW_DERIVATIVES_BUCKET: 'my-outputs' }, 'acme=my-outputs', 'my-outputs'],
  ])('refuses a grant on %s', (_label, env, grants, bucket) => {
    expect(() => loadConfig({ ...env, MEDIAFLOW_PARTNER_BUCKETS: grants })).toThrow(
      `MEDIAFLOW_PARTNER_BUCKETS must not name the ingest or derivatives bucket ('${bucket}')`,
    );
  });

  it('names a bucket granted twice only once', () => {
    try {
      loadConfig({ MEDIAFLOW_PARTNER_BUCKETS: 'mediaflow-ingest,acme=mediaflow-ingest/acme/' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.match(/must not name the ingest/g)).toHaveLength(1);
    }
  });

  it('a bucket whose name only starts like the ingest bucket is fine', () => {
    expect(loadConfig({ MEDIAFLOW_PARTNER_BUCKETS: 'mediaflow-ingest-partners' }).buckets.partner).toEqual(['mediaflow-ingest-partners']);
  });

  it('an invalid partner name is a problem', () => {
    expect(() => loadConfig({ MEDIAFLOW_PARTNER_BUCKETS: 'Acme=acme-drop' })).toThrow("'Acme' is not a partner name");
  });
});

describe('loadConfig: limits', () => {
  it('defaults to DEFAULT_LIMITS, frozen', () => {
    const { limits } = loadConfig({});
    expect(limits).toEqual(DEFAULT_LIMITS);
    expect(Object.isFrozen(limits)).toBe(true);
  });

  it.each<[keyof Limits, string, number]>([
    ['maxAudioSeconds', '600', 600],
    ['maxAudioSeconds', ' 7200 ', 7200],
    ['maxVideoSeconds', '1', 1],
    ['maxVideoFramePixels', String(16384 * 16384), 16384 * 16384],
    ['maxVideoFrames', '1e6', 1_000_000],
    ['maxAudioChannels', '64', 64],
    ['maxAudioChannels', '2.9', 2],
    ['maxWorkOrdersPerAsset', '50', 50],
  ])('%s from its variable: %j → %d', (key, raw, value) => {
    const { limits } = loadConfig({ [LIMIT_ENV[key]]: raw });
    expect(limits[key]).toBe(value);
    for (const other of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) if (other !== key) expect(limits[other]).toBe(DEFAULT_LIMITS[other]);
  });

  it('an empty variable means the default', () => {
    expect(loadConfig({ MEDIAFLOW_MAX_AUDIO_SECONDS: '  ' }).limits.maxAudioSeconds).toBe(DEFAULT_LIMITS.maxAudioSeconds);
  });

  it.each<[keyof Limits, string]>([
    ['maxAudioSeconds', '7201'],
    ['maxVideoSeconds', '10801'],
    ['maxVideoFramePixels', String(16384 * 16384 + 1)],
    ['maxVideoFrames', String(LIMIT_CEILINGS.maxVideoFrames + 1)],
    ['maxAudioChannels', '65'],
    ['maxWorkOrdersPerAsset', '2001'],
    ['maxAudioSeconds', '0'],
    ['maxAudioSeconds', '0.5'],
    ['maxAudioChannels', '-2'],
    ['maxVideoSeconds', 'three hours'],
    ['maxVideoSeconds', 'Infinity'],
  ])('%s = %j is a problem naming the variable and its range', (key, raw) => {
    expect(() => loadConfig({ [LIMIT_ENV[key]]: raw })).toThrow(`${LIMIT_ENV[key]} must be a number in [1, ${LIMIT_CEILINGS[key]}], got '${raw.trim()}'`);
  });

  it('lists every limit problem at once', () => {
    try {
      loadConfig({ MEDIAFLOW_MAX_AUDIO_SECONDS: '99999', MEDIAFLOW_MAX_WORK_ORDERS_PER_ASSET: '0' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('MEDIAFLOW_MAX_AUDIO_SECONDS');
      expect((error as Error).message).toContain('MEDIAFLOW_MAX_WORK_ORDERS_PER_ASSET');
    }
  });
});

describe('loadConfig: default profile', () => {
  it.each(['default', 'video-hd', 'p', 'a1-b2'])('accepts %j', (profile) => {
    expect(loadConfig({ MEDIAFLOW_DEFAULT_PROFILE: profile }).defaultProfile).toBe(profile);
  });

  it('trims the variable', () => {
    expect(loadConfig({ MEDIAFLOW_DEFAULT_PROFILE: ' portfolio ' }).defaultProfile).toBe('portfolio');
  });

  it.each(['Bad Name', 'Default', '9lives', 'under_score', 'p'.repeat(41), '-x'])('refuses %j', (profile) => {
    expect(() => loadConfig({ MEDIAFLOW_DEFAULT_PROFILE: profile })).toThrow(`MEDIAFLOW_DEFAULT_PROFILE '${profile}' is not a profile name`);
  });
});
