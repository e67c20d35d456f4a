/**
 * RFC 6381 codec strings for the master playlist's CODECS attribute, read from the init segment's sample entry
 * rather than assumed: the level is whatever x264 chose for the rendition's size, rate and VBV.
 */
import { BoxError, childBoxes, type Box } from './bmff.ts';

export interface SampleEntryInfo {
  /** 'avc1.64001f', 'mp4a.40.2'… */
  readonly codec: string;
  readonly width?: number;
  readonly height?: number;
  readonly channels?: number;
  readonly sampleRate?: number;
}

/** §12.1.3 VisualSampleEntry: 8 bytes of SampleEntry, then 70 bytes of fixed fields before the child boxes. */
const VISUAL_ENTRY_FIELDS = 78;
/** §12.2.3 AudioSampleEntry: 8 bytes of SampleEntry, then 20 bytes of fixed fields. */
const AUDIO_ENTRY_FIELDS = 28;
/** ISO/IEC 14496-1 §7.2.2.1 descriptor tags. */
const ES_DESCRIPTOR = 0x03;
const DECODER_CONFIG_DESCRIPTOR = 0x04;
const DECODER_SPECIFIC_INFO = 0x05;

export function sampleEntryInfo(buffer: Buffer, entry: Box): SampleEntryInfo {
  switch (entry.type) {
    case 'avc1':
    case 'avc3': {
      const avcC = childBoxes(buffer, entry, VISUAL_ENTRY_FIELDS).find((box) => box.type === 'avcC');
      if (!avcC) throw new BoxError(`${entry.type} sample entry has no avcC`);
      return { codec: avcCodecString(entry.type, buffer.subarray(avcC.body, avcC.end)), ...visualSize(buffer, entry) };
    }
    case 'mp4a': {
      const esds = childBoxes(buffer, entry, AUDIO_ENTRY_FIELDS).find((box) => box.type === 'esds');
      if (!esds) throw new BoxError('mp4a sample entry has no esds');
      return {
        codec: mp4aCodecString(buffer.subarray(esds.body + 4, esds.end)),
        channels: buffer.readUInt16BE(entry.body + 16),
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

/** RFC 6381 §3.3: mp4a.<objectTypeIndication in hex>.<audio object type>, from the esds descriptors. */
export function mp4aCodecString(descriptors: Buffer): string {
  const es = readDescriptor(descriptors, 0, ES_DESCRIPTOR);
  const esFlags = descriptors.readUInt8(es.body + 2);
  let at = es.body + 3;
  if (esFlags & 0x80) at += 2; // dependsOn_ES_ID
  if (esFlags & 0x40) at += 1 + descriptors.readUInt8(at); // URL
  if (esFlags & 0x20) at += 2; // OCR_ES_Id
  const config = readDescriptor(descriptors, at, DECODER_CONFIG_DESCRIPTOR);
  const objectType = descriptors.readUInt8(config.body);
  const info = readDescriptor(descriptors, config.body + 13, DECODER_SPECIFIC_INFO);
  // ISO/IEC 14496-3 §1.6.2.1: 5 bits of audioObjectType; 31 escapes to 32 + the next 6 bits.
  let audioObjectType = descriptors.readUInt8(info.body) >> 3;
  if (audioObjectType === 31) audioObjectType = 32 + (((descriptors.readUInt8(info.body) & 0x07) << 3) | (descriptors.readUInt8(info.body + 1) >> 5));
  return `mp4a.${objectType.toString(16)}.${audioObjectType}`;
}

function visualSize(buffer: Buffer, entry: Box): { width: number; height: number } {
  return { width: buffer.readUInt16BE(entry.body + 24), height: buffer.readUInt16BE(entry.body + 26) };
}

/** A descriptor's tag, then its size in up to four 7-bit groups (high bit: more follow). */
function readDescriptor(buffer: Buffer, at: number, tag: number): { body: number; end: number } {
  if (at >= buffer.length || buffer.readUInt8(at) !== tag) throw new BoxError(`expected descriptor tag ${tag} at ${at} in esds`);
  let size = 0;
  let cursor = at + 1;
  for (let i = 0; i < 4; i++) {
    const byte = buffer.readUInt8(cursor++);
    size = (size << 7) | (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  if (cursor + size > buffer.length) throw new BoxError(`descriptor tag ${tag} overruns the esds`);
  return { body: cursor, end: cursor + size };
}
