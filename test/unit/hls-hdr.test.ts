/**
 * Issue 14's HDR ladder, pure: the HEVC codec string from a real hvcC, HDR10 metadata from ffprobe's side data into
 * x265's options, the hdr profile, the plan and the filter graph and encoder options it gives, and the master
 * playlist's VIDEO-RANGE.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { encodeArgs, filterGraph } from '../../functions/hls-segment/encode.ts';
import { hdr10FromSideData, x265Params } from '../../functions/hls-segment/hdr.ts';
import { allRenditions, segmentParams } from '../../functions/hls-segment/params.ts';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';
import { hevcCodecString } from '../../shared/media/hls/codecs.ts';
import { toDoc } from '../../shared/media/hls/doc.ts';
import { planVideo } from '../../shared/media/hls/plan.ts';
import { parseMaster, writeMasterPlaylist } from '../../shared/media/hls/playlist.ts';
import { DEFAULT_HLS_SETTINGS, hlsSettingsFor } from '../../shared/media/hls/settings.ts';
import { fileInput } from '../../shared/media/input.ts';

/** The hvcC libx265 (Debian's, via ffmpeg 5.1) wrote for a 640×360 24 fps Main10 PQ rung with HDR10 SEI. */
const X265_MAIN10_HVCC = Buffer.from(
  '0102200000009000000000003ff000fcfdfafa00000f04a00001001840010c01ffff02200000030090000003000003003f959409a10001002e42010102200000030090000003000003003fa005020171f2b6595952930bc05a848804f080000003008000000c04a2000100064401c073e18927000200094e01900403e8019080001e4e01891833c286c41d4c0bb884d03e803d13404200989680000003000180',
  'hex',
);

function probe(video: Partial<StreamSummary>): { probe: ProbeSummary } {
  return {
    probe: {
      kind: 'video',
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      durationSeconds: 20,
      sizeBytes: 1,
      bitRate: null,
      tags: {},
      warnings: [],
      display: { width: 1920, height: 1080 },
      streams: [
        {
          index: 0,
          type: 'video',
          codec: 'hevc',
          attachedPicture: false,
          width: 1920,
          height: 1080,
          durationSeconds: 20,
          frameRate: 24,
          frameRateExact: '24/1',
          fieldOrder: 'progressive',
          ...video,
        },
      ],
    },
  };
}
const PQ = { colorTransfer: 'smpte2084', colorSpace: 'bt2020nc', colorPrimaries: 'bt2020', pixelFormat: 'yuv420p10le' };
const HDR = hlsSettingsFor(DEFAULT_HLS_SETTINGS, 'hdr');

describe('the HEVC codec string (ISO/IEC 14496-15 Annex E)', () => {
  it('reads profile space, tier, profile, reversed compatibility flags, level and constraint bytes from the hvcC', () => {
    expect(hevcCodecString('hvc1', X265_MAIN10_HVCC)).toBe('hvc1.2.4.L63.90');
  });

  it('writes a high tier, a profile space and all six constraint bytes up to the last non-zero one', () => {
    const record = Buffer.from(X265_MAIN10_HVCC.subarray(0, 13));
    record[1] = 0x61; // profile space 1, high tier, Main
    record.writeUInt32BE(0x60000000, 2); // Main and Main10 compatible
    Buffer.from([0xb0, 0, 0, 0, 0, 0x01]).copy(record, 6);
    record[12] = 153;
    expect(hevcCodecString('hev1', record)).toBe('hev1.A1.6.H153.B0.0.0.0.0.1');
  });

  it('refuses a truncated record', () => {
    expect(() => hevcCodecString('hvc1', X265_MAIN10_HVCC.subarray(0, 12))).toThrow(/too short/);
  });
});

describe('HDR10 static metadata for x265', () => {
  const display = {
    side_data_type: 'Mastering display metadata',
    red_x: '34000/50000',
    red_y: '16000/50000',
    green_x: '13250/50000',
    green_y: '34500/50000',
    blue_x: '7500/50000',
    blue_y: '3000/50000',
    white_point_x: '15635/50000',
    white_point_y: '16450/50000',
    min_luminance: '1/10000',
    max_luminance: '10000000/10000',
  };
  const light = { side_data_type: 'Content light level metadata', max_content: 1000, max_average: 400 };

  it("converts ffprobe's rationals to x265's units, in G B R WP L order", () => {
    expect(hdr10FromSideData([display, light])).toEqual({
      masterDisplay: 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)',
      maxCll: '1000,400',
    });
  });

  it('gives nothing when either half is missing or unreadable', () => {
    expect(hdr10FromSideData([display])).toBeNull();
    expect(hdr10FromSideData([light])).toBeNull();
    expect(hdr10FromSideData([{ ...display, red_x: 'n/a' }, light])).toBeNull();
  });

  it('asks x265 for closed GOPs at the cadence, headers at every keyframe, one pool thread and the SEI', () => {
    expect(x265Params(24, 1, { masterDisplay: 'G(1,2)B(3,4)R(5,6)WP(7,8)L(9,10)', maxCll: '1000,400' })).toBe(
      'log-level=error:keyint=24:min-keyint=24:scenecut=0:open-gop=0:repeat-headers=1:info=0:pools=1:frame-threads=1:hdr10=1:hdr10-opt=1:master-display=G(1,2)B(3,4)R(5,6)WP(7,8)L(9,10):max-cll=1000,400',
    );
    expect(x265Params(48, 2, null)).not.toContain('hdr10');
  });
});

describe('the hdr profile', () => {
  it("turns the HDR ladder on by the asset's profile name; any other name leaves it off", () => {
    expect(DEFAULT_HLS_SETTINGS.hdrLadder).toBe(false);
    expect(HDR.hdrLadder).toBe(true);
    expect(hlsSettingsFor(DEFAULT_HLS_SETTINGS, 'default')).toBe(DEFAULT_HLS_SETTINGS);
    expect(hlsSettingsFor(DEFAULT_HLS_SETTINGS, 'toString').hdrLadder).toBe(false);
  });

  it('plans HEVC rungs of the same sizes for PQ and HLG sources only', () => {
    const plan = planVideo(probe(PQ), HDR);
    expect(plan.hdr?.renditions.map((r) => [r.name, r.width, r.height])).toEqual(plan.renditions.map((r) => [`${r.name}-hdr`, r.width, r.height]));
    expect(plan.hdr?.colour).toEqual({ transfer: 'smpte2084', matrix: 'bt2020nc', primaries: 'bt2020' });
    expect(planVideo(probe({ ...PQ, colorTransfer: 'arib-std-b67' }), HDR).hdr?.colour.transfer).toBe('arib-std-b67');
    expect(planVideo(probe({ colorTransfer: 'bt709' }), HDR).hdr).toBeNull();
    expect(planVideo(probe(PQ), DEFAULT_HLS_SETTINGS).hdr).toBeNull();
  });

  it('keeps the params of the default profile as they were, and validates the HDR ones against the schema', () => {
    const validate = new Ajv2020({ strict: false }).compile(productionSteps.get('hls-segment')!.paramsSchema);
    const plain = segmentParams(planVideo(probe(PQ), DEFAULT_HLS_SETTINGS), DEFAULT_HLS_SETTINGS, 1);
    expect('hdr' in plain).toBe(false);
    const params = segmentParams(planVideo(probe(PQ), HDR), HDR, 1);
    expect(validate(toDoc(params)), JSON.stringify(validate.errors)).toBe(true);
    expect(allRenditions(params).map((r) => r.name)).toEqual(['1080p', '720p', '480p', '360p', '1080p-hdr', '720p-hdr', '480p-hdr', '360p-hdr']);
  });

  it('branches the HDR rungs off the source stage before the tone map, and encodes them as HEVC Main10 hvc1', () => {
    const params = segmentParams(planVideo(probe(PQ), HDR), HDR, 0);
    const graph = filterGraph(params);
    expect(graph).toMatch(/setpts=PTS\+\d+,split=2\[sdr\]\[hdr\];\[sdr\]zscale=tin=smpte2084/);
    expect(graph).toContain('[hdr]split=4[h0][h1][h2][h3]');
    expect(graph).toContain(
      '[h3]scale=w=640:h=360:flags=bicubic:in_color_matrix=bt2020:out_color_matrix=bt2020:in_range=tv:out_range=tv,setsar=1,format=yuv420p10le[v7]',
    );
    const args = encodeArgs(
      params,
      fileInput('/s/source'),
      allRenditions(params).map((r) => `/o/${r.name}.mp4`),
      null,
    ).join(' ');
    expect(args).toContain(
      '-map [v4] -c:v libx265 -preset veryfast -profile:v main10 -crf 28 -maxrate 6000k -bufsize 12000k -tag:v hvc1 -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -color_range tv',
    );
    expect(args.match(/libx264/g)).toHaveLength(4);
    expect(args.match(/libx265/g)).toHaveLength(4);
  });
});

describe('VIDEO-RANGE in the master playlist', () => {
  it('lists SDR first, then PQ, each variant with its range and codec', () => {
    const variant = { bandwidth: 1000, averageBandwidth: 900, resolution: { width: 640, height: 360 }, frameRate: 24, audioGroup: 'audio-aac' };
    const text = writeMasterPlaylist({
      audio: [{ groupId: 'audio-aac', name: 'Main', uri: 'aac.m3u8', channels: 2 }],
      variants: [
        { ...variant, uri: '360p.m3u8', codecs: ['avc1.64001e', 'mp4a.40.2'], videoRange: 'SDR' },
        { ...variant, uri: '360p-hdr.m3u8', codecs: ['hvc1.2.4.L63.90', 'mp4a.40.2'], videoRange: 'PQ' },
      ],
    });
    expect(text).toContain('CODECS="hvc1.2.4.L63.90,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=24.000,VIDEO-RANGE=PQ,AUDIO="audio-aac"');
    expect(parseMaster(text).variants.map((v) => [v.uri, v.attributes['VIDEO-RANGE']])).toEqual([
      ['360p.m3u8', 'SDR'],
      ['360p-hdr.m3u8', 'PQ'],
    ]);
  });

  it('writes no VIDEO-RANGE for a presentation without an HDR ladder', () => {
    const text = writeMasterPlaylist({ audio: [], variants: [{ uri: '360p.m3u8', bandwidth: 1, averageBandwidth: 1, codecs: ['avc1.64001e'] }] });
    expect(text).not.toContain('VIDEO-RANGE');
  });
});
