/**
 * Generated audio with known loudness, for the audio step's tests and bench. Every signal comes from lavfi sources,
 * so it is exact and needs no download; the expected measurements are stated next to each generator.
 * Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`, like scripts/lib/sample-media.ts.
 */
import { runFfmpeg as ffmpeg } from './sample-media.ts';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';

/** Generous: three minutes of synthesized music take a few seconds on a busy core. */
const BITEXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

export interface ToneOptions { durationSeconds?: number }

/**
 * EBU Tech 3341 test case 1: a 997 Hz sine at −23 dBFS peak in both channels of a stereo pair measures −23.0 LUFS.
 * 48 kHz, 24-bit WAV, so quantization stays far below the tolerance.
 */
export async function referenceTone(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 20 } = opts;
  const amplitude = 10 ** (-23 / 20);
  const sine = `${amplitude.toFixed(9)}*sin(2*PI*997*t)`;
  await ffmpeg(ffmpegPath, ['-f', 'lavfi', '-i', `aevalsrc='${sine}|${sine}':s=48000:d=${durationSeconds}`, '-c:a', 'pcm_s24le', ...BITEXACT, '-f', 'wav', outPath]);
  return outPath;
}

/**
 * A hot master: pink noise and a plucked bass, pushed into a limiter at −0.26 dBFS. About −9 LUFS integrated with
 * a true peak of about −0.2 dBTP, above its sample peak (a sample-peak limiter lets inter-sample peaks through).
 * 44.1 kHz stereo FLAC.
 */
export async function hotMaster(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 10 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.35:sample_rate=44100:duration=${durationSeconds}:seed=7`,
    '-f', 'lavfi', '-i', `aevalsrc='0.5*sin(2*PI*110*t)*exp(-3*mod(t,0.5))':s=44100:d=${durationSeconds}`,
    '-filter_complex', '[0:a]pan=stereo|c0=c0|c1=c0[noise];[1:a]pan=stereo|c0=c0|c1=c0[bass];[noise][bass]amix=inputs=2:normalize=0,volume=3dB,alimiter=limit=0.97:level=false:attack=1:release=20',
    '-c:a', 'flac', ...BITEXACT, '-f', 'flac', outPath,
  ]);
  return outPath;
}

/**
 * Quiet material with sharp transients: a room-tone bed (pink noise below 6 kHz) with a 0.3 ms 2.5 kHz click
 * peaking near −6 dBFS every 1.25 s. The bed carries the loudness (about −28 LUFS), the clicks the peaks (about −5 dBTP): reaching −14 LUFS
 * would take ~14 dB, the peaks allow ~4.
 */
export async function quietWithTransients(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 10 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.18:sample_rate=48000:duration=${durationSeconds}:seed=3`,
    '-f', 'lavfi', '-i', `aevalsrc='0.5*exp(-3000*mod(t,1.25))*sin(2*PI*2500*t+1)':s=48000:d=${durationSeconds}`,
    '-filter_complex', '[0:a]lowpass=f=6000[bed];[bed][1:a]amix=inputs=2:normalize=0,pan=stereo|c0=c0|c1=c0',
    '-c:a', 'pcm_s24le', ...BITEXACT, '-f', 'wav', outPath,
  ]);
  return outPath;
}

/**
 * 5.1 (FL FR FC LFE BL BR) that checks the downmix: 997 Hz at −20 dBFS in FC and in BL, 60 Hz at −6 dBFS in LFE,
 * the rest silent. With BS.775 coefficients (centre and surround −3 dB, LFE dropped) the stereo fold-down is
 * L = −17.0 dBFS, R = −23.0 dBFS peak, which measures −19.0 LUFS; any LFE in the mix would add several LU.
 */
export async function surround51(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 6 } = opts;
  const tone = '0.1*sin(2*PI*997*t)';
  await ffmpeg(ffmpegPath, [
    '-f', 'lavfi', '-i', `aevalsrc='0|0|${tone}|0.5*sin(2*PI*60*t)|${tone}|0':s=48000:d=${durationSeconds}:c=5.1`,
    '-c:a', 'pcm_s16le', ...BITEXACT, '-f', 'wav', outPath,
  ]);
  return outPath;
}

/** Stereo 48 kHz WAV of zeros: digital silence. */
export async function digitalSilence(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 4 } = opts;
  await ffmpeg(ffmpegPath, ['-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo:d=${durationSeconds}`, '-c:a', 'pcm_s16le', ...BITEXACT, '-f', 'wav', outPath]);
  return outPath;
}

/**
 * A music-like master for the bench: an 8 s C–G–Am–F progression of plucked triads (the pattern of
 * sample-media.ts's musicLikeAudio, rendered once and looped, since aevalsrc is slow), with quiet verses and loud
 * choruses so the preview has a loud section to find. 48 kHz stereo FLAC; about −18 LUFS, true peak about −2.8 dBTP.
 */
export async function musicMaster(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 180 } = opts;
  const bar = 'mod(floor(t/2),4)';
  const root = `if(eq(${bar},0),261.63,if(eq(${bar},1),196,if(eq(${bar},2),220,174.61)))`;
  const third = `if(eq(${bar},2),1.2,1.25)`;
  const channel = (detune: number, offset: number): string =>
    `st(0,2*PI*${detune}*${root});st(1,${third});0.25*exp(-4*mod(t+${offset},0.5))*(sin(ld(0)*t)+0.8*sin(ld(0)*ld(1)*t)+0.7*sin(ld(0)*1.5*t))+0.2*exp(-1.5*mod(t,2))*sin(ld(0)*t/(2*${detune}))`;
  // Verses 6 dB down, choruses at full level: 40 s verse, 20 s chorus, repeating.
  const sections = "volume='if(lt(mod(t,60),40),0.5,1)':eval=frame";
  await ffmpeg(ffmpegPath, [
    '-f', 'lavfi', '-i', `aevalsrc='${channel(1, 0)}|${channel(1.003, 0.25)}':channel_layout=stereo:sample_rate=48000:duration=8,aloop=loop=-1:size=${8 * 48000}`,
    '-af', `atrim=duration=${durationSeconds},${sections}`,
    '-c:a', 'flac', ...BITEXACT, '-f', 'flac', outPath,
  ]);
  return outPath;
}

/**
 * An M4A whose AAC payload is garbage: the container is intact (ffprobe reads it, ingest classifies it as audio),
 * but no frame decodes. The mdat's bytes are overwritten with a fixed pseudo-random sequence, so it is reproducible.
 */
export async function undecodableM4a(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 3 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${durationSeconds}`,
    '-c:a', 'aac', '-b:a', '128k', ...BITEXACT, '-movflags', '+faststart', '-f', 'mp4', outPath,
  ]);
  const handle = await open(outPath, 'r+');
  try {
    const { size } = await stat(outPath);
    const header = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size;) {
      await handle.read(header, 0, 8, offset);
      const boxSize = header.readUInt32BE(0);
      if (header.toString('latin1', 4, 8) === 'mdat') {
        const payload = Buffer.alloc(boxSize - 8);
        let state = 0x2545f491;
        for (let i = 0; i < payload.length; i++) {
          // xorshift32: deterministic noise with no structure an AAC decoder could sync to.
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          payload[i] = state & 0xff;
        }
        await handle.write(payload, 0, payload.length, offset + 8);
        break;
      }
      if (boxSize < 8) break;
      offset += boxSize;
    }
  } finally {
    await handle.close();
  }
  return outPath;
}

/**
 * An MPEG-TS whose audio switches from 44.1 kHz stereo to 48 kHz mono halfway, as joined captures do: two MP2
 * segments written back to back. Each half is valid; the stream as a whole changes format mid-way.
 */
export async function formatChangingTs(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 4 } = opts;
  const half = durationSeconds / 2;
  const first = `${outPath}.first.ts`;
  const second = `${outPath}.second.ts`;
  await ffmpeg(ffmpegPath, ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${half}`, '-ac', '2', '-c:a', 'mp2', ...BITEXACT, '-f', 'mpegts', first]);
  await ffmpeg(ffmpegPath, ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${half}`, '-ac', '1', '-c:a', 'mp2', ...BITEXACT, '-f', 'mpegts', second]);
  await writeFile(outPath, Buffer.concat([await readFile(first), await readFile(second)]));
  await Promise.all([rm(first), rm(second)]);
  return outPath;
}

