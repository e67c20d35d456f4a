/**
 * Fragmented MP4 as HLS serves it (RFC 8216 §3.3): an init segment (ftyp + moov, the Media Initialization
 * Section) and media segments of one or more movie fragments (moof + mdat). ffmpeg writes one fragmented file;
 * this splits it and reads back the timing of every fragment, so playlists and checks use the real media
 * rather than what an encoder was asked for.
 */
import { BoxError, childBoxes, findChild, findPath, readBoxes, readUint64, requireChild, versionAndFlags, type Box } from './bmff.ts';
import { sampleEntryInfo, type SampleEntryInfo } from './codecs.ts';

export interface SplitFile {
  readonly init: Buffer;
  /** Each movie fragment with whatever belongs before its moof (styp, sidx, prft, emsg). */
  readonly fragments: readonly Buffer[];
}

export interface TrackInfo extends SampleEntryInfo {
  readonly trackId: number;
  /** 'vide' or 'soun' (hdlr handler_type). */
  readonly handler: string;
  readonly timescale: number;
  /** trex defaults (§8.8.3), used where a fragment states none of its own. */
  readonly defaultDuration: number;
  readonly defaultSize: number;
  readonly defaultFlags: number;
}

export interface SegmentTiming {
  /** tfdt of the first fragment, in the track's timescale. */
  readonly decodeTime: number;
  /** Sum of the sample durations: what EXTINF states. */
  readonly duration: number;
  /** Earliest composition time of any sample (decode time plus composition offset). */
  readonly presentationStart: number;
  readonly samples: number;
  /** Whether the first sample is a sync sample: an IDR frame, so the segment decodes on its own. */
  readonly startsWithSync: boolean;
  /** Fragments within the segment whose tfdt does not continue where the previous one ended. */
  readonly internalGaps: number;
}

/** Boxes that may precede a moof and belong to its fragment (§8.16 segment type, index, producer time, events). */
const FRAGMENT_PREFIX_BOXES = new Set(['styp', 'sidx', 'ssix', 'prft', 'emsg']);
/** File-level trailers of a fragmented file: meaningless inside one segment. */
const TRAILER_BOXES = new Set(['mfra', 'mfro']);
/** §8.8.3.1: sample_is_non_sync_sample, bit 16 of the sample flags. */
const NON_SYNC_SAMPLE = 0x0001_0000;

export function splitFragmented(buffer: Buffer): SplitFile {
  const boxes = readBoxes(buffer);
  const firstFragment = boxes.findIndex((box) => box.type === 'moof' || FRAGMENT_PREFIX_BOXES.has(box.type));
  const initBoxes = firstFragment === -1 ? boxes : boxes.slice(0, firstFragment);
  if (!initBoxes.some((box) => box.type === 'moov')) throw new BoxError('no moov before the first fragment: not a fragmented MP4 with an init segment');
  const init = buffer.subarray(0, initBoxes.at(-1)?.end ?? 0);
  const fragments: Buffer[] = [];
  let start: number | undefined;
  let end = 0;
  let sawMoof = false;
  for (const box of firstFragment === -1 ? [] : boxes.slice(firstFragment)) {
    if (TRAILER_BOXES.has(box.type)) break;
    if (sawMoof && start !== undefined && (box.type === 'moof' || FRAGMENT_PREFIX_BOXES.has(box.type))) {
      fragments.push(buffer.subarray(start, end));
      start = undefined;
      sawMoof = false;
    }
    start ??= box.start;
    end = box.end;
    if (box.type === 'moof') sawMoof = true;
  }
  if (start !== undefined && sawMoof) fragments.push(buffer.subarray(start, end));
  return { init, fragments };
}

export function parseInit(init: Buffer): TrackInfo[] {
  const moov = readBoxes(init).find((box) => box.type === 'moov');
  if (!moov) throw new BoxError('the init segment has no moov');
  const trex = new Map<number, { duration: number; size: number; flags: number }>();
  const mvex = findChild(init, moov, 'mvex');
  for (const box of mvex ? childBoxes(init, mvex) : []) {
    if (box.type !== 'trex') continue;
    trex.set(init.readUInt32BE(box.body + 4), {
      duration: init.readUInt32BE(box.body + 12),
      size: init.readUInt32BE(box.body + 16),
      flags: init.readUInt32BE(box.body + 20),
    });
  }
  return childBoxes(init, moov)
    .filter((box) => box.type === 'trak')
    .map((trak) => {
      const tkhd = requireChild(init, trak, 'tkhd');
      const trackId = init.readUInt32BE(tkhd.body + (versionAndFlags(init, tkhd).version === 1 ? 20 : 12));
      const mdhd = findPath(init, trak, ['mdia', 'mdhd']);
      const hdlr = findPath(init, trak, ['mdia', 'hdlr']);
      const stsd = findPath(init, trak, ['mdia', 'minf', 'stbl', 'stsd']);
      if (!mdhd || !hdlr || !stsd) throw new BoxError(`track ${trackId} lacks mdhd, hdlr or stsd`);
      const timescale = init.readUInt32BE(mdhd.body + (versionAndFlags(init, mdhd).version === 1 ? 20 : 12));
      const entry = childBoxes(init, stsd, 8)[0];
      if (!entry) throw new BoxError(`track ${trackId} has no sample entry`);
      const defaults = trex.get(trackId) ?? { duration: 0, size: 0, flags: 0 };
      return {
        trackId,
        handler: init.toString('latin1', hdlr.body + 8, hdlr.body + 12),
        timescale,
        defaultDuration: defaults.duration,
        defaultSize: defaults.size,
        defaultFlags: defaults.flags,
        ...sampleEntryInfo(init, entry),
      };
    });
}

/** Timing of one media segment of a single-track file, from every moof in it (§8.8.7 tfhd, §8.8.12 tfdt, §8.8.8 trun). */
export function parseSegment(segment: Buffer, track: TrackInfo): SegmentTiming {
  let decodeTime: number | undefined;
  let next: number | undefined;
  let presentationStart = Number.POSITIVE_INFINITY;
  let samples = 0;
  let startsWithSync = false;
  let internalGaps = 0;
  for (const moof of readBoxes(segment).filter((box) => box.type === 'moof')) {
    for (const traf of childBoxes(segment, moof).filter((box) => box.type === 'traf')) {
      const fragment = readTraf(segment, traf, track);
      if (!fragment) continue;
      if (decodeTime === undefined) {
        decodeTime = fragment.decodeTime;
        startsWithSync = fragment.firstIsSync;
      } else if (fragment.decodeTime !== next) {
        internalGaps++;
      }
      next = fragment.decodeTime + fragment.duration;
      presentationStart = Math.min(presentationStart, fragment.presentationStart);
      samples += fragment.samples;
    }
  }
  if (decodeTime === undefined || next === undefined) throw new BoxError(`the segment has no fragment of track ${track.trackId}`);
  return { decodeTime, duration: next - decodeTime, presentationStart, samples, startsWithSync, internalGaps };
}

interface TrafTiming {
  readonly decodeTime: number;
  readonly duration: number;
  readonly presentationStart: number;
  readonly samples: number;
  readonly firstIsSync: boolean;
}

function readTraf(buffer: Buffer, traf: Box, track: TrackInfo): TrafTiming | undefined {
  const tfhd = requireChild(buffer, traf, 'tfhd');
  if (buffer.readUInt32BE(tfhd.body + 4) !== track.trackId) return undefined;
  const tfhdFlags = versionAndFlags(buffer, tfhd).flags;
  let cursor = tfhd.body + 8;
  if (tfhdFlags & 0x01) cursor += 8; // base_data_offset
  if (tfhdFlags & 0x02) cursor += 4; // sample_description_index
  const defaultDuration = tfhdFlags & 0x08 ? buffer.readUInt32BE(cursor) : track.defaultDuration;
  if (tfhdFlags & 0x08) cursor += 4;
  if (tfhdFlags & 0x10) cursor += 4; // default_sample_size
  const defaultFlags = tfhdFlags & 0x20 ? buffer.readUInt32BE(cursor) : track.defaultFlags;

  // RFC 8216 §3.3: every track fragment of an fMP4 media segment carries a tfdt.
  const tfdt = requireChild(buffer, traf, 'tfdt');
  const decodeTime = versionAndFlags(buffer, tfdt).version === 1 ? readUint64(buffer, tfdt.body + 4) : buffer.readUInt32BE(tfdt.body + 4);

  let dts = decodeTime;
  let presentationStart = Number.POSITIVE_INFINITY;
  let samples = 0;
  let firstIsSync: boolean | undefined;
  for (const trun of childBoxes(buffer, traf).filter((box) => box.type === 'trun')) {
    const { version, flags } = versionAndFlags(buffer, trun);
    const count = buffer.readUInt32BE(trun.body + 4);
    let at = trun.body + 8;
    if (flags & 0x001) at += 4; // data_offset
    let firstSampleFlags: number | undefined;
    if (flags & 0x004) {
      firstSampleFlags = buffer.readUInt32BE(at);
      at += 4;
    }
    for (let i = 0; i < count; i++) {
      let duration = defaultDuration;
      let sampleFlags = i === 0 && firstSampleFlags !== undefined ? firstSampleFlags : defaultFlags;
      let offset = 0;
      if (flags & 0x100) {
        duration = buffer.readUInt32BE(at);
        at += 4;
      }
      if (flags & 0x200) at += 4; // sample_size
      if (flags & 0x400) {
        sampleFlags = buffer.readUInt32BE(at);
        at += 4;
      }
      if (flags & 0x800) {
        offset = version === 0 ? buffer.readUInt32BE(at) : buffer.readInt32BE(at);
        at += 4;
      }
      if (at > trun.end) throw new BoxError(`trun at ${trun.start} declares ${count} samples but ends early`);
      firstIsSync ??= (sampleFlags & NON_SYNC_SAMPLE) === 0;
      presentationStart = Math.min(presentationStart, dts + offset);
      dts += duration;
      samples++;
    }
  }
  return { decodeTime, duration: dts - decodeTime, presentationStart, samples, firstIsSync: firstIsSync ?? false };
}
