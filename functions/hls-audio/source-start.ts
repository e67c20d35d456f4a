/**
 * When the source's audio and video start, relative to the file's start (the zero of -start_at_zero): the
 * reference the package step's A/V sync check compares the HLS streams against. Read from the headers only.
 */
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { quietArgs } from '../../shared/media/hls/ffmpeg.ts';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';

export interface SourceStarts {
  readonly audioSeconds: number;
  readonly videoSeconds: number | null;
}

type ProbeStarts = { format?: { start_time?: string }; streams?: { index?: number; start_time?: string }[] };

export async function sourceStarts(
  ffprobe: string,
  source: MediaInput,
  audioIndex: number,
  videoIndex: number | null,
  signal: AbortSignal,
): Promise<SourceStarts> {
  const args = [
    ...quietArgs().filter((arg) => arg !== '-nostdin' && arg !== '-nostats'),
    '-print_format',
    'json',
    '-show_entries',
    'format=start_time:stream=index,start_time',
    ...inputArgs(source),
  ];
  const run = await settleRun(runTool(ffprobe, args, { tool: 'ffprobe', label: 'ffprobe of stream start times', signal, stdout: true }), {
    what: 'the source could not be read',
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

/**
 * The zero of this pipeline's HLS timeline is the file's start, which the video shards and this step each reach
 * through ffmpeg's -copyts -start_at_zero with only their own stream mapped. For MP4 and Matroska that zero is
 * the file's (each stream keeps its real start); an MPEG-TS states none, so each stream read alone starts at 0.
 * The shift puts the audio back at its real distance from the video: (real audio − real video start) less
 * (where each lands read alone). Zero for MP4/MKV; for a TS whose audio leads the video by 0.2 s, −0.2 s.
 */
export function alignShiftSeconds(starts: SourceStarts, alone: { readonly audio: number; readonly video: number | null } | undefined): number {
  if (!alone || alone.video === null || starts.videoSeconds === null) return 0;
  return starts.audioSeconds - starts.videoSeconds - (alone.audio - alone.video);
}
