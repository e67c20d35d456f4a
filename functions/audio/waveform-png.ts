/**
 * A PNG render of the waveform peaks: one column per output pixel, filled from the lowest min to the highest max
 * of the peaks it covers, on a transparent background. Encoded here with zlib (PNG is a zlib stream in chunks with
 * CRCs, ISO/IEC 15948), so the render is byte-for-byte deterministic and needs no image library.
 */
import { crc32, deflateSync } from 'node:zlib';
import type { WaveformJson } from './waveform.ts';

/** The waveform's colour, opaque: a mid blue that reads on light and dark page backgrounds. */
const COLOUR = [0x3b, 0x82, 0xf6, 0xff] as const;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** IHDR: 8 bits per channel, colour type 6 (RGBA), deflate, adaptive filtering, no interlace. */
const BIT_DEPTH = 8;
const COLOUR_TYPE_RGBA = 6;

export function renderWaveformPng(waveform: WaveformJson, width: number, height: number): Buffer {
  const stride = width * 4 + 1;
  const raster = Buffer.alloc(stride * height);
  const full = waveform.bits === 8 ? 128 : 32768;
  const middle = (height - 1) / 2;
  const toY = (value: number): number => Math.round(middle - (value / full) * middle);
  for (let x = 0; x < width && waveform.length > 0; x++) {
    const from = Math.floor((x * waveform.length) / width);
    const to = Math.max(from + 1, Math.floor(((x + 1) * waveform.length) / width));
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let pixel = from; pixel < to && pixel < waveform.length; pixel++) {
      min = Math.min(min, waveform.data[pixel * 2]!);
      max = Math.max(max, waveform.data[pixel * 2 + 1]!);
    }
    // Even digital silence draws the centre line, so an empty track still shows where it is.
    const top = clamp(toY(max), 0, height - 1);
    const bottom = clamp(toY(min), top, height - 1);
    for (let y = top; y <= bottom; y++) raster.set(COLOUR, y * stride + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([BIT_DEPTH, COLOUR_TYPE_RGBA, 0, 0, 0], 8);
  // Every row keeps filter type 0 (None), the zero already at the start of each stride.
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raster)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
