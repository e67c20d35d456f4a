/**
 * When the source's audio and video start, relative to the file's start (the zero of -start_at_zero): the
 * reference the package step's A/V sync check compares the HLS streams against. Read from the headers only.
 */
import { PermanentErrorCode } from '../../shared/errors.ts';
import { classifyFailure, quietArgs, runTool } from '../../shared/media/hls/ffmpeg.ts';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';

export interface SourceStarts {
  readonly audioSeconds: number;
  readonly videoSeconds: number | null;
}

type ProbeStarts = { format?: { start_time?: string }; streams?: { index?: number; start_time?: string }[] };

export async function sourceStarts(ffprobe: string, source: MediaInput, audioIndex: number, videoIndex: number | null, signal: AbortSignal): Promise<SourceStarts> {
  const args = [...quietArgs().filter((arg) => arg !== '-nostdin' && arg !== '-nostats'), '-print_format', 'json', '-show_entries', 'format=start_time:stream=index,start_time', ...inputArgs(source)];
  const run = await runTool(ffprobe, args, { label: 'ffprobe of stream start times', signal, stdout: true }).catch((error: unknown) => {
    throw classifyFailure(error, PermanentErrorCode.CORRUPT_MEDIA, 'the source could not be read');
  });
  const json = JSON.parse(run.stdout) as ProbeStarts;
  const zero = seconds(json.format?.start_time) ?? 0;
  const startOf = (index: number): number | undefined => {
    const start = seconds(json.streams?.find((stream) => stream.index === index)?.start_time);
    return start === undefined ? undefined : start - zero;
  };
  return { audioSeconds: startOf(audioIndex) ?? 0, videoSeconds: videoIndex === null ? null : (startOf(videoIndex) ?? 0) };
}

function seconds(value: string | undefined): number | undefined {
  const parsed = value === undefined ? Number.NaN : Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}
