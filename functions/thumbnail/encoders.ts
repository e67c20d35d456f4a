/**
 * Encoding one rendition from decoded pixels. Nothing is written but pixels: sharp drops EXIF (GPS included),
 * XMP, IPTC and ICC unless asked, and the pixels are already sRGB, which browsers assume for untagged images
 * (CSS Color 4 §10), so no profile is embedded either.
 */
import type { Sharp } from 'sharp';
import type { EncoderSettings, StillFormat } from './profiles.ts';
import { PIPELINE_TIMEOUT_SECONDS, sharp } from './sharp.ts';

export const FORMAT_INFO: Readonly<Record<StillFormat, { extension: string; contentType: string }>> = {
  avif: { extension: 'avif', contentType: 'image/avif' },
  webp: { extension: 'webp', contentType: 'image/webp' },
  jpeg: { extension: 'jpg', contentType: 'image/jpeg' },
};

/** Decoded pixels: 8-bit, unpremultiplied, sRGB (3 or 4 channels) or grey (1 or 2). */
export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
}

export interface EncodeOptions {
  readonly background: { r: number; g: number; b: number };
  /** EXIF to write (the profile's 'rights' fields); undefined writes none. */
  readonly exif?: Readonly<Record<string, string>>;
}

export function encode(image: RawImage, settings: EncoderSettings, options: EncodeOptions): Promise<Buffer> {
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).timeout({
    seconds: PIPELINE_TIMEOUT_SECONDS,
  });
  const grey = image.channels <= 2;
  const alpha = image.channels === 2 || image.channels === 4;
  if (options.exif) pipeline = pipeline.withExif({ IFD0: options.exif });
  return formatted(pipeline, settings, grey, alpha, options.background).toBuffer();
}

function formatted(pipeline: Sharp, settings: EncoderSettings, grey: boolean, alpha: boolean, background: EncodeOptions['background']): Sharp {
  switch (settings.format) {
    case 'avif':
      // 4:2:0 as every other web format; sharp defaults AVIF to 4:4:4, which costs 1.5× the CPU for chroma detail
      // no thumbnail shows.
      return pipeline.avif({ quality: settings.quality, effort: settings.effort, chromaSubsampling: '4:2:0' });
    case 'webp':
      return pipeline.webp({ quality: settings.quality, effort: settings.effort });
    case 'jpeg': {
      const opaque = alpha ? pipeline.flatten({ background }) : pipeline;
      // Grey stays grey: a one-channel JPEG, instead of sharp's default conversion to three equal channels.
      return (grey ? opaque.toColourspace('b-w') : opaque).jpeg({ quality: settings.quality, progressive: true, optimiseCoding: true, mozjpeg: false });
    }
  }
}
