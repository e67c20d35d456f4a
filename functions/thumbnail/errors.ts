/**
 * What the thumbnail step can say is wrong with an input, in words ops can act on. Decoder failures caused by the
 * file are permanent; anything else (out of memory, a timeout on a starved machine) stays transient and is retried.
 */
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { describePixels, formatPixels } from '../../shared/media/image-limits.ts';

export { formatPixels };

/**
 * Checked on the header alone, before a single pixel is decoded: a 3.8 Gpx PNG can be a few MB of zeros (a
 * decompression bomb), and decoding it would take minutes and gigabytes before any limit inside the decoder fired.
 */
export function assertWithinBudget(width: number, height: number, frames: number, budget: number): void {
  if (width * height * frames <= budget) return;
  throw new PermanentError(PermanentErrorCode.IMAGE_TOO_LARGE, `${describePixels(width, height, frames)} exceeds the ${formatPixels(budget)} budget`);
}

/** libvips loaders name themselves at the start of their messages ("VipsJpeg: …", "gifload: …", "heifload: …"). */
const DECODER_FAILURE = /^(Vips\w+:|\w+load(_source|_buffer)?:|Input (file|buffer) has corrupt header|Input (file|buffer) is missing|Image to composite)/;
const UNSUPPORTED = /^Input (file|buffer) contains unsupported image format/;

/** True when sharp could not identify the format at all, so another decoder (ffmpeg) may still read it. */
export function isUnsupportedFormat(error: unknown): boolean {
  return error instanceof Error && UNSUPPORTED.test(error.message);
}

/** Turns sharp's errors about the input into PermanentErrors; returns anything else unchanged. */
export function classifySharpError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof PermanentError) return error;
  const message = error.message.trim();
  if (message.includes('exceeds pixel limit'))
    return new PermanentError(PermanentErrorCode.IMAGE_TOO_LARGE, `the decoder refused the image: ${message}`, { cause: error });
  if (UNSUPPORTED.test(message)) return new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'no image decoder recognises this file', { cause: error });
  if (DECODER_FAILURE.test(message))
    return new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, `the image cannot be decoded: ${firstLine(message)}`, { cause: error });
  return error;
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).slice(0, 300);
}
