import { fileInput } from '../../shared/media/input.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { productionSteps } from '../../functions/registry.ts';
import { audioEncodeArgs, audioFilter, fragmentMicroseconds } from '../../functions/hls-audio/encode.ts';
import { planAudioParams } from '../../functions/hls-audio/params.ts';
import { planPackageParams } from '../../functions/hls-package/params.ts';
import { combineShards } from '../../functions/hls-segment/combine.ts';
import { encodeArgs, filterGraph, segmentSeekSeconds } from '../../functions/hls-segment/encode.ts';
import { segmentParams } from '../../functions/hls-segment/params.ts';
import { createSegmentStep } from '../../functions/hls-segment/step.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { ProbeSummary, StreamSummary } from '../../shared/media/classify.ts';
import { toDoc } from '../../shared/media/hls/doc.ts';
import { planVideo } from '../../shared/media/hls/plan.ts';
import { DEFAULT_HLS_SETTINGS } from '../../shared/media/hls/settings.ts';
import type { DocData } from '../../shared/ports/document-store.ts';

const settings = DEFAULT_HLS_SETTINGS;

function context(video: Partial<StreamSummary>, outputs: Record<string, DocData> = {}): PlanContext {
  const probe: ProbeSummary = {
    kind: 'video',
    formatName: 'mov,mp4',
    durationSeconds: 20,
    sizeBytes: 1,
    bitRate: null,
    tags: {},
    warnings: [],
    display: { width: 1280, height: 720 },
    streams: [
      {
        index: 0,
        type: 'video',
        codec: 'h264',
        attachedPicture: false,
        width: 1280,
        height: 720,
        durationSeconds: 20,
        frameRate: 29.97003,
        frameRateExact: '30000/1001',
        ...video,
      },
      { index: 1, type: 'audio', codec: 'aac', attachedPicture: false, channels: 6, channelLayout: '5.1', sampleRate: 44_100, durationSeconds: 20 },
    ],
  };
  return { assetId: 'mediaflow-ingest/a.mp4#1', kind: 'video', profile: 'default', probe, source: {} as PlanContext['source'], outputs };
}

function validator(step: string): (params: unknown) => unknown {
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(productionSteps.get(step)!.paramsSchema);
  return (params) => (validate(params) ? [] : validate.errors);
}

describe('hls-segment work orders', () => {
  const plan = planVideo(context({}), settings);

  it('cut 29.97 fps into 179-frame segments and seek exactly to the boundary, rounded up to the microsecond', () => {
    const params = segmentParams(plan, settings, 2);
    expect(params.segment).toEqual({ index: 2, startFrame: 358, frames: 179, count: 4 });
    // 358 × 1001 / 30000 = 11.945266…: rounding down would land before a keyframe on the boundary.
    expect(segmentSeekSeconds(params)).toBe(11.945267);
    expect(segmentSeekSeconds(segmentParams(plan, settings, 0))).toBe(0);
  });

  it('seek half a frame early when the source is not on the output grid', () => {
    const variable = planVideo(context({ frameRate: 29.6, frameRateExact: '30/1', variableFrameRate: true }), settings);
    const params = segmentParams(variable, settings, 1);
    expect(params.video.seekSlackFrames).toBe(0.5);
    expect(segmentSeekSeconds(params)).toBe(5.983334);
  });

  it('decode once and split into every rendition, on the frame grid, offset by about a second', () => {
    expect(filterGraph(segmentParams(plan, settings, 1))).toBe(
      '[0:0]setfield=prog,fps=30000/1001,trim=start_pts=179:end_pts=358,setpts=PTS+30,split=3[s0][s1][s2];' +
        '[s0]scale=w=1280:h=720:flags=bicubic:in_color_matrix=bt709:out_color_matrix=bt709:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v0];' +
        '[s1]scale=w=854:h=480:flags=bicubic:in_color_matrix=bt709:out_color_matrix=bt709:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v1];' +
        '[s2]scale=w=640:h=360:flags=bicubic:in_color_matrix=bt709:out_color_matrix=bt709:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v2]',
    );
  });

  it('encode closed, stitchable GOPs into fragmented MP4 that keeps its real timestamps', () => {
    const args = encodeArgs(segmentParams(plan, settings, 1), fileInput('/s/source'), ['/s/720p.mp4', '/s/480p.mp4', '/s/360p.mp4']).join(' ');
    expect(args).toContain('-copyts -start_at_zero -noaccurate_seek -ss 5.972634');
    expect(args).toContain('-x264-params keyint=60:scenecut=0:open-gop=0:stitchable=1');
    expect(args).toContain(
      '-use_editlist 0 -avoid_negative_ts disabled -movflags +frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer+negative_cts_offsets /s/720p.mp4',
    );
    expect(args).toContain('-i file:/s/source');
    expect(args).not.toContain('noautorotate');
  });

  it('are rejected at planning, with the reason, when the video cannot be planned, failing the asset rather than stalling the coordinator', () => {
    const step = createSegmentStep(settings);
    const unplannable = context({ frameRate: undefined, frameRateExact: undefined });
    expect(step.plan(unplannable)).toEqual({
      kind: 'reject',
      code: 'UNSUPPORTED_MEDIA',
      message: 'the video stream states no frame rate, so it cannot be cut into segments',
    });
    expect(() => step.params(unplannable, 0)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA' }));
  });

  it('match their params schema', () => {
    const check = validator('hls-segment');
    for (let i = 0; i < plan.timeline.segmentCount; i++) expect(check(toDoc(segmentParams(plan, settings, i)))).toEqual([]);
  });
});

describe('hls-audio work orders', () => {
  const audioOutputs = { gain: { trackGainDb: -3.5 }, channels: { output: 2 } } as unknown as DocData;

  it("take the audio step's gain and channel plan, and start where the video does", () => {
    const params = planAudioParams(context({}, { audio: audioOutputs }), settings);
    expect(params).toMatchObject({
      gainDb: -3.5,
      gainSource: 'audio',
      outputChannels: 2,
      kbps: 128,
      framesPerSegment: 281,
      offsetSeconds: 1.001,
      videoStreamIndex: 0,
    });
    expect(validator('hls-audio')(toDoc(params))).toEqual([]);
  });

  it('fall back to 0 dB when the audio step recorded no gain', () => {
    expect(planAudioParams(context({}, {}), settings)).toMatchObject({ gainDb: 0, gainSource: 'none' });
  });

  it('fold 5.1 down as the audio step measured it, resample, apply the gain and shift onto the timeline', () => {
    const params = planAudioParams(context({}, { audio: audioOutputs }), settings);
    // First the cut to the MP4's stated length (the last AAC frame's padding; audio/gapless.ts), at the source's rate.
    expect(audioFilter(params)).toMatch(/^atrim=end_sample=882000,pan=stereo\|c0=.*,aresample=48000:async=1,volume=-3\.50dB,asetpts=PTS\+48048$/);
    // 281 AAC frames are 5.994666… s: one microsecond under puts exactly 281 in each fragment.
    expect(fragmentMicroseconds(281)).toBe(5_994_666);
    expect(audioEncodeArgs(params, fileInput('/s/source'), '/s/audio.mp4').join(' ')).toContain(
      '-frag_duration 5994666 -movflags +empty_moov+default_base_moof+frag_discont+skip_trailer+negative_cts_offsets /s/audio.mp4',
    );
  });
});

describe('hls-package work orders', () => {
  it('carry the fan-in summary, also of a single-shard video whose outputs the coordinator did not fold', () => {
    const shard = {
      index: 0,
      frames: 100,
      startSeconds: 1,
      durationSeconds: 3.3,
      renditions: { '720p': { bytes: 10, initSha256: 'a'.repeat(64) } },
      sourceRead: { requests: 3, bytesRead: 4000 },
    };
    const single = planPackageParams(context({ durationSeconds: 3.3 }, { 'hls-segment': shard as unknown as DocData }), settings);
    expect(single.video).toMatchObject({ segmentCount: 1, emptySegments: [] });
    expect(single.video?.renditions[0]).toEqual({ name: '720p', initSha256: ['a'.repeat(64)] });
    const folded = planPackageParams(context({}, { 'hls-segment': toDoc(combineShards([shard, { ...shard, index: 1 }])) }), settings);
    expect(folded.video?.segmentCount).toBe(2);
    expect(combineShards([shard, { ...shard, index: 1 }])).toMatchObject({ sourceBytesRead: 8000 });
    expect(validator('hls-package')(toDoc(folded))).toEqual([]);
  });

  it("carry the audio step's decoded length for the audio-duration check, or say the container's is used", () => {
    const hlsAudio = {
      rendition: 'aac',
      segmentCount: 4,
      initSha256: 'b'.repeat(64),
      gainDb: 0,
      gainSource: 'audio',
      primingSeconds: 1024 / 48_000,
      channels: 2,
      source: { audioSeconds: 0, videoSeconds: 0 },
      codec: 'mp4a.40.2',
      sampleRate: 48_000,
      kbps: 128,
      startSeconds: 1024 / 48_000,
      durationSeconds: 20,
      samples: 960_000,
    };
    const segments = combineShards([
      {
        index: 0,
        frames: 100,
        startSeconds: 1,
        durationSeconds: 3.3,
        renditions: { '720p': { bytes: 10, initSha256: 'a'.repeat(64) } },
        sourceRead: { requests: 1, bytesRead: 1 },
      },
    ]);
    const decoded = planPackageParams(
      context(
        {},
        { 'hls-segment': toDoc(segments), 'hls-audio': hlsAudio as unknown as DocData, audio: { decodedSamples: 960_000, decodedSampleRate: 48_000 } },
      ),
      settings,
    );
    expect(decoded.audio).toMatchObject({ channels: 2, decodedSamples: 960_000, decodedSampleRate: 48_000, durationSource: 'decoded', sourceSeconds: 20 });
    expect(validator('hls-package')(toDoc(decoded))).toEqual([]);
    const older = planPackageParams(
      context({}, { 'hls-segment': toDoc(segments), 'hls-audio': hlsAudio as unknown as DocData, audio: { measured: { durationSeconds: 20 } } }),
      settings,
    );
    expect(older.audio).toMatchObject({ decodedSamples: null, decodedSampleRate: null, durationSource: 'container' });
    expect(validator('hls-package')(toDoc(older))).toEqual([]);
  });
});
