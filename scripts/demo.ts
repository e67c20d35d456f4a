/**
 * `npm run demo`: makes sample media with ffmpeg (a photo, 30 s of music-like stereo audio, 20 s of video with
 * sound), runs the whole pipeline on them in the embedded runtime, and says where the results are.
 * MEDIAFLOW_DATA_DIR chooses the output folder (default ./mediaflow-data). Exit codes follow the CLI's: 0 all
 * READY, 1 some asset not READY, 2 a configuration problem such as ffmpeg missing.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../shared/config/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { resolveMediaTools } from '../shared/media/tools.ts';
import { jpegImage, musicLikeAudio, videoWithSound } from './sample-media/sample-media.ts';

const CONFIG_ERROR_EXIT_CODE = 2;

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const samplesDir = path.join(config.dataDir, 'samples');
  const tools = await resolveMediaTools(process.env);
  await mkdir(samplesDir, { recursive: true });
  process.stderr.write(`mediaflow demo: generating sample media with ffmpeg ${tools.versions.ffmpeg} in ${samplesDir}\n`);
  const samples = [
    await jpegImage(tools.ffmpeg, path.join(samplesDir, 'photo.jpg')),
    await musicLikeAudio(tools.ffmpeg, path.join(samplesDir, 'music.m4a'), { durationSeconds: 30 }),
    await videoWithSound(tools.ffmpeg, path.join(samplesDir, 'clip.mp4'), { durationSeconds: 20 }),
  ];

  // The demo is the CLI a user would type, run as its own process, so the demo proves the real entry point.
  const cli = path.join(import.meta.dirname, '..', 'cli', 'mediaflow.ts');
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', cli, 'process', '--out', config.dataDir, ...samples], { stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.on('exit', (exitCode) => resolve(exitCode ?? 1)));
  if (code === 0) {
    process.stdout.write(
      [
        '',
        'Where things are:',
        `  uploads (ingest bucket)   ${path.join(config.dataDir, 'buckets', config.buckets.ingest)}`,
        `  derivatives               ${path.join(config.dataDir, 'buckets', config.buckets.derivatives)}`,
        `  asset state (SQLite)      ${path.join(config.dataDir, 'state.sqlite')}`,
        `  list assets               npm run mediaflow -- status --out ${config.dataDir}`,
        `  one asset in detail       npm run mediaflow -- status --out ${config.dataDir} '<asset id>'`,
        '',
      ].join('\n'),
    );
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A missing ffmpeg or a bad setting is the user's to fix, and its message says how: a stack would bury it.
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`mediaflow demo: ${error.message}\n`);
    process.exitCode = CONFIG_ERROR_EXIT_CODE;
  },
);
