/**
 * The instructions sent with each kind's media. PROMPT_VERSION is recorded on every tagged asset, so tags made by
 * different prompts can be told apart and re-run selectively; bump it with any change to the text or the schemas.
 */
import type { MediaKind } from '../../shared/domain/asset.ts';

export const PROMPT_VERSION = '2';

const COMMON =
  'Answer only with JSON matching the response schema. Describe only what is actually present; ' +
  'do not guess names of people, brands or places you cannot read or clearly recognise. Use lower-case English labels.';

const PROMPTS: Readonly<Record<MediaKind, string>> = {
  image: `You are tagging an image for a media library. The attached picture is a downscaled copy of it. ${COMMON}`,
  audio: `You are tagging an audio file for a media library. The attached clip is a representative excerpt of it, not the whole file; a picture, when attached, is the file's cover art: use it as context, but describe what is heard. ${COMMON}`,
  video: `You are tagging a video for a media library. The first picture is its poster frame; any further pictures are storyboard sheets: grids of frames sampled at regular intervals, read left to right, top to bottom. ${COMMON}`,
};

export function promptFor(kind: MediaKind): string {
  return PROMPTS[kind];
}
