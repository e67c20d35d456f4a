/**
 * Animated GIF and WebP become animated WebP: typically a quarter of the GIF's bytes, with full colour and alpha
 * where GIF has 256 colours and 1-bit transparency. Frame timing and the loop count are kept.
 *
 * Each size decodes every frame again rather than cascading from a decoded copy: GIF decoding is cheap next to
 * WebP encoding, and a decoded copy of a long animation would hold frames × width × height × 4 bytes in memory.
 */
import { assertWithinBudget } from './errors.ts';
import type { SourceFacts } from './inspect.ts';
import type { AnimationSettings } from './profiles.ts';
import type { EncodedRendition } from './renditions.ts';
import { PIPELINE_TIMEOUT_SECONDS, sharp } from './sharp.ts';
import { fitLongEdge, targetSizes } from './sizes.ts';

export async function renderAnimations(path: string, facts: SourceFacts, settings: AnimationSettings, maxInputPixels: number): Promise<EncodedRendition[]> {
  // Every frame is decoded, so the budget counts them all: 5,000 frames of 1080p is a bomb too.
  assertWithinBudget(facts.width, facts.height, facts.frames, maxInputPixels);
  const renditions: EncodedRendition[] = [];
  for (const size of targetSizes(settings.sizes, facts.display)) {
    const { width, height } = fitLongEdge(facts.display, size);
    const data = await sharp(path, { animated: true, limitInputPixels: maxInputPixels, failOn: 'error' })
      .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .webp({ quality: settings.quality, effort: settings.effort, loop: facts.loop, ...(facts.delay.length > 0 ? { delay: [...facts.delay] } : {}) })
      .toBuffer();
    renditions.push({ size, width, height, format: 'webp', data });
  }
  return renditions;
}
