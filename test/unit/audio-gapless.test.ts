import { describe, expect, it } from 'vitest';
import { sourceTrim, trimFilter } from '../../functions/audio/gapless.ts';
import { iTunSmpb } from '../../functions/audio/mp4-gapless.ts';
import { pcmSamples, pcmSeconds } from '../../functions/audio/pcm.ts';
import { PeakAccumulator, samplesPerPixel } from '../../functions/audio/waveform.ts';

const MOV = 'mov,mp4,m4a,3gp,3g2,mj2';

describe('the gapless trim of a decode (issue 13)', () => {
  it("cuts an MP4's AAC at the length the container states, which ffmpeg 5.1's decoder runs past by the padding", () => {
    const trim = sourceTrim({ formatName: MOV }, { codec: 'aac', profile: 'LC', sampleRate: 44_100, durationSeconds: 20 });
    expect(trim).toMatchObject({ startSample: 0, endSample: 882_000, sampleRate: 44_100 });
    expect(trimFilter(trim)).toBe('atrim=end_sample=882000');
    // A voice memo's 16 kHz, stated to the microsecond by ffprobe: rounding gives the exact count.
    expect(sourceTrim({ formatName: MOV }, { codec: 'aac', profile: 'LC', sampleRate: 16_000, durationSeconds: 20.031937 })?.endSample).toBe(320_511);
  });

  it('drops the one priming frame every AAC-LC encoder puts first in an ADTS stream, which states no priming', () => {
    const trim = sourceTrim({ formatName: 'aac' }, { codec: 'aac', profile: 'LC', sampleRate: 44_100, durationSeconds: 19.647475 });
    expect(trim).toMatchObject({ startSample: 1024, endSample: null });
    expect(trimFilter(trim)).toBe('atrim=start_sample=1024,asetpts=PTS-STARTPTS');
  });

  it('leaves alone what ffmpeg already decodes to its true length, and what it cannot know', () => {
    expect(sourceTrim({ formatName: 'mp3' }, { codec: 'mp3', sampleRate: 44_100, durationSeconds: 20.035918 })).toBeNull();
    expect(sourceTrim({ formatName: 'flac' }, { codec: 'flac', sampleRate: 44_100, durationSeconds: 20 })).toBeNull();
    expect(sourceTrim({ formatName: 'ogg' }, { codec: 'opus', sampleRate: 48_000, durationSeconds: 20.0065 })).toBeNull();
    expect(sourceTrim({ formatName: 'asf' }, { codec: 'wmav2', sampleRate: 44_100, durationSeconds: 20.015 })).toBeNull();
    expect(sourceTrim({ formatName: MOV }, { codec: 'alac', sampleRate: 44_100, durationSeconds: 20 })).toBeNull();
    // HE-AAC's SBR delay is the decoder's own; an MP4 without a stated length has nothing to cut at.
    expect(sourceTrim({ formatName: 'aac' }, { codec: 'aac', profile: 'HE-AAC', sampleRate: 44_100 })).toBeNull();
    expect(sourceTrim({ formatName: MOV }, { codec: 'aac', profile: 'LC', sampleRate: 44_100 })).toBeNull();
    expect(trimFilter(null)).toBe('');
  });

  it("states the rendition's gapless information as iTunes does in iTunSMPB", () => {
    expect(iTunSmpb({ primingSamples: 1024, paddingSamples: 512, samples: 960_000, timescale: 48_000 })).toBe(
      ' 00000000 00000400 00000200 00000000000EA600 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000',
    );
  });

  it("counts the decode in whole samples, not in the loudness meter's 100 ms blocks", () => {
    // 20 s and one sample of stereo float PCM: 960 001 samples, which the meter would call 20.0 s.
    const bytes = 960_001 * 2 * 4;
    expect(pcmSamples(bytes, 2)).toBe(960_001);
    expect(pcmSeconds(bytes, 2)).toBeCloseTo(20 + 1 / 48_000, 9);
    // A chunk that ends inside a sample leaves it for the next.
    expect(pcmSamples(bytes + 5, 2)).toBe(960_001);
  });

  it('draws 100 px a second of the counted samples: 2000 for 20.000 s, one more for a single extra sample', () => {
    const pixels = (samples: number): number => {
      const peaks = new PeakAccumulator(samplesPerPixel(48_000, { pixelsPerSecond: 100 }));
      peaks.push(Buffer.alloc(samples * 2));
      expect(peaks.samples).toBe(samples);
      return peaks.finish(48_000, 8).length;
    };
    expect(pixels(960_000)).toBe(2000);
    expect(pixels(960_001)).toBe(2001);
    // An m4a decoded without the cut to its edit list: 20 s plus 688 samples of padding at 44.1 kHz (749 at 48 kHz).
    expect(pixels(960_749)).toBe(2002);
  });
});
