/**
 * What a media tool reads, and the only protocols it may use to read it: ffmpeg follows URLs found inside media
 * (HLS playlists, reference movies, concat lists), so every input names its protocols and nothing else is allowed.
 */
export interface MediaInput {
  readonly url: string;
  /** ffmpeg's -protocol_whitelist for this input. */
  readonly protocols: string;
}

/** `file:` stops a name like "concat:a|b" or "-x" from being read as a protocol or an option. */
export function fileInput(path: string): MediaInput {
  return { url: `file:${path}`, protocols: 'file' };
}

/** The arguments that open `input`, placed after the input options they follow. */
export function inputArgs(input: MediaInput): string[] {
  return ['-protocol_whitelist', input.protocols, '-i', input.url];
}
