/**
 * HEIC and AVIF uploads through the embedded runtime: probed from their header (no ffprobe can read them), then
 * rendered by the thumbnail step (HEIC through libheif's heif-convert, AVIF through sharp). The test pictures show
 * red, green, blue and white quadrants once irot is applied; they also carry an EXIF Orientation 6 (as iPhones
 * write) that must not turn them again, and are stored in Display P3, which must come out as sRGB.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sharp } from '../../functions/thumbnail/sharp.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { heifImage, heifZeroedPayload, QUADRANTS } from '../../scripts/sample-media/sample-images.ts';
import { parseGsUri } from '../../shared/domain/ingest-request.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';
import { useScratchDir } from '../support/fixtures.ts';

type Derivative = { uri: string; role: string; width: number; height: number; format: string; bytes: number };
type Rgb = readonly [number, number, number];

/** HEVC/AV1 at quality 90 and a JPEG rendition move a flat colour by a few levels; P3 read as sRGB moves red by ~20. */
const COLOUR_TOLERANCE = 12;

let runtime: TestRuntime | undefined;

const scratch = useScratchDir('thumbnail-heif-');
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

const ref = parseGsUri;

/** The colour at fractions (x, y) of the largest JPEG rendition. */
async function colourAt(rt: TestRuntime, derivatives: Derivative[], points: readonly (readonly [number, number])[]): Promise<Rgb[]> {
  const jpeg = derivatives.find((d) => d.format === 'jpeg')!;
  const { data, info } = await sharp(await rt.blobs.read(ref(jpeg.uri)))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return points.map(([fx, fy]) => {
    const at = (Math.floor(fy * info.height) * info.width + Math.floor(fx * info.width)) * info.channels;
    return [data[at]!, data[at + 1]!, data[at + 2]!] as const;
  });
}

function expectColours(actual: readonly Rgb[], expected: readonly Rgb[]): void {
  actual.forEach((rgb, index) =>
    rgb.forEach((channel, band) => {
      expect(Math.abs(channel - expected[index]![band]!), `point ${index}: ${rgb.join(',')} vs ${expected[index]!.join(',')}`).toBeLessThanOrEqual(
        COLOUR_TOLERANCE,
      );
    }),
  );
}

const QUADRANT_CENTRES = [
  [0.25, 0.25],
  [0.75, 0.25],
  [0.25, 0.75],
  [0.75, 0.75],
] as const;

describe.each([
  { codec: 'hevc', file: 'phone.heic', formatName: 'heif' },
  { codec: 'av1', file: 'phone.avif', formatName: 'avif' },
] as const)('a $formatName upload', ({ codec, file, formatName }) => {
  it('is READY with its derivatives shown as irot says, turned once, in sRGB', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = await heifImage('ffmpeg', path.join(scratch.path, file), { codec, width: 320, height: 240 });
    const asset = (await uploadAndSettle(runtime, source, `camera/${file}`)).asset;
    expect(asset?.status, JSON.stringify(asset?.error)).toBe('READY');
    expect(asset!.probe).toMatchObject({ kind: 'image', formatName, display: { width: 320, height: 240 }, streams: [{ codec }] });
    const outputs = asset!.steps.thumbnail!.outputs as {
      source: { format: string };
      display: object;
      colour: object;
      exif: object | null;
      derivatives: Derivative[];
    };
    expect(outputs).toMatchObject({
      source: { format: 'heif' },
      display: { width: 320, height: 240 },
      colour: { output: 'srgb', wideGamut: true, gamutClipped: true },
    });
    expect(outputs.derivatives.map((d) => [d.format, d.width, d.height])).toEqual(
      [
        [320, 240],
        [160, 120],
      ].flatMap(([w, h]) => ['avif', 'webp', 'jpeg'].map((f) => [f, w, h])),
    );
    expectColours(await colourAt(runtime, outputs.derivatives, QUADRANT_CENTRES), QUADRANTS);
    expect(asset!.steps.thumbnail).toMatchObject({ attempts: 1 });
  }, 60_000);
});

describe('a HEIC collection', () => {
  it('renders its primary image, not the first one', async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const source = await heifImage('ffmpeg', path.join(scratch.path, 'burst.heic'), {
      width: 96,
      height: 64,
      flat: [200, 30, 30],
      nextImages: [[30, 200, 30]],
      primary: 1,
    });
    const asset = (await uploadAndSettle(runtime, source, 'burst.heic')).asset;
    expect(asset?.status, JSON.stringify(asset?.error)).toBe('READY');
    const outputs = asset!.steps.thumbnail!.outputs as { display: object; derivatives: Derivative[] };
    expect(outputs.display).toEqual({ width: 64, height: 96 });
    // The primary's flat green, converted from Display P3 to sRGB (it comes out more saturated than its P3 numbers).
    const [centre] = await colourAt(runtime, outputs.derivatives, [[0.5, 0.5]]);
    expect(centre![1]).toBeGreaterThan(150);
    expect(centre![0]).toBeLessThan(100);
  }, 60_000);
});

describe('a HEIC whose HEVC payload is corrupt', () => {
  it("ends FAILED on the first attempt with a reason that names the decoder's complaint", async () => {
    runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep]) });
    const good = await heifImage('ffmpeg', path.join(scratch.path, 'good.heic'));
    const source = path.join(scratch.path, 'corrupt.heic');
    await writeFile(source, heifZeroedPayload(await readFile(good)));
    const started = Date.now();
    const asset = (await uploadAndSettle(runtime, source, 'corrupt.heic')).asset;
    expect(asset).toMatchObject({ status: 'FAILED', error: { step: 'thumbnail', code: 'CORRUPT_MEDIA' } });
    expect(asset!.error!.message).toMatch(/^the HEIC could not be decoded: Could not decode image: .*Decoder plugin generated an error/);
    expect(asset!.steps.thumbnail).toMatchObject({ attempts: 1 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await runtime.store.count('deadLetters')).toBe(0);
  }, 60_000);
});
