import { describe, expect, it } from 'vitest';
import { parseAudioSpecificConfig, readAudioSpecificConfig } from '../../shared/media/hls/asc.ts';
import { BoxError } from '../../shared/media/hls/bmff.ts';
import { mp4aCodecString } from '../../shared/media/hls/codecs.ts';

/** Writes fields most significant bit first, as the AudioSpecificConfig is laid out (ISO/IEC 14496-3 §1.6.2.1). */
function bits(...fields: readonly (readonly [number, number])[]): Buffer {
  const text = fields.map(([value, width]) => value.toString(2).padStart(width, '0')).join('');
  const padded = text.padEnd(Math.ceil(text.length / 8) * 8, '0');
  return Buffer.from(Array.from({ length: padded.length / 8 }, (_, i) => Number.parseInt(padded.slice(i * 8, i * 8 + 8), 2)));
}

function descriptor(tag: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag, payload.length]), payload]);
}

/** An esds payload as ffmpeg writes it: ES_Descriptor { DecoderConfigDescriptor { DecoderSpecificInfo }, SLConfigDescriptor }. */
function esds(config: Buffer, objectTypeIndication = 0x40): Buffer {
  const fixed = Buffer.alloc(13);
  fixed.writeUInt8(objectTypeIndication, 0);
  fixed.writeUInt8(0x15, 1); // streamType audio, upStream 0, reserved 1
  return descriptor(0x03, Buffer.from([0, 1, 0]), descriptor(0x04, fixed, descriptor(0x05, config)), descriptor(0x06, Buffer.from([2])));
}

describe('AudioSpecificConfig', () => {
  const table: readonly [
    string,
    Buffer,
    { audioObjectType: number; samplingFrequency: number; channelConfiguration: number; channels: number | null },
    string,
  ][] = [
    [
      'AAC-LC mono 48 kHz (the mono HLS rendition)',
      bits([2, 5], [3, 4], [1, 4], [0, 3]),
      { audioObjectType: 2, samplingFrequency: 48_000, channelConfiguration: 1, channels: 1 },
      'mp4a.40.2',
    ],
    [
      'AAC-LC stereo 44.1 kHz',
      bits([2, 5], [4, 4], [2, 4], [0, 3]),
      { audioObjectType: 2, samplingFrequency: 44_100, channelConfiguration: 2, channels: 2 },
      'mp4a.40.2',
    ],
    [
      'AAC-LC 5.1 48 kHz',
      bits([2, 5], [3, 4], [6, 4], [0, 3]),
      { audioObjectType: 2, samplingFrequency: 48_000, channelConfiguration: 6, channels: 6 },
      'mp4a.40.2',
    ],
    [
      'AAC-LC 7.1 (configuration 7 is eight channels)',
      bits([2, 5], [3, 4], [7, 4], [0, 3]),
      { audioObjectType: 2, samplingFrequency: 48_000, channelConfiguration: 7, channels: 8 },
      'mp4a.40.2',
    ],
    // HE-AAC (SBR) whose core rate is stated explicitly: index 15, then 24 bits of rate.
    [
      'HE-AAC with an explicit 22 050 Hz core rate',
      bits([5, 5], [15, 4], [22_050, 24], [2, 4], [3, 4], [2, 5]),
      { audioObjectType: 5, samplingFrequency: 22_050, channelConfiguration: 2, channels: 2 },
      'mp4a.40.5',
    ],
    [
      'an escaped object type (31 → 32 + 10 = 42, USAC)',
      bits([31, 5], [10, 6], [3, 4], [2, 4], [0, 5]),
      { audioObjectType: 42, samplingFrequency: 48_000, channelConfiguration: 2, channels: 2 },
      'mp4a.40.42',
    ],
    [
      'channelConfiguration 0: the channels are in a PCE, reported as unknown',
      bits([2, 5], [3, 4], [0, 4], [0, 3]),
      { audioObjectType: 2, samplingFrequency: 48_000, channelConfiguration: 0, channels: null },
      'mp4a.40.2',
    ],
  ];

  it.each(table)('reads %s', (_name, config, expected, codec) => {
    expect(parseAudioSpecificConfig(config)).toEqual(expected);
    expect(readAudioSpecificConfig(esds(config))).toEqual({ objectTypeIndication: 0x40, ...expected });
    expect(mp4aCodecString(esds(config))).toBe(codec);
  });

  it('reads the two bytes ffmpeg writes for a mono 48 kHz AAC-LC track', () => {
    expect(parseAudioSpecificConfig(Buffer.from([0x11, 0x88]))).toMatchObject({ audioObjectType: 2, samplingFrequency: 48_000, channels: 1 });
    expect(parseAudioSpecificConfig(Buffer.from([0x11, 0x90]))).toMatchObject({ audioObjectType: 2, samplingFrequency: 48_000, channels: 2 });
  });

  it('refuses a reserved frequency index, a config cut short and descriptors that are not there', () => {
    expect(() => parseAudioSpecificConfig(bits([2, 5], [13, 4], [2, 4], [0, 3]))).toThrow('reserved samplingFrequencyIndex 13');
    expect(() => parseAudioSpecificConfig(Buffer.from([0x17]))).toThrow(BoxError);
    expect(() => readAudioSpecificConfig(Buffer.from([0x04, 0x00]))).toThrow('expected descriptor tag 3');
    expect(() => readAudioSpecificConfig(descriptor(0x03, Buffer.from([0, 1, 0]), Buffer.from([0x04, 0x7f])))).toThrow('overruns the esds');
  });
});
