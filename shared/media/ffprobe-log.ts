/**
 * What ffprobe says besides its JSON. It runs with `-loglevel level+warning`, so every line carries its level:
 * errors explain a failure (probe.ts reads them as before), and two warnings say how far a container's duration
 * can be trusted, which no JSON field does:
 *  - "Estimating duration from bitrate": no index and no header count (ADTS, an MP3 without a Xing header); the
 *    duration is a guess from the first frames' bitrate;
 *  - "filesize and duration do not match": an MP3's Xing header counts more (or fewer) bytes than the file holds,
 *    as a cut-off download does.
 */

/** How the container's duration was arrived at; absent on the summary means stated by the container. */
export type DurationBasis = 'estimated' | 'inconsistent';

export interface ProbeLog {
  /** The error lines, in the form `-v error` prints them. */
  readonly errors: string;
  readonly warnings: string;
}

const LEVEL_TAG = /\[(error|fatal|panic|warning)\] ?/;

export function splitLevels(stderr: string): ProbeLog {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const line of stderr.split(/\r?\n/)) {
    const level = LEVEL_TAG.exec(line)?.[1];
    if (!level) continue;
    const text = line.replace(LEVEL_TAG, '');
    (level === 'warning' ? warnings : errors).push(text);
  }
  return { errors: errors.join('\n'), warnings: warnings.join('\n') };
}

export function durationBasis(warnings: string): DurationBasis | undefined {
  if (/filesize and duration do not match/.test(warnings)) return 'inconsistent';
  if (/Estimating duration from bitrate/.test(warnings)) return 'estimated';
  return undefined;
}

/** An ID3v2 tag's total length from its header (ID3v2.4 §3.1: a 28-bit syncsafe size after 6 bytes, plus 10, plus a footer). */
export function id3TagBytes(head: Buffer): number | undefined {
  if (head.length < 10 || head.toString('latin1', 0, 3) !== 'ID3') return undefined;
  const size = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
  const footer = (head[5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}
