/**
 * Reading an MP4 audio track's AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) out of its esds, which is where the
 * channel count of an AAC stream is stated. The sample entry's own `channelcount` (ISO/IEC 14496-12 §12.2.3) is
 * not: ffmpeg's mov muxer writes 2 there whatever the stream holds, so a mono rendition read from it would be
 * declared CHANNELS="2".
 *
 *   esds (FullBox) → ES_Descriptor (tag 3) → DecoderConfigDescriptor (tag 4) → DecoderSpecificInfo (tag 5)
 *   AudioSpecificConfig: audioObjectType (5 bits; 31 escapes to 32 + 6 bits),
 *                        samplingFrequencyIndex (4 bits; 15 is followed by an explicit 24-bit rate),
 *                        channelConfiguration (4 bits; 0 means the channels are in a program_config_element)
 */
import { BoxError } from './bmff.ts';

/** ISO/IEC 14496-1 §7.2.2.1 descriptor tags. */
const ES_DESCRIPTOR = 0x03;
const DECODER_CONFIG_DESCRIPTOR = 0x04;
const DECODER_SPECIFIC_INFO = 0x05;
/** DecoderConfigDescriptor's fixed fields before its DecoderSpecificInfo: objectTypeIndication … avgBitrate. */
const DECODER_CONFIG_FIXED_BYTES = 13;
/** §1.6.2.1: an audioObjectType of 31 says the real one is 32 + the next 6 bits. */
const OBJECT_TYPE_ESCAPE = 31;
/** §1.6.2.1: a samplingFrequencyIndex of 15 says an explicit 24-bit samplingFrequency follows. */
const FREQUENCY_ESCAPE = 15;
/** §1.6.3.4 Table 1.16: samplingFrequencyIndex → Hz. */
const SAMPLING_FREQUENCIES = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350] as const;
/**
 * §1.6.3.5 Table 1.19 (with the 2009 amendment's 11–14): channelConfiguration → channels. 0 is absent on purpose:
 * the layout is then in a program_config_element of the payload, which this reader does not parse.
 */
const CHANNELS_BY_CONFIGURATION: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8 };

export interface AudioSpecificConfig {
  /** ISO/IEC 14496-1 objectTypeIndication of the DecoderConfigDescriptor: 0x40 for MPEG-4 audio. */
  readonly objectTypeIndication: number;
  /** 2 = AAC-LC, 5 = SBR (HE-AAC), 29 = PS (HE-AAC v2)… */
  readonly audioObjectType: number;
  /** The core's rate, from the table or stated explicitly. */
  readonly samplingFrequency: number;
  readonly channelConfiguration: number;
  /** Channels the configuration stands for; null for channelConfiguration 0 (a PCE states them) or a reserved value. */
  readonly channels: number | null;
}

/** Reads the descriptors of an esds box's payload (after its 4 bytes of version and flags). */
export function readAudioSpecificConfig(descriptors: Buffer): AudioSpecificConfig {
  const es = readDescriptor(descriptors, 0, ES_DESCRIPTOR);
  if (es.body + 3 > es.end) throw new BoxError('ES_Descriptor is too short');
  const esFlags = descriptors.readUInt8(es.body + 2);
  let at = es.body + 3;
  if (esFlags & 0x80) at += 2; // dependsOn_ES_ID
  if (esFlags & 0x40) at += 1 + descriptors.readUInt8(at); // URL
  if (esFlags & 0x20) at += 2; // OCR_ES_Id
  const config = readDescriptor(descriptors, at, DECODER_CONFIG_DESCRIPTOR);
  const info = readDescriptor(descriptors, config.body + DECODER_CONFIG_FIXED_BYTES, DECODER_SPECIFIC_INFO);
  return { objectTypeIndication: descriptors.readUInt8(config.body), ...parseAudioSpecificConfig(descriptors.subarray(info.body, info.end)) };
}

/** The leading fields of an AudioSpecificConfig (§1.6.2.1), which every object type shares. */
export function parseAudioSpecificConfig(config: Buffer): Omit<AudioSpecificConfig, 'objectTypeIndication'> {
  const bits = new BitReader(config);
  let audioObjectType = bits.read(5);
  if (audioObjectType === OBJECT_TYPE_ESCAPE) audioObjectType = 32 + bits.read(6);
  const frequencyIndex = bits.read(4);
  const samplingFrequency = frequencyIndex === FREQUENCY_ESCAPE ? bits.read(24) : SAMPLING_FREQUENCIES[frequencyIndex];
  if (samplingFrequency === undefined) throw new BoxError(`AudioSpecificConfig has the reserved samplingFrequencyIndex ${frequencyIndex}`);
  const channelConfiguration = bits.read(4);
  return { audioObjectType, samplingFrequency, channelConfiguration, channels: CHANNELS_BY_CONFIGURATION[channelConfiguration] ?? null };
}

/** Most significant bit first, as every MPEG-4 bitstream field is written. */
class BitReader {
  readonly #buffer: Buffer;
  #bit = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  read(count: number): number {
    if (this.#bit + count > this.#buffer.length * 8) throw new BoxError(`AudioSpecificConfig ends inside a ${count}-bit field`);
    let value = 0;
    for (let i = 0; i < count; i++, this.#bit++) {
      const byte = this.#buffer[this.#bit >> 3]!;
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
    }
    return value;
  }
}

/** A descriptor's tag, then its size in up to four 7-bit groups (high bit: more follow). */
export function readDescriptor(buffer: Buffer, at: number, tag: number): { body: number; end: number } {
  if (at >= buffer.length || buffer.readUInt8(at) !== tag) throw new BoxError(`expected descriptor tag ${tag} at ${at} in esds`);
  let size = 0;
  let cursor = at + 1;
  for (let i = 0; i < 4; i++) {
    if (cursor >= buffer.length) throw new BoxError(`descriptor tag ${tag} is cut off inside its size`);
    const byte = buffer.readUInt8(cursor++);
    size = (size << 7) | (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  if (cursor + size > buffer.length) throw new BoxError(`descriptor tag ${tag} overruns the esds`);
  return { body: cursor, end: cursor + size };
}
