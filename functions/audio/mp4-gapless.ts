/**
 * Gapless playback information of an AAC rendition in M4A, the way Apple's encoders state it, twice:
 *  - the edit list (ISO/IEC 14496-12 §8.6.6): media_time skips the encoder's priming and segment_duration ends
 *    the programme before the last frame's padding. ffmpeg's mov muxer writes it; with the movie timescale at the
 *    sample rate (encoders.ts) its duration is sample-accurate rather than rounded to the default's milliseconds;
 *  - the iTunSMPB freeform tag, which iTunes, foobar2000, Rockbox and older players read instead: priming,
 *    padding and sample count in hex, written here next to the loudness tags.
 * Reading the edit list back is also the check that the file plays exactly the samples the encoder was given.
 */
import type { Box } from './mp4-tags.ts';

/** ISO/IEC 14496-3 §4.5.1.1: samples an AAC-LC frame decodes to, padding included. */
const AAC_FRAME_SAMPLES = 1024;

export interface Mp4Gapless {
  /** Samples of encoder delay before the programme (the edit's media_time). */
  readonly primingSamples: number;
  /** Samples of the programme (the edit's duration, in the track's timescale). */
  readonly samples: number;
  /** Samples after it in the last frame: the frames' samples less priming and programme. */
  readonly paddingSamples: number;
  /** The track's timescale: its sample rate for audio. */
  readonly timescale: number;
}

/** A track whose edit list cannot be read this simply (several edits, an empty edit) is not one this step writes. */
export function readGapless(moov: Box): Mp4Gapless {
  const mvhd = timing(find(moov, ['mvhd']));
  const trak = find(moov, ['trak']);
  const mdhd = timing(find(trak, ['mdia', 'mdhd']));
  // ffmpeg's muxer gives the last sample only the encoder's remainder in stts, so the padding is counted in frames (stsz).
  const frames = find(trak, ['mdia', 'minf', 'stbl', 'stsz']).payload.readUInt32BE(8);
  const elst = find(trak, ['edts', 'elst']).payload;
  const version = elst.readUInt8(0);
  const count = elst.readUInt32BE(4);
  if (count !== 1) throw new Error(`the rendition's edit list has ${count} entries; one was expected`);
  const segmentDuration = version === 1 ? Number(elst.readBigUInt64BE(8)) : elst.readUInt32BE(8);
  const mediaTime = version === 1 ? Number(elst.readBigInt64BE(16)) : elst.readInt32BE(12);
  if (mediaTime < 0) throw new Error("the rendition's edit list starts with an empty edit");
  // segment_duration is in the movie's timescale, media_time in the track's (§8.6.6.3).
  const samples = Math.round((segmentDuration * mdhd.timescale) / mvhd.timescale);
  return { primingSamples: mediaTime, samples, paddingSamples: frames * AAC_FRAME_SAMPLES - mediaTime - samples, timescale: mdhd.timescale };
}

/**
 * iTunSMPB as iTunes writes it: a space, then twelve hex fields: 0, priming, padding, the 64-bit sample count,
 * and eight zeros.
 */
export function iTunSmpb(gapless: Mp4Gapless): string {
  const hex = (value: number, digits: number): string => value.toString(16).toUpperCase().padStart(digits, '0');
  const zeros = Array.from({ length: 8 }, () => hex(0, 8));
  return ` ${[hex(0, 8), hex(gapless.primingSamples, 8), hex(gapless.paddingSamples, 8), hex(gapless.samples, 16), ...zeros].join(' ')}`;
}

export const ITUNSMPB = 'iTunSMPB';

function find(parent: Box, path: readonly string[]): Box {
  let current = parent;
  for (const type of path) {
    const next = current.children?.find((child) => child.type === type);
    if (!next) throw new Error(`the rendition has no ${path.join('/')} under ${parent.type}`);
    current = next;
  }
  return current;
}

/** mvhd and mdhd (§8.2.2, §8.4.2): timescale and duration after version, flags and the two dates. */
function timing(box: Box): { timescale: number; duration: number } {
  const payload = box.payload;
  if (payload.readUInt8(0) === 1) return { timescale: payload.readUInt32BE(20), duration: Number(payload.readBigUInt64BE(24)) };
  return { timescale: payload.readUInt32BE(12), duration: payload.readUInt32BE(16) };
}
