/**
 * WebVTT as HLS serves it (RFC 8216 §3.5): the whole track (as ffmpeg converted it) cut into segments that cover
 * the video segments' windows. A cue is listed in every segment it overlaps (players drop the repeats, §3.5
 * allows them), and each segment maps its cue times onto the media timeline with X-TIMESTAMP-MAP: LOCAL 0 is the
 * timeline's zero (the source's start), MPEGTS the 90 kHz time where that zero sits in the fMP4 segments.
 */

export interface Cue {
  readonly start: number;
  readonly end: number;
  /** The cue block as ffmpeg wrote it, without its timing line: optional identifier line(s) and payload. */
  readonly id: string | undefined;
  readonly settings: string;
  readonly payload: string;
}

export interface Window {
  readonly start: number;
  readonly end: number;
}

/** The MPEG-2 TS clock X-TIMESTAMP-MAP's MPEGTS counts in. */
export const MPEGTS_HZ = 90_000;
const TIMING = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})(.*)$/;

export function parseWebVtt(text: string): Cue[] {
  const blocks = text.replace(/\r\n?/g, '\n').split(/\n{2,}/);
  const cues: Cue[] = [];
  for (const block of blocks) {
    const lines = block.split('\n');
    const at = lines.findIndex((line) => line.includes('-->'));
    if (at === -1) continue; // the header, NOTE and STYLE blocks
    const match = TIMING.exec(lines[at]!.trim());
    if (!match) continue;
    const payload = lines
      .slice(at + 1)
      .join('\n')
      .trim();
    if (payload === '') continue;
    cues.push({
      start: parseTime(match[1]!),
      end: parseTime(match[2]!),
      id: at > 0 ? lines.slice(0, at).join('\n') : undefined,
      settings: match[3]!.trim(),
      payload,
    });
  }
  return cues;
}

/** One segment's file: the cues that overlap [start, end), with the timeline's zero mapped to MPEGTS. */
export function webVttSegment(cues: readonly Cue[], window: Window, offsetSeconds: number): string {
  const header = `WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${Math.round(offsetSeconds * MPEGTS_HZ)},LOCAL:00:00:00.000`;
  const body = cues
    .filter((cue) => cue.start < window.end && cue.end > window.start)
    .map((cue) =>
      [...(cue.id ? [cue.id] : []), `${formatTime(cue.start)} --> ${formatTime(cue.end)}${cue.settings ? ` ${cue.settings}` : ''}`, cue.payload].join('\n'),
    );
  // A blank line ends the header and every cue block (WebVTT §4.1).
  return `${[header, ...body].join('\n\n')}\n`;
}

export function parseTime(text: string): number {
  const parts = text.split(':').map(Number);
  return parts.reduce((sum, part) => sum * 60 + part, 0);
}

export function formatTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}
