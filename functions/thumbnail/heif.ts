/**
 * HEIC (HEVC-coded HEIF, the iPhone's default) for the thumbnail step. sharp's prebuilt libvips reads AVIF but has
 * no HEVC decoder (sharp.format.heif lists only .avif), so a HEIC is decoded by libheif's own tools from Debian
 * (libheif-examples: heif-convert; heif-thumbnailer), in a child process, into a picture sharp reads; AVIF keeps
 * going straight to sharp. Measured on a 4032×3024 HEIC (2 vCPU): heif-convert to JPEG q100 took 1.4 s at 89 MB
 * peak RSS, to PNG 4.4 s at 124 MB (zlib is most of it); heic-decode (libheif in WebAssembly) took 1.5 s on the
 * worker's own thread and left its heap 200 MB bigger for good. A child also takes a decoder crash with it.
 *
 * What libheif does for us: assembles grids (iPhone photos are 8×6 tiles of 512×512), applies irot/imir/clap,
 * decodes only the primary image (auxiliary depth maps and gain maps are never written without --with-aux), and
 * copies the ICC profile into its output. Orientation: HEIF shows rotation with irot, which libheif applies; an
 * EXIF Orientation in a HEIF is informative only (MIAF), and iPhones write both, so it is not applied again.
 */
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { ConfigError, PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
// libheif is not ffmpeg and keeps its own runner (a stuck decode is the input's fault here), but crashes are the same signals.
import { CRASH_SIGNALS } from '../../shared/media/ffmpeg/exit.ts';
import { readHeifHeader, type HeifHeader } from '../../shared/media/heif.ts';
import { withFileBytes } from '../../shared/media/input.ts';
import { inspectImage, type SourceFacts } from './inspect.ts';
import { sharp } from './sharp.ts';
import { meterChild } from '../../shared/media/ffmpeg/usage.ts';

/** A 12 Mpx HEIC decodes in ~1.4 s and the pixel budget allows ~22× that; past this the decoder is stuck, not slow. */
export const HEIC_DECODE_TIMEOUT_MS = 120_000;
/** JPEG at quality 100 from libheif's 4:2:0 planes: 49 dB PSNR against a lossless PNG, invisible after any downscale. */
const JPEG_QUALITY = 100;
const MAX_STDERR_BYTES = 1024 * 1024;
/** H.273 ColourPrimaries 12: P3-D65 (Display P3 with the sRGB curve, as Apple writes it in nclx). */
const NCLX_P3_D65 = 12;
/** Debian packages the tools come from, for the message a missing tool gives. */
const HEIF_PACKAGES = { 'heif-convert': 'libheif-examples', 'heif-thumbnailer': 'heif-thumbnailer' } as const;

export interface HeicDecode {
  /** A JPEG (PNG when the image has alpha) of the primary image as shown, its colour profile attached. */
  readonly path: string;
  /** Facts of that picture, for decodeMaster: already oriented, so orientation 1; EXIF of the HEIC itself. */
  readonly facts: SourceFacts;
}

/**
 * The header of a HEIF whose primary image is HEVC, which sharp cannot decode itself; undefined for anything else.
 * Throws IMAGE_TOO_LARGE when its grid's tiles, not only its shown size, exceed `budget`.
 */
export async function isHeic(source: string, facts: Pick<SourceFacts, 'format'>, budget: number): Promise<HeifHeader | undefined> {
  if (facts.format !== 'heif') return undefined;
  const header = await withFileBytes(source, (bytes) => readHeifHeader(bytes, budget));
  return header?.codec === 'hevc' ? header : undefined;
}

/** Decodes the primary image of the HEIC `source` (already inspected and within budget) into scratch. */
export async function decodeHeic(source: string, header: HeifHeader, facts: SourceFacts, scratchDir: string, signal: AbortSignal): Promise<HeicDecode> {
  const extension = facts.hasAlpha ? 'png' : 'jpg';
  let out = path.join(scratchDir, `heic.${extension}`);
  if (header.otherTopLevelImages === 0) {
    await runLibheif('heif-convert', ['--quiet', '-q', String(JPEG_QUALITY), source, out], signal);
  }
  // heif-convert writes every top-level image (name-1, name-2, …) in an order that does not say which is primary;
  // heif-thumbnailer -p decodes only the primary, into a PNG, unscaled when -s is at least its long edge.
  if (header.otherTopLevelImages > 0 || !(await exists(out))) {
    out = path.join(scratchDir, 'heic-primary.png');
    await runLibheif('heif-thumbnailer', ['-p', '-s', String(Math.max(header.width, header.height)), source, out], signal);
  }
  if (!header.colour.icc && header.colour.nclx?.primaries === NCLX_P3_D65) await attachP3Profile(out);
  const decoded = await inspectImage(out, Number.MAX_SAFE_INTEGER);
  return {
    path: out,
    facts: { ...decoded, format: facts.format, orientation: 1, display: { width: decoded.width, height: decoded.height }, exif: facts.exif },
  };
}

function runLibheif(tool: keyof typeof HEIF_PACKAGES, args: readonly string[], signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    // libheif's tools are charged to the step's run like ffmpeg is.
    const child = execFile(
      tool,
      args,
      { timeout: HEIC_DECODE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: MAX_STDERR_BYTES, signal, windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) return resolve();
        if (signal.aborted) return reject(signal.reason as Error);
        if (error.code === 'ENOENT' || error.code === 'EACCES') {
          return reject(new ConfigError(`${tool} cannot be started (${String(error.code)}); install Debian's ${HEIF_PACKAGES[tool]} to decode HEIC`));
        }
        // A corrupt HEVC payload makes libde265 fail fast or crash; a decode this long is stuck on the input too.
        if (error.killed)
          return reject(
            new PermanentError(
              PermanentErrorCode.CORRUPT_MEDIA,
              `the HEIC could not be decoded: libheif did not finish within ${HEIC_DECODE_TIMEOUT_MS / 1000} s`,
            ),
          );
        if (error.signal && CRASH_SIGNALS.has(error.signal)) {
          return reject(new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, `the HEIC could not be decoded: libheif crashed (${error.signal})`));
        }
        const detail = `${stderr}\n${stdout}`
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '' && !/^(File contains|Written to)/.test(line));
        reject(
          new PermanentError(
            PermanentErrorCode.CORRUPT_MEDIA,
            `the HEIC could not be decoded: ${detail.slice(0, 2).join('; ').slice(0, 300) || `${tool} exited with code ${String(error.code)}`}`,
            { cause: error },
          ),
        );
      },
    );
    meterChild(child);
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * A HEIC that states Display P3 only in nclx code points (no ICC profile) decodes to P3 numbers in a file that says
 * nothing, which sharp would read as sRGB (dull colours). libvips' own Display P3 profile is attached instead,
 * so the usual ICC → sRGB conversion applies.
 */
async function attachP3Profile(file: string): Promise<void> {
  const icc = await p3Profile();
  const data = await readFile(file);
  await writeFile(file, file.endsWith('.png') ? withPngProfile(data, icc) : withJpegProfile(data, icc));
}

let p3: Promise<Buffer> | undefined;
function p3Profile(): Promise<Buffer> {
  p3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then((png) => sharp(png).metadata())
    .then((meta) => {
      if (!meta.icc) throw new Error("libvips has no built-in 'p3' profile");
      return meta.icc;
    });
  return p3;
}

/** An APP2 ICC_PROFILE segment, chunk 1 of 1 (ICC.1:2010 Annex B.4), right after SOI. */
function withJpegProfile(jpeg: Buffer, icc: Buffer): Buffer {
  const header = Buffer.from('ICC_PROFILE\0\x01\x01', 'latin1');
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xffe2, 0);
  segment.writeUInt16BE(2 + header.length + icc.length, 2);
  return Buffer.concat([jpeg.subarray(0, 2), segment, header, icc, jpeg.subarray(2)]);
}

/** An iCCP chunk (PNG 1.2 §4.2.2.4) right after IHDR; chunk CRCs cover the type and the data. */
function withPngProfile(png: Buffer, icc: Buffer): Buffer {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const data = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), zlib.deflateSync(icc)]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write('iCCP', 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))), 0);
  return Buffer.concat([png.subarray(0, ihdrEnd), head, data, crc, png.subarray(ihdrEnd)]);
}
