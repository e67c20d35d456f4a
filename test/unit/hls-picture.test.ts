/**
 * Issue 14's planning, pure: the interlace verdict from the flag and idet's counts, the filter graph it gives,
 * the frame-rate rules, and the colour decisions (tone map, matrix and range conversion, tags per rung).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { encodeArgs, filterGraph } from '../../functions/hls-segment/encode.ts';
import { segmentParams } from '../../functions/hls-segment/params.ts';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';
import { toDoc } from '../../shared/media/hls/doc.ts';
import { planVideo } from '../../shared/media/hls/plan.ts';
import { DEFAULT_HLS_SETTINGS, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { fileInput } from '../../shared/media/input.ts';
import { flaggedScan, idetArgs, interlaceVerdict, parseIdet, type IdetCounts } from '../../shared/media/interlace.ts';
import { toneMapFilters } from '../../shared/media/tonemap.ts';
import { colourTagArgs } from '../../shared/media/video-colour.ts';

const settings = DEFAULT_HLS_SETTINGS;

function probe(video: Partial<StreamSummary>, display = { width: video.width ?? 1920, height: video.height ?? 1080 }): { probe: ProbeSummary } {
  return {
    probe: {
      kind: 'video',
      formatName: 'mpegts',
      durationSeconds: 20,
      sizeBytes: 1,
      bitRate: null,
      tags: {},
      warnings: [],
      display,
      streams: [
        {
          index: 0,
          type: 'video',
          codec: 'h264',
          attachedPicture: false,
          width: 1920,
          height: 1080,
          durationSeconds: 20,
          frameRate: 25,
          frameRateExact: '25/1',
          ...video,
        },
      ],
    },
  };
}

const counts = (tff: number, bff: number, progressive: number, undetermined = 0): IdetCounts => ({ tff, bff, progressive, undetermined });

describe('the interlace verdict', () => {
  it('reads the displayed field from ffprobe field_order', () => {
    expect(['tt', 'bt', 'bb', 'tb', 'progressive', undefined].map(flaggedScan)).toEqual(['tff', 'tff', 'bff', 'bff', 'progressive', 'unknown']);
  });

  it.each([
    { flag: 'tt', idet: counts(100, 0, 0), detected: 'tff', method: 'idet', why: 'flag confirmed' },
    { flag: 'tt', idet: counts(7, 0, 43), detected: 'progressive', method: 'idet', why: 'flagged, but progressive pictures' },
    { flag: 'tt', idet: counts(30, 0, 70), detected: 'tff', method: 'idet', why: 'flagged and partly combed: the flag wins' },
    { flag: 'progressive', idet: counts(0, 100, 0), detected: 'bff', method: 'idet', why: 'unflagged woven fields, bottom first' },
    { flag: 'progressive', idet: counts(58, 0, 42), detected: 'progressive', method: 'idet', why: 'sharp screen content is not interlace' },
    { flag: undefined, idet: counts(32, 0, 28), detected: 'progressive', method: 'idet', why: 'no flag, a noisy half' },
    { flag: undefined, idet: counts(95, 0, 5), detected: 'tff', method: 'idet', why: 'no flag, woven fields' },
    { flag: 'bb', idet: counts(0, 0, 10, 90), detected: 'bff', method: 'flag', why: 'a static sample: the flag stands' },
    { flag: 'tt', idet: undefined, detected: 'tff', method: 'flag', why: 'idet could not run' },
    { flag: undefined, idet: undefined, detected: 'progressive', method: 'flag', why: 'nothing known' },
  ] as const)('$why', ({ flag, idet, detected, method }) => {
    expect(interlaceVerdict(flag, idet)).toMatchObject({ detected, method });
  });

  it("parses idet's multi-frame summary and samples a bounded number of frames", () => {
    const log =
      '[Parsed_idet_0 @ 0x1] Repeated Fields: Neither: 50 Top: 0 Bottom: 0\n[Parsed_idet_0 @ 0x1] Multi frame detection: TFF:    41 BFF:     0 Progressive:     9 Undetermined:     0\n';
    expect(parseIdet(log)).toEqual(counts(41, 0, 9, 0));
    expect(parseIdet('nothing')).toBeUndefined();
    const args = idetArgs(fileInput('/s/source'), 3, 2).join(' ');
    expect(args).toContain('-ss 2.000');
    expect(args).toContain('-map 0:3 -vf idet -frames:v 100');
  });
});

describe('deinterlacing in the shard graph', () => {
  const interlaced = (detected: 'tff' | 'bff', config: HlsSettings = settings): ReturnType<typeof planVideo> =>
    planVideo(probe({ fieldOrder: 'tt', interlace: { flagged: 'tff', detected, method: 'idet', frames: 100 } }), config);

  it("puts bwdif before the frame grid, at the frame rate by default, with the verdict's parity", () => {
    const plan = interlaced('bff');
    expect(plan.picture.deinterlace).toEqual({ filter: 'bwdif', mode: 'send_frame', parity: 'bff' });
    expect(plan.picture.frameRate).toEqual({ source: '25/1', output: { num: 25, den: 1 }, rule: 'deinterlaced to frame rate' });
    expect(filterGraph(segmentParams(plan, settings, 1))).toMatch(
      /^\[0:0\]bwdif=mode=send_frame:parity=bff:deint=all,setfield=prog,fps=25\/1,trim=start_pts=150:end_pts=300,/,
    );
    expect(plan.sourceOnGrid).toBe(true);
  });

  it('makes a picture of every field when the settings ask for the field rate (25i → 50p)', () => {
    const field = { ...settings, deinterlaceRate: 'field' } as const;
    const plan = interlaced('tff', field);
    expect(plan.picture.deinterlace?.mode).toBe('send_field');
    expect(plan.timeline).toMatchObject({ frameRate: { num: 50, den: 1 }, framesPerSegment: 300 });
    expect(plan.picture.frameRate.rule).toBe('deinterlaced to field rate');
    expect(plan.sourceOnGrid).toBe(true);
    expect(filterGraph(segmentParams(plan, field, 0))).toContain('bwdif=mode=send_field:parity=tff:deint=all,setfield=prog,fps=50/1');
    const ntsc = planVideo(probe({ frameRate: 29.97003, frameRateExact: '30000/1001', fieldOrder: 'tt' }), field);
    expect(ntsc.timeline.frameRate).toEqual({ num: 60000, den: 1001 });
  });

  it('leaves a flagged-but-progressive source alone, and goes by the flag when the probe has no verdict', () => {
    expect(
      planVideo(probe({ fieldOrder: 'tt', interlace: { flagged: 'tff', detected: 'progressive', method: 'idet', frames: 100 } }), settings).picture.deinterlace,
    ).toBeNull();
    expect(planVideo(probe({ fieldOrder: 'tt' }), settings).picture.deinterlace).toEqual({ filter: 'bwdif', mode: 'send_frame', parity: 'tff' });
    expect(planVideo(probe({ fieldOrder: 'tt', frameRate: 50, frameRateExact: '50/1' }), settings).picture.scan).toEqual({
      flagged: 'tff',
      detected: 'progressive',
      method: 'frame-rate',
    });
  });
});

describe('frame-rate rules', () => {
  it.each([
    { rate: 23.976, exact: '24000/1001', output: { num: 24000, den: 1001 }, rule: 'kept' },
    { rate: 24, exact: '24/1', output: { num: 24, den: 1 }, rule: 'kept' },
    { rate: 25, exact: '25/1', output: { num: 25, den: 1 }, rule: 'kept' },
    { rate: 29.97, exact: '30000/1001', output: { num: 30000, den: 1001 }, rule: 'kept' },
    { rate: 50, exact: '50/1', output: { num: 50, den: 1 }, rule: 'kept' },
    { rate: 59.94, exact: '60000/1001', output: { num: 60000, den: 1001 }, rule: 'kept' },
    { rate: 60, exact: '60/1', output: { num: 60, den: 1 }, rule: 'kept' },
    { rate: 120, exact: '120/1', output: { num: 60, den: 1 }, rule: 'halved' },
    { rate: 119.88, exact: '120000/1001', output: { num: 60000, den: 1001 }, rule: 'halved' },
    { rate: 240, exact: '240/1', output: { num: 60, den: 1 }, rule: 'halved ×2' },
    { rate: 29.6, exact: '30/1', output: { num: 30, den: 1 }, rule: 'variable, nearest standard rate', variable: true },
  ])('$rate fps: $rule', ({ rate, exact, output, rule, variable }) => {
    const plan = planVideo(probe({ frameRate: rate, frameRateExact: exact, variableFrameRate: variable ?? false, fieldOrder: 'progressive' }), settings);
    expect(plan.picture.frameRate).toEqual({ source: exact, output, rule });
  });
});

describe('colour', () => {
  it("tone-maps PQ and HLG through the thumbnail step's chain and tags every rung BT.709", () => {
    const plan = planVideo(
      probe({
        codec: 'hevc',
        pixelFormat: 'yuv420p10le',
        colorTransfer: 'arib-std-b67',
        colorSpace: 'bt2020nc',
        colorPrimaries: 'bt2020',
        fieldOrder: 'progressive',
      }),
      settings,
    );
    expect(plan.picture.colour).toEqual({ matrix: 'bt709', range: 'tv', toneMap: { transfer: 'arib-std-b67', matrix: 'bt2020nc', primaries: 'bt2020' } });
    expect(plan.picture.renditionSpaces).toEqual(['bt709', 'bt709', 'bt709', 'bt709']);
    const graph = filterGraph(segmentParams(plan, settings, 0));
    // After trim (frames outside the shard are never tone-mapped), before the split (once for every rung).
    expect(graph).toContain(`setpts=PTS+25,${toneMapFilters(plan.picture.colour.toneMap!).join(',')},split=4`);
    const pq = planVideo(probe({ colorTransfer: 'smpte2084' }), settings).picture.colour.toneMap;
    expect(pq).toEqual({ transfer: 'smpte2084', matrix: 'bt2020nc', primaries: 'bt2020' });
  });

  it('converts full range to limited, and BT.601 to BT.709 for HD rungs only', () => {
    const mjpeg = planVideo(probe({ codec: 'mjpeg', pixelFormat: 'yuvj420p', width: 640, height: 360, colorSpace: 'bt470bg' }), settings);
    expect(mjpeg.picture.colour).toMatchObject({ matrix: 'bt601', range: 'pc' });
    expect(filterGraph(segmentParams(mjpeg, settings, 0))).toContain('in_color_matrix=bt601:out_color_matrix=bt601:in_range=pc:out_range=tv');
    const hd601 = planVideo(probe({ width: 1280, height: 720, colorSpace: 'smpte170m', colorPrimaries: 'smpte170m' }), settings);
    expect(hd601.renditions.map((rendition) => rendition.name)).toEqual(['720p', '480p', '360p']);
    expect(hd601.picture.renditionSpaces).toEqual(['bt709', 'smpte170m', 'smpte170m']);
    const args = encodeArgs(segmentParams(hd601, settings, 0), fileInput('/s/source'), ['/s/a.mp4', '/s/b.mp4', '/s/c.mp4']).join(' ');
    expect(args).toContain('in_color_matrix=bt601:out_color_matrix=bt709:in_range=tv:out_range=tv');
    expect(args).toContain(`-bufsize 6000k ${colourTagArgs('bt709').join(' ')}`);
    expect(args).toContain(`-bufsize 3000k ${colourTagArgs('smpte170m').join(' ')}`);
    // Untagged: SD is BT.601 (576 lines: PAL's bt470bg), HD BT.709, as players assume.
    expect(planVideo(probe({ width: 720, height: 576 }, { width: 1024, height: 576 }), settings).picture.renditionSpaces).toEqual(['bt470bg', 'bt470bg']);
    expect(planVideo(probe({}), settings).picture.colour.matrix).toBe('bt709');
  });

  it('converts any other SDR matrix (BT.2020 SDR, 4:4:4, 10-bit) to BT.709 4:2:0 8-bit', () => {
    const plan = planVideo(probe({ pixelFormat: 'yuv444p10le', colorSpace: 'bt2020nc', colorTransfer: 'bt709' }), settings);
    expect(plan.picture.colour).toEqual({ matrix: 'bt2020', range: 'tv', toneMap: null });
    expect(filterGraph(segmentParams(plan, settings, 0))).toContain(
      'in_color_matrix=bt2020:out_color_matrix=bt709:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v0]',
    );
  });

  it('carries the picture plan in params the schema accepts', () => {
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(productionSteps.get('hls-segment')!.paramsSchema);
    for (const video of [
      { fieldOrder: 'bb' },
      { colorTransfer: 'smpte2084' },
      { frameRate: 240, frameRateExact: '240/1' },
    ] satisfies Partial<StreamSummary>[]) {
      const params = toDoc(segmentParams(planVideo(probe(video), settings), settings, 0));
      expect(validate(params) ? [] : validate.errors).toEqual([]);
    }
  });
});
