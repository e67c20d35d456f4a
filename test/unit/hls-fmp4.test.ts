import { describe, expect, it } from 'vitest';
import { BoxError, readBoxes } from '../../shared/media/hls/bmff.ts';
import { avcCodecString, mp4aCodecString } from '../../shared/media/hls/codecs.ts';
import { parseInit, parseSegment, splitFragmented } from '../../shared/media/hls/fmp4.ts';

/** ISO/IEC 14496-12 boxes, built by hand: size, type, payload. */
function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}
function full(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(version, 0);
  head.writeUIntBE(flags, 1, 3);
  return box(type, head, ...payload);
}
function u32(...values: number[]): Buffer {
  const buffer = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => buffer.writeUInt32BE(value >>> 0, 4 * i));
  return buffer;
}
function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

const TRACK = 1;
const TIMESCALE = 15_360;
const FRAME = 512; // 1/30 s
const NON_SYNC = 0x0001_0000;

function avc1Entry(width: number, height: number): Buffer {
  const fixed = Buffer.alloc(78);
  fixed.writeUInt16BE(1, 6); // data_reference_index
  fixed.writeUInt16BE(width, 24);
  fixed.writeUInt16BE(height, 26);
  return box('avc1', fixed, box('avcC', Buffer.from([1, 0x64, 0x00, 0x1f, 0xff])));
}

function init(): Buffer {
  const tkhd = full('tkhd', 0, 3, u32(0, 0, TRACK, 0, 0), Buffer.alloc(60));
  const mdhd = full('mdhd', 0, 0, u32(0, 0, TIMESCALE, 0), Buffer.alloc(4));
  const hdlr = full('hdlr', 0, 0, u32(0), Buffer.from('vide'), Buffer.alloc(13));
  const stsd = full('stsd', 0, 0, u32(1), avc1Entry(1280, 720));
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', box('stbl', stsd))));
  const mvex = box('mvex', full('trex', 0, 0, u32(TRACK, 1, FRAME, 0, NON_SYNC)));
  return Buffer.concat([box('ftyp', Buffer.from('iso5'), u32(512), Buffer.from('iso5iso6mp41')), box('moov', trak, mvex)]);
}

/** One fragment of `count` frames from `decodeTime`: the first a sync sample, composition offsets of two frames. */
function fragment(decodeTime: number, count: number): Buffer {
  const tfhd = full('tfhd', 0, 0x020000, u32(TRACK));
  const tfdt = full('tfdt', 1, 0, u64(decodeTime));
  // trun flags: data-offset, first-sample-flags, composition offsets; durations and flags from trex.
  const offsets = u32(...Array.from({ length: count }, () => 2 * FRAME));
  const trun = full('trun', 0, 0x001 | 0x004 | 0x800, u32(count, 0, 0x0200_0000), offsets);
  return Buffer.concat([box('moof', full('mfhd', 0, 0, u32(1)), box('traf', tfhd, tfdt, trun)), box('mdat', Buffer.alloc(16))]);
}

describe('fragmented MP4', () => {
  const file = Buffer.concat([init(), fragment(14_336, 60), fragment(14_336 + 60 * FRAME, 60), box('mfra', Buffer.alloc(8))]);

  it('splits into the init segment and one buffer per movie fragment, dropping the mfra index', () => {
    const { init: head, fragments } = splitFragmented(file);
    expect(head.equals(init())).toBe(true);
    expect(fragments).toHaveLength(2);
    expect(readBoxes(fragments[0]!).map((b) => b.type)).toEqual(['moof', 'mdat']);
  });

  it('reads the track: id, handler, timescale, trex defaults and the RFC 6381 codec string', () => {
    expect(parseInit(init())).toEqual([
      {
        trackId: TRACK,
        handler: 'vide',
        timescale: TIMESCALE,
        defaultDuration: FRAME,
        defaultSize: 0,
        defaultFlags: NON_SYNC,
        codec: 'avc1.64001f',
        width: 1280,
        height: 720,
      },
    ]);
  });

  it('times a segment of several fragments from tfdt, trex durations and composition offsets', () => {
    const [track] = parseInit(init());
    const { fragments } = splitFragmented(file);
    expect(parseSegment(Buffer.concat(fragments), track!)).toEqual({
      decodeTime: 14_336,
      duration: 120 * FRAME,
      presentationStart: 15_360,
      samples: 120,
      startsWithSync: true,
      internalGaps: 0,
    });
  });

  it('counts fragments that do not continue where the previous one ended, and sees a segment not starting on a sync sample', () => {
    const [track] = parseInit(init());
    const gappy = Buffer.concat([fragment(0, 10), fragment(11 * FRAME, 10)]);
    expect(parseSegment(gappy, track!).internalGaps).toBe(1);
    const tfhd = full('tfhd', 0, 0x020000, u32(TRACK));
    const trun = full('trun', 0, 0x001, u32(1, 0));
    const nonSync = box('moof', box('traf', tfhd, full('tfdt', 0, 0, u32(0)), trun));
    expect(parseSegment(nonSync, track!).startsWithSync).toBe(false);
  });

  it('refuses truncated boxes and files without an init segment', () => {
    expect(() => readBoxes(file.subarray(0, file.length - 3))).toThrow(BoxError);
    expect(() => splitFragmented(fragment(0, 1))).toThrow('no moov');
  });
});

describe('codec strings (RFC 6381)', () => {
  it('reads profile, constraints and level from avcC', () => {
    expect(avcCodecString('avc1', Buffer.from([1, 0x42, 0xc0, 0x1e]))).toBe('avc1.42c01e');
  });

  it('reads the object type and audio object type from esds descriptors, long sizes included', () => {
    // ES_Descriptor(3) > DecoderConfigDescriptor(4): MPEG-4 audio (0x40) > DecoderSpecificInfo(5): AAC-LC (2), 48 kHz, stereo.
    const config = Buffer.from([0x04, 0x80, 0x80, 0x80, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0x01, 0xf4, 0, 0, 0x01, 0xf4, 0, 0x05, 0x02, 0x11, 0x90]);
    const es = Buffer.concat([Buffer.from([0x03, 3 + config.length, 0x00, 0x01, 0x00]), config]);
    expect(mp4aCodecString(es)).toBe('mp4a.40.2');
    // HE-AAC v2 signalled explicitly: object type 29 (PS).
    const ps = Buffer.from([0x03, 0x15, 0, 1, 0, 0x04, 0x10, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x02, 0xeb, 0x10]);
    expect(mp4aCodecString(ps)).toBe('mp4a.40.29');
  });
});
