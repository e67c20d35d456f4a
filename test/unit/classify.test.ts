import { describe, expect, it } from 'vitest';
import { summarize, summarizePicture } from '../../shared/media/classify.ts';
import { PermanentError } from '../../shared/errors.ts';

// Fixtures follow ffprobe 5.1's `-print_format json -show_format -show_streams` output field for field (numbers
// as strings, full disposition objects), trimmed of fields summarize never reads.

const disposition = (overrides: Record<string, number> = {}) => ({
  default: 1,
  dub: 0,
  original: 0,
  comment: 0,
  lyrics: 0,
  karaoke: 0,
  forced: 0,
  hearing_impaired: 0,
  visual_impaired: 0,
  clean_effects: 0,
  attached_pic: 0,
  timed_thumbnails: 0,
  captions: 0,
  descriptions: 0,
  metadata: 0,
  dependent: 0,
  still_image: 0,
  ...overrides,
});

const h264 = (overrides: Record<string, unknown> = {}) => ({
  index: 0,
  codec_name: 'h264',
  codec_long_name: 'H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10',
  profile: 'High',
  codec_type: 'video',
  codec_tag_string: 'avc1',
  codec_tag: '0x31637661',
  width: 1920,
  height: 1080,
  coded_width: 1920,
  coded_height: 1080,
  closed_captions: 0,
  film_grain: 0,
  has_b_frames: 2,
  sample_aspect_ratio: '1:1',
  display_aspect_ratio: '16:9',
  pix_fmt: 'yuv420p',
  level: 40,
  color_range: 'tv',
  color_space: 'bt709',
  color_transfer: 'bt709',
  color_primaries: 'bt709',
  chroma_location: 'left',
  refs: 1,
  is_avc: 'true',
  nal_length_size: '4',
  id: '0x1',
  r_frame_rate: '30/1',
  avg_frame_rate: '30/1',
  time_base: '1/15360',
  start_pts: 0,
  start_time: '0.000000',
  duration_ts: 153600,
  duration: '10.000000',
  bit_rate: '4000000',
  bits_per_raw_sample: '8',
  nb_frames: '300',
  extradata_size: 46,
  disposition: disposition(),
  tags: { language: 'und', handler_name: 'VideoHandler', vendor_id: '[0][0][0][0]' },
  ...overrides,
});

const aac = (overrides: Record<string, unknown> = {}) => ({
  index: 1,
  codec_name: 'aac',
  codec_long_name: 'AAC (Advanced Audio Coding)',
  profile: 'LC',
  codec_type: 'audio',
  codec_tag_string: 'mp4a',
  codec_tag: '0x6134706d',
  sample_fmt: 'fltp',
  sample_rate: '48000',
  channels: 2,
  channel_layout: 'stereo',
  bits_per_sample: 0,
  id: '0x2',
  r_frame_rate: '0/0',
  avg_frame_rate: '0/0',
  time_base: '1/48000',
  start_pts: 0,
  start_time: '0.000000',
  duration_ts: 480000,
  duration: '10.000000',
  bit_rate: '128000',
  nb_frames: '470',
  extradata_size: 2,
  disposition: disposition(),
  tags: { language: 'und', handler_name: 'SoundHandler', vendor_id: '[0][0][0][0]' },
  ...overrides,
});

const mp4Format = (overrides: Record<string, unknown> = {}) => ({
  filename: 'file:/tmp/in.mp4',
  nb_streams: 2,
  nb_programs: 0,
  format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
  format_long_name: 'QuickTime / MOV',
  start_time: '0.000000',
  duration: '10.000000',
  size: '5166000',
  bit_rate: '4132800',
  probe_score: 100,
  tags: { major_brand: 'isom', minor_version: '512', compatible_brands: 'isomiso2avc1mp41', encoder: 'Lavf59.27.100' },
  ...overrides,
});

const displayMatrix = (rotation: number) => ({
  side_data_type: 'Display Matrix',
  displaymatrix:
    '\n00000000:            0       65536           0\n00000001:       -65536           0           0\n00000002:            0           0  1073741824\n',
  rotation,
});

const mp3WithCover = {
  streams: [
    {
      index: 0,
      codec_name: 'mp3',
      codec_long_name: 'MP3 (MPEG audio layer 3)',
      codec_type: 'audio',
      codec_tag_string: '[0][0][0][0]',
      codec_tag: '0x0000',
      sample_fmt: 'fltp',
      sample_rate: '44100',
      channels: 2,
      channel_layout: 'stereo',
      bits_per_sample: 0,
      r_frame_rate: '0/0',
      avg_frame_rate: '0/0',
      time_base: '1/14112000',
      start_pts: 353600,
      start_time: '0.025057',
      duration_ts: 2540160000,
      duration: '180.000000',
      bit_rate: '320000',
      disposition: disposition({ default: 0 }),
      tags: { encoder: 'LAME3.100' },
    },
    {
      index: 1,
      codec_name: 'mjpeg',
      codec_long_name: 'Motion JPEG',
      profile: 'Baseline',
      codec_type: 'video',
      codec_tag_string: '[0][0][0][0]',
      codec_tag: '0x0000',
      width: 600,
      height: 600,
      coded_width: 600,
      coded_height: 600,
      closed_captions: 0,
      film_grain: 0,
      has_b_frames: 0,
      sample_aspect_ratio: '1:1',
      display_aspect_ratio: '1:1',
      pix_fmt: 'yuvj420p',
      level: -99,
      color_range: 'pc',
      color_space: 'bt470bg',
      chroma_location: 'center',
      refs: 1,
      r_frame_rate: '90000/1',
      avg_frame_rate: '0/0',
      time_base: '1/90000',
      start_pts: 2255,
      start_time: '0.025056',
      duration_ts: 16200000,
      duration: '180.000000',
      bits_per_raw_sample: '8',
      disposition: disposition({ default: 0, attached_pic: 1 }),
      tags: { comment: 'Cover (front)' },
    },
  ],
  format: {
    filename: 'file:/tmp/in.mp3',
    nb_streams: 2,
    nb_programs: 0,
    format_name: 'mp3',
    format_long_name: 'MP2/3 (MPEG audio layer 2/3)',
    start_time: '0.025057',
    duration: '180.000000',
    size: '7300000',
    bit_rate: '324444',
    probe_score: 51,
    tags: { TITLE: 'Song', Artist: 'Band', album: 'Record' },
  },
};

const jpeg = {
  streams: [
    {
      index: 0,
      codec_name: 'mjpeg',
      codec_long_name: 'Motion JPEG',
      profile: 'Baseline',
      codec_type: 'video',
      codec_tag_string: '[0][0][0][0]',
      codec_tag: '0x0000',
      width: 4032,
      height: 3024,
      coded_width: 4032,
      coded_height: 3024,
      closed_captions: 0,
      film_grain: 0,
      has_b_frames: 0,
      sample_aspect_ratio: '1:1',
      display_aspect_ratio: '4:3',
      pix_fmt: 'yuvj420p',
      level: -99,
      color_range: 'pc',
      color_space: 'bt470bg',
      chroma_location: 'center',
      refs: 1,
      r_frame_rate: '25/1',
      avg_frame_rate: '25/1',
      time_base: '1/25',
      start_pts: 0,
      start_time: '0.000000',
      duration_ts: 1,
      duration: '0.040000',
      bits_per_raw_sample: '8',
      disposition: disposition({ default: 0 }),
    },
  ],
  format: {
    filename: 'file:/tmp/in.jpg',
    nb_streams: 1,
    nb_programs: 0,
    format_name: 'image2',
    format_long_name: 'image2 sequence',
    start_time: '0.000000',
    duration: '0.040000',
    size: '2400000',
    bit_rate: '480000000',
    probe_score: 50,
  },
};

const gif = (frames: string) => ({
  streams: [
    {
      index: 0,
      codec_name: 'gif',
      codec_long_name: 'CompuServe GIF (Graphics Interchange Format)',
      codec_type: 'video',
      codec_tag_string: '[0][0][0][0]',
      codec_tag: '0x0000',
      width: 320,
      height: 240,
      coded_width: 320,
      coded_height: 240,
      closed_captions: 0,
      film_grain: 0,
      has_b_frames: 0,
      sample_aspect_ratio: '1:1',
      display_aspect_ratio: '4:3',
      pix_fmt: 'bgra',
      level: -99,
      refs: 1,
      r_frame_rate: '10/1',
      avg_frame_rate: '10/1',
      time_base: '1/100',
      start_pts: 0,
      start_time: '0.000000',
      duration_ts: 100,
      duration: '1.000000',
      nb_frames: frames,
      disposition: disposition({ default: 0 }),
    },
  ],
  format: {
    filename: 'file:/tmp/in.gif',
    nb_streams: 1,
    nb_programs: 0,
    format_name: 'gif',
    format_long_name: 'CompuServe Graphics Interchange Format (GIF)',
    start_time: '0.000000',
    duration: '1.000000',
    size: '61730',
    bit_rate: '493840',
    probe_score: 100,
  },
});

describe('summarize: display geometry', () => {
  it.each([
    [
      'anamorphic PAL (SAR 4:3)',
      h264({ width: 720, height: 576, sample_aspect_ratio: '4:3', display_aspect_ratio: '5:3' }),
      undefined,
      { width: 960, height: 576 },
    ],
    ['unknown SAR 0:1 is square', h264({ sample_aspect_ratio: '0:1', display_aspect_ratio: '0:1' }), undefined, { width: 1920, height: 1080 }],
    ['display matrix -90 (portrait phone clip)', h264({ side_data_list: [displayMatrix(-90)] }), 90, { width: 1080, height: 1920 }],
    ['display matrix 90 (turn counter-clockwise)', h264({ side_data_list: [displayMatrix(90)] }), 270, { width: 1080, height: 1920 }],
    ['display matrix 180', h264({ side_data_list: [displayMatrix(180)] }), 180, { width: 1920, height: 1080 }],
    ['legacy tags.rotate "90"', h264({ tags: { rotate: '90', language: 'und' } }), 90, { width: 1080, height: 1920 }],
  ])('%s', (_name, video, rotation, display) => {
    const summary = summarize({ streams: [video, aac()], format: mp4Format() }, 5_166_000);
    expect(summary.kind).toBe('video');
    expect(summary.streams[0]?.rotation).toBe(rotation);
    expect(summary.display).toEqual(display);
  });
});

describe('summarize: kind', () => {
  it('classifies an MP4 with sound as video with parsed numbers', () => {
    const summary = summarize({ streams: [h264(), aac()], format: mp4Format() }, 5_166_000);
    expect(summary).toMatchObject({ kind: 'video', durationSeconds: 10, bitRate: 4_132_800, sizeBytes: 5_166_000 });
    expect(summary.streams[0]).toMatchObject({
      codec: 'h264',
      frameRate: 30,
      frameRateExact: '30/1',
      variableFrameRate: false,
      frameCount: 300,
      bitDepth: 8,
      colorSpace: 'bt709',
    });
    expect(summary.streams[1]).toMatchObject({ type: 'audio', sampleRate: 48_000, channels: 2, channelLayout: 'stereo', bitRate: 128_000 });
  });

  it('classifies an MP3 with cover art as audio and lower-cases its tags', () => {
    const summary = summarize(mp3WithCover, 7_300_000);
    expect(summary.kind).toBe('audio');
    expect(summary.display).toBeUndefined();
    expect(summary.streams[1]).toMatchObject({ attachedPicture: true, width: 600 });
    expect(summary.streams[1]?.frameRate).toBeUndefined();
    expect(summary.tags).toEqual({ title: 'Song', artist: 'Band', album: 'Record' });
  });

  it('classifies a JPEG as a still image without a duration', () => {
    expect(summarize(jpeg, 2_400_000)).toMatchObject({ kind: 'image', animated: false, durationSeconds: null, display: { width: 4032, height: 3024 } });
  });

  it.each([
    ['10', true, 1],
    ['1', false, null],
  ])('classifies a GIF of %s frame(s) as an image (animated %s)', (frames, animated, duration) => {
    expect(summarize(gif(frames), 61_730)).toMatchObject({ kind: 'image', animated, durationSeconds: duration });
  });

  it('classifies an AVIF (ISO BMFF with an image brand) as an image', () => {
    const av1 = h264({ codec_name: 'av1', profile: 'Main', nb_frames: '1', duration: '0.040000' });
    const format = mp4Format({ nb_streams: 1, tags: { major_brand: 'avif', minor_version: '0', compatible_brands: 'avifmif1miafMA1B' } });
    expect(summarize({ streams: [av1], format }, 864)).toMatchObject({ kind: 'image', animated: false });
  });

  it('treats MJPEG with many frames as video, and a still track beside audio as audio', () => {
    const mjpeg = { ...jpeg.streams[0], nb_frames: '250', duration: '10.000000' };
    const avi = { filename: 'file:/tmp/in.avi', format_name: 'avi', format_long_name: 'AVI (Audio Video Interleaved)', duration: '10.000000' };
    expect(summarize({ streams: [mjpeg], format: avi }, 1).kind).toBe('video');
    const png = { ...gif('1').streams[0], codec_name: 'png', pix_fmt: 'rgba' };
    const mkv = { filename: 'file:/tmp/in.mka', format_name: 'matroska,webm', duration: '180.000000' };
    expect(summarize({ streams: [aac({ index: 0 }), { ...png, index: 1 }], format: mkv }, 1).kind).toBe('audio');
  });

  it('flags a variable frame rate when the average departs from r_frame_rate', () => {
    const summary = summarize({ streams: [h264({ r_frame_rate: '60/1', avg_frame_rate: '1471/59' })], format: mp4Format() }, 1);
    expect(summary.streams[0]).toMatchObject({ variableFrameRate: true, frameRateExact: '1471/59' });
  });
});

describe('summarize: unsupported input', () => {
  const tmcd = {
    index: 0,
    codec_type: 'data',
    codec_tag_string: 'tmcd',
    codec_tag: '0x64636d74',
    id: '0x3',
    r_frame_rate: '0/0',
    avg_frame_rate: '0/0',
    time_base: '1/30000',
    start_pts: 0,
    start_time: '0.000000',
    duration_ts: 300300,
    duration: '10.010000',
    nb_frames: '1',
    disposition: disposition(),
    tags: { handler_name: 'TimeCodeHandler', timecode: '00:00:00;00' },
  };
  it.each([
    ['data-only (timecode track)', { streams: [tmcd], format: mp4Format({ nb_streams: 1 }) }, /no audio or video streams/],
    ['no streams at all', { streams: [], format: mp4Format({ nb_streams: 0 }) }, /no audio or video streams/],
    [
      'subtitles only',
      { streams: [{ index: 0, codec_name: 'subrip', codec_type: 'subtitle', disposition: disposition() }], format: { format_name: 'srt' } },
      /no audio or video/,
    ],
    ['text rendered by the tty demuxer', { streams: [h264({ codec_name: 'ansi' })], format: { format_name: 'tty' } }, /text, not media/],
    ['no format', { streams: [aac()] }, /no container format/],
    ['not an object', 'garbage', /no container format/],
  ])('%s → UNSUPPORTED_MEDIA', (_name, json, message) => {
    let error: unknown;
    try {
      summarize(json, 10);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA', message: expect.stringMatching(message) as unknown });
  });
});

describe('summarizePicture', () => {
  it('summarizes a header as ffprobe would a picture: one video stream, no duration, display = stored size', () => {
    expect(summarizePicture({ codec: 'png', width: 16_000, height: 12_000, pixelFormat: 'rgba64be', frames: 1 }, 'png_pipe', 2_025_492)).toEqual({
      kind: 'image',
      formatName: 'png_pipe',
      durationSeconds: null,
      sizeBytes: 2_025_492,
      bitRate: null,
      tags: {},
      animated: false,
      warnings: [],
      streams: [{ index: 0, type: 'video', codec: 'png', width: 16_000, height: 12_000, pixelFormat: 'rgba64be', attachedPicture: false }],
      display: { width: 16_000, height: 12_000 },
    });
  });

  it('marks an animation, and leaves out what the header does not state', () => {
    const apng = summarizePicture({ codec: 'apng', width: 64, height: 48, frames: 12 }, 'apng', 900);
    expect(apng).toMatchObject({ animated: true, streams: [{ codec: 'apng', frameCount: 12 }] });
    const unsized = summarizePicture({ codec: 'svg', frames: 1 }, 'svg_pipe', 40);
    expect(unsized.display).toBeUndefined();
    expect(unsized.streams[0]).toEqual({ index: 0, type: 'video', codec: 'svg', attachedPicture: false });
  });
});
