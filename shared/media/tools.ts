/**
 * Locates ffmpeg and ffprobe once at cold start and proves they run, so a bad image or a typo in FFMPEG_PATH
 * fails the deploy loudly instead of failing every message later.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, TransientError } from '../errors.ts';

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
  versions: { ffmpeg: string; ffprobe: string };
  /**
   * The demuxers a stored source may be opened with, for -format_whitelist: every one this build has except those
   * that open further URLs named inside the file (HLS and DASH playlists, concat scripts, IMF, SDP/RTSP/RTP) and
   * capture devices. A source served over loopback HTTP needs the http protocol allowed, and an uploaded
   * playlist would otherwise make the worker fetch any URL it names (SSRF).
   */
  sourceDemuxers: string;
}

/** Demuxers that read URLs out of the file and open them; a source is one file, so none of them may read one. */
export const URL_FOLLOWING_DEMUXERS: ReadonlySet<string> = new Set(['hls', 'dash', 'concat', 'imf', 'sdp', 'rtsp', 'rtp', 'webm_dash_manifest']);

type Env = Readonly<Record<string, string | undefined>>;
type ToolName = 'ffmpeg' | 'ffprobe';

/** `-version` only prints build info; anything slower than this is a wedged binary or a starved machine. */
const VERSION_TIMEOUT_MS = 15_000;
const INSTALL_HINT = 'install it (e.g. `apt-get install -y ffmpeg`) or set FFMPEG_PATH/FFPROBE_PATH';

/** A candidate path and how it was found, so the error can say exactly what was tried. */
interface Candidate {
  path: string;
  source: string;
}

export async function resolveMediaTools(env: Env): Promise<MediaTools> {
  const fromStatic = await ffmpegStaticPath();
  const ffmpeg = await resolveTool('ffmpeg', env, fromStatic ? [{ path: fromStatic, source: 'the ffmpeg-static package' }] : []);
  // Distributions and static builds ship the pair side by side; ffmpeg-static does not ship ffprobe, hence PATH next.
  const besideFfmpeg = { path: join(dirname(ffmpeg.path), 'ffprobe'), source: `next to ffmpeg in ${dirname(ffmpeg.path)}` };
  const ffprobe = await resolveTool('ffprobe', env, [besideFfmpeg]);
  const [demuxers, devices] = await Promise.all([listFormats(ffmpeg.path, '-demuxers'), listFormats(ffmpeg.path, '-devices')]);
  return {
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    versions: { ffmpeg: ffmpeg.version, ffprobe: ffprobe.version },
    sourceDemuxers: demuxers.filter((name) => !URL_FOLLOWING_DEMUXERS.has(name) && !devices.includes(name)).join(','),
  };
}

/**
 * The first name of every input format `ffmpeg -demuxers` (or `-devices`) lists. A demuxer with several names
 * ("mov,mp4,m4a,…") is matched by any of them in a whitelist, so the first is enough.
 */
async function listFormats(ffmpeg: string, flag: '-demuxers' | '-devices'): Promise<string[]> {
  const stdout = await runForOutput(ffmpeg, ['-hide_banner', flag], `ffmpeg ${flag}`);
  const names: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^ D\S?\s+(\S+)/.exec(line);
    const first = match?.[1]?.split(',')[0];
    if (first) names.push(first);
  }
  if (flag === '-demuxers' && names.length === 0) throw new ConfigError(`${ffmpeg} ${flag} listed no demuxers; ${INSTALL_HINT}`);
  return names;
}

/**
 * Order: the explicit variable (which is final: silently falling back would hide a bad deploy), then the given
 * candidates, then PATH. A candidate that is missing is skipped; one that exists but will not run is an error.
 */
async function resolveTool(name: ToolName, env: Env, candidates: Candidate[]): Promise<{ path: string; version: string }> {
  const variable = name === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const explicit = env[variable];
  if (explicit) {
    const path = isAbsolute(explicit) || explicit.includes('/') ? resolve(explicit) : await findOnPath(explicit, env.PATH);
    if (!path || !(await isExecutableFile(path))) {
      throw new ConfigError(`${variable}=${explicit} is not an executable file; fix it or unset it to search PATH`);
    }
    return { path, version: await readVersion(name, path, variable) };
  }

  const tried: string[] = [];
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate.path)) {
      return { path: candidate.path, version: await readVersion(name, candidate.path, candidate.source) };
    }
    tried.push(`${candidate.path} (${candidate.source})`);
  }
  const onPath = await findOnPath(name, env.PATH);
  if (onPath) return { path: onPath, version: await readVersion(name, onPath, 'PATH') };
  tried.push(`\`${name}\` on PATH (${env.PATH ? env.PATH : 'PATH is empty'})`);
  throw new ConfigError(`${name} not found; tried ${variable} (unset), ${tried.join(', ')}; ${INSTALL_HINT}`);
}

/** ffmpeg-static is an optional extra, not a dependency: its default export is the binary path, or null off its platforms. */
async function ffmpegStaticPath(): Promise<string | undefined> {
  // A variable specifier keeps TypeScript and bundlers from insisting that the package exists.
  const specifier = 'ffmpeg-static';
  try {
    const module = (await import(specifier)) as { default?: unknown };
    return typeof module.default === 'string' && module.default !== '' ? module.default : undefined;
  } catch {
    return undefined;
  }
}

async function findOnPath(name: string, pathVariable: string | undefined): Promise<string | undefined> {
  // Empty PATH entries mean "the current directory" to a shell; a worker should never run a binary from its cwd.
  const dirs = (pathVariable ?? '').split(delimiter).filter((dir) => dir !== '' && isAbsolute(dir));
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await isExecutableFile(path)) return path;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `<tool> -version` and returns the token after "version", e.g. "5.1.9-0+deb12u1". */
async function readVersion(name: ToolName, path: string, source: string): Promise<string> {
  const stdout = await runForOutput(path, ['-version'], `${name} at ${path} (from ${source})`);
  // The banner names the program first, which also catches FFPROBE_PATH pointing at ffmpeg or vice versa.
  const match = new RegExp(`^${name} version (\\S+)`, 'm').exec(stdout);
  if (!match?.[1]) {
    const firstLine = stdout.split('\n', 1)[0]?.trim() ?? '';
    throw new ConfigError(`${path} (from ${source}) is not ${name}: \`-version\` printed "${firstLine.slice(0, 120)}"; ${INSTALL_HINT}`);
  }
  return match[1];
}

/** A listing or version query: seconds at most, and a failure to run is a broken install. */
function runForOutput(path: string, args: readonly string[], what: string): Promise<string> {
  return new Promise<string>((resolvePromise, reject) => {
    execFile(path, args, { timeout: VERSION_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, windowsHide: true }, (error, out) => {
      if (!error) return resolvePromise(out);
      if (error.killed) return reject(new TransientError('MEDIA_TOOL_TIMEOUT', `${path} ${args.join(' ')} did not finish within ${VERSION_TIMEOUT_MS} ms`));
      reject(new ConfigError(`${what} does not run: ${error.message.trim()}; ${INSTALL_HINT}`));
    });
  });
}
