/**
 * RFC 6381 codec strings for the master playlist's CODECS attribute, read from the init segment's sample entry
 * rather than assumed: the level is whatever x264 chose for the rendition's size, rate and VBV.
 */
import { readAudioSpecificConfig, type AudioSpecificConfig } from './asc.ts';
import { BoxError, childBoxes, type Box } from './bmff.ts';

export interface SampleEntryInfo {
  /** 'avc1.64001f', 'mp4a.40.2'… */
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  /**
   * Audio: the channels the AudioSpecificConfig's channelConfiguration stands for (asc.ts). Absent when it is 0
   * (the channels are then in a program_config_element), which the package step reports rather than guesses.
   */
  readonly channels?: number;
  readonly channelConfiguration?: number;
  /** The sample entry's channelcount: informational only, since ffmpeg writes 2 there for any AAC track. */
  readonly sampleEntryChannels?: number;
  readonly sampleRate?: number;
}

/** §12.1.3 VisualSampleEntry: 8 bytes of SampleEntry, then 70 bytes of fixed fields before the child boxes. */
const VISUAL_ENTRY_FIELDS = 78;
/** §12.2.3 AudioSampleEntry: 8 bytes of SampleEntry, then 20 bytes of fixed fields. */
const AUDIO_ENTRY_FIELDS = 28;

export function sampleEntryInfo(buffer: Buffer, entry: Box): SampleEntryInfo {
  switch (entry.type) {
    case 'avc1':
    case 'avc3': {
      const avcC = childBoxes(buffer, entry, VISUAL_ENTRY_FIELDS).find((box) => box.type === 'avcC');
      if (!avcC) throw new BoxError(`${entry.type} sample entry has no avcC`);
      return { codec: avcCodecString(entry.type, buffer.subarray(avcC.body, avcC.end)), ...visualSize(buffer, entry) };
    }
    case 'hvc1':
    case 'hev1': {
      const hvcC = childBoxes(buffer, entry, VISUAL_ENTRY_FIELDS).find((box) => box.type === 'hvcC');
      if (!hvcC) throw new BoxError(`${entry.type} sample entry has no hvcC`);
      return { codec: hevcCodecString(entry.type, buffer.subarray(hvcC.body, hvcC.end)), ...visualSize(buffer, entry) };
    }
    case 'mp4a': {
      const esds = childBoxes(buffer, entry, AUDIO_ENTRY_FIELDS).find((box) => box.type === 'esds');
      if (!esds) throw new BoxError('mp4a sample entry has no esds');
      const config = readAudioSpecificConfig(buffer.subarray(esds.body + 4, esds.end));
      return {
        codec: mp4aCodec(config),
        ...(config.channels === null ? {} : { channels: config.channels }),
        channelConfiguration: config.channelConfiguration,
        sampleEntryChannels: buffer.readUInt16BE(entry.body + 16),
        // 16.16 fixed point; rates above 65535 Hz would need the v1 sample entry, which AAC-LC never uses.
        sampleRate: buffer.readUInt32BE(entry.body + 24) >>> 16,
      };
    }
    default:
      throw new BoxError(`sample entry '${entry.type}' is not one this pipeline writes`);
  }
}

/** ISO/IEC 14496-15 §5.3.3.1: AVCProfileIndication, profile_compatibility and AVCLevelIndication, as six hex digits. */
export function avcCodecString(type: string, avcC: Buffer): string {
  if (avcC.length < 4) throw new BoxError('avcC is too short');
  return `${type}.${[avcC[1]!, avcC[2]!, avcC[3]!].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** HEVCDecoderConfigurationRecord up to general_level_idc (ISO/IEC 14496-15 §8.3.3.1). */
const HVCC_LEVEL_OFFSET = 12;
const HVCC_CONSTRAINT_OFFSET = 6;
const HVCC_CONSTRAINT_BYTES = 6;
/** general_profile_space 1–3 is written as a letter before the profile; 0 as nothing. */
const PROFILE_SPACE_LETTERS = ['', 'A', 'B', 'C'] as const;

/**
 * ISO/IEC 14496-15 Annex E.3: <type>.<profile space><profile idc>.<compatibility flags, bits reversed, in hex>.
 * <tier L|H><level idc>[.<constraint bytes in hex, trailing zero bytes left out>], as 'hvc1.2.4.L63.90'.
 */
export function hevcCodecString(type: string, hvcC: Buffer): string {
  if (hvcC.length <= HVCC_LEVEL_OFFSET) throw new BoxError('hvcC is too short');
  const first = hvcC[1]!;
  const space = PROFILE_SPACE_LETTERS[first >> 6]!;
  const tier = (first & 0x20) !== 0 ? 'H' : 'L';
  const profile = first & 0x1f;
  const compatibility = reverseBits32(hvcC.readUInt32BE(2)).toString(16);
  const constraints = [...hvcC.subarray(HVCC_CONSTRAINT_OFFSET, HVCC_CONSTRAINT_OFFSET + HVCC_CONSTRAINT_BYTES)];
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  const level = hvcC[HVCC_LEVEL_OFFSET]!;
  return [type, `${space}${profile}`, compatibility, `${tier}${level}`, ...constraints.map((byte) => byte.toString(16).toUpperCase())].join('.');
}

function reverseBits32(value: number): number {
  let reversed = 0;
  for (let bit = 0; bit < 32; bit++) reversed = (reversed << 1) | ((value >>> bit) & 1);
  return reversed >>> 0;
}

/** RFC 6381 §3.3: mp4a.<objectTypeIndication in hex>.<audio object type>, from the esds descriptors. */
export function mp4aCodecString(descriptors: Buffer): string {
  return mp4aCodec(readAudioSpecificConfig(descriptors));
}

function mp4aCodec(config: AudioSpecificConfig): string {
  return `mp4a.${config.objectTypeIndication.toString(16)}.${config.audioObjectType}`;
}

function visualSize(buffer: Buffer, entry: Box): { width: number; height: number } {
  return { width: buffer.readUInt16BE(entry.body + 24), height: buffer.readUInt16BE(entry.body + 26) };
}
