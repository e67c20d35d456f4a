/**
 * Where outputs go: a first run in the step's folder, a reprocess in its output version's folder, and a dependency's
 * outputs read by path (or named relative to a playlist) in the version folder the order's inputVersions give.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.ts';
import { documentId } from '../../shared/domain/asset-id.ts';
import { dependencyName, dependencyRelativePath, derivativeName, derivativeUri, MAX_ASSET_FOLDER_BYTES } from '../../shared/runtime/derivatives.ts';

const ASSET = 'mediaflow-ingest/clips/a.mp4#1700000000000000';
const FOLDER = documentId(ASSET);
const config = loadConfig({}, { dataDir: '/tmp/mediaflow-derivatives-test' });
const BUCKET = config.buckets.derivatives;

describe('derivativeName', () => {
  it('is <asset>/<step>/<file> without a version, as on a first run', () => {
    expect(derivativeName(ASSET, 'thumbnail', 'v1/still-640.jpg')).toBe(`${FOLDER}/thumbnail/v1/still-640.jpg`);
    expect(derivativeName(ASSET, 'thumbnail', 'v1/still-640.jpg', undefined)).toBe(`${FOLDER}/thumbnail/v1/still-640.jpg`);
  });

  it('is <asset>/<step>/<version>/<file> with one', () => {
    expect(derivativeName(ASSET, 'thumbnail', 'v1/still-640.jpg', 'r3.20261206-3fa2c1')).toBe(`${FOLDER}/thumbnail/r3.20261206-3fa2c1/v1/still-640.jpg`);
  });

  it('refuses a version that is not one path segment of the schema', () => {
    for (const version of ['', '.', '..', '../x', 'a/b', '.hidden', 'x'.repeat(65)]) {
      expect(() => derivativeName(ASSET, 'audio', 'aac.m4a', version), version).toThrow(/not an output version/);
    }
    expect(derivativeName(ASSET, 'audio', 'aac.m4a', 'x'.repeat(64))).toBe(`${FOLDER}/audio/${'x'.repeat(64)}/aac.m4a`);
  });

  it('keeps a long asset id to one shortened folder, versioned or not', () => {
    const long = `mediaflow-ingest/${'n'.repeat(400)}#1`;
    const [folder] = derivativeName(long, 'audio', 'aac.m4a').split('/');
    expect(Buffer.byteLength(folder!)).toBeLessThanOrEqual(MAX_ASSET_FOLDER_BYTES);
    expect(derivativeName(long, 'audio', 'aac.m4a', 'r2.J')).toBe(`${folder}/audio/r2.J/aac.m4a`);
  });
});

describe('derivativeUri', () => {
  it("takes the order's asset, step and output version", () => {
    expect(derivativeUri(config, { assetId: ASSET, step: 'audio' }, 'waveform.json')).toBe(`gs://${BUCKET}/${FOLDER}/audio/waveform.json`);
    expect(derivativeUri(config, { assetId: ASSET, step: 'audio', outputVersion: 'r4.J' }, 'waveform.json')).toBe(
      `gs://${BUCKET}/${FOLDER}/audio/r4.J/waveform.json`,
    );
  });
});

describe('dependencyName', () => {
  const order = { assetId: ASSET, inputVersions: { 'hls-segment': 'r2.J' } };

  it("reads a reprocessed dependency in the version folder the order's inputVersions name", () => {
    expect(dependencyName(order, 'hls-segment', '720p/000001.m4s')).toBe(`${FOLDER}/hls-segment/r2.J/720p/000001.m4s`);
  });

  it("reads any other dependency in its own folder, whatever the order's own version", () => {
    expect(dependencyName(order, 'hls-audio', 'aac/init.mp4')).toBe(`${FOLDER}/hls-audio/aac/init.mp4`);
    expect(dependencyName({ assetId: ASSET }, 'hls-segment', '720p/init.mp4')).toBe(`${FOLDER}/hls-segment/720p/init.mp4`);
  });
});

describe('dependencyRelativePath', () => {
  const file = '720p/000001.m4s';
  const cases = [
    { name: 'first run of both', order: { step: 'hls-package' }, expected: '../hls-segment/720p/000001.m4s' },
    { name: 'package reprocessed alone', order: { step: 'hls-package', outputVersion: 'r3.J' }, expected: '../../hls-segment/720p/000001.m4s' },
    {
      name: 'both reprocessed',
      order: { step: 'hls-package', outputVersion: 'r3.J', inputVersions: { 'hls-segment': 'r2.J' } },
      expected: '../../hls-segment/r2.J/720p/000001.m4s',
    },
    {
      name: 'dependency reprocessed alone',
      order: { step: 'hls-package', inputVersions: { 'hls-segment': 'r2.J' } },
      expected: '../hls-segment/r2.J/720p/000001.m4s',
    },
    {
      name: 'another dependency reprocessed',
      order: { step: 'hls-package', outputVersion: 'r3.J', inputVersions: { 'hls-audio': 'r5.J' } },
      expected: '../../hls-segment/720p/000001.m4s',
    },
  ];

  it.each(cases)('$name: $expected', ({ order, expected }) => {
    expect(dependencyRelativePath(order, 'hls-segment', file)).toBe(expected);
  });

  it.each(cases)('$name: resolves from the folder the order writes its playlists in to the object the dependency wrote', ({ order, expected }) => {
    const playlist = derivativeName(ASSET, order.step, '720p.m3u8', order.outputVersion);
    const segment = dependencyName({ assetId: ASSET, ...order }, 'hls-segment', file);
    expect(path.posix.join(path.posix.dirname(playlist), expected)).toBe(segment);
  });
});
