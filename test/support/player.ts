/**
 * A real player for the tests: Debian's Chromium, headless, driven by playwright-core (which downloads no browser),
 * playing HLS with hls.js on test/player/page.html. A missing Chromium fails with the install command: the player
 * tests are never skipped.
 */
import { access } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

/** Debian's package; MEDIAFLOW_CHROMIUM_PATH for another build (any Chromium or Chrome with H.264 and AAC). */
const DEFAULT_CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_INSTALL_HINT =
  'the player tests need Chromium: Debian/Ubuntu `apt-get update && apt-get install -y chromium` (or set MEDIAFLOW_CHROMIUM_PATH)';
/**
 * Headless as root on a machine with no network: no sandbox (root), and nothing that phones home, whose refused
 * connections otherwise pile up at every start. Autoplay without a gesture: nobody clicks in a test.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];
/** How often the test looks at the page's report while a clip plays. */
const POLL_MS = 100;

export interface PlayerError {
  readonly type: string;
  readonly details: string;
  readonly fatal: boolean;
  readonly reason: string;
}

/** What test/player/page.html records (window.playerReport). */
export interface PlaybackReport {
  readonly hlsVersion: string;
  readonly levels: readonly { width: number; height: number; bitrate: number; videoCodec: string; audioCodec: string; videoRange: string }[];
  readonly audioTracks: readonly { name: string; lang: string; default: boolean; groupId: string }[];
  readonly selectedAudioTrack: number;
  /** hls.audioTrack whenever an audio fragment was buffered. */
  readonly playedAudioTracks: readonly number[];
  /** Every Hls.Events.ERROR except the holes, fatal or not. */
  readonly errors: readonly PlayerError[];
  /** Hls.Events.ERROR with details bufferSeekOverHole: the gap controller jumped (or nudged over) a hole. */
  readonly holes: readonly (PlayerError & { at: number })[];
  /** hls.js's log line for a start hole below maxBufferHole, which it closes by starting later, with no event. */
  readonly startAdjustments: readonly string[];
  readonly warnings: readonly string[];
  /** Per SourceBuffer ('video', 'audio', 'audiovideo'): where its media started after the first append. */
  readonly firstBuffered: Readonly<Record<string, number>>;
  /** videoWidth × videoHeight at each 'resize' of the <video>. */
  readonly sizes: readonly { width: number; height: number; at: number }[];
  readonly videoError: { code: number; message: string } | null;
  readonly ended: boolean;
  readonly currentTime: number;
  readonly duration: number;
  readonly done: boolean;
}

export interface Player {
  /** Opens the page and waits until the clip ends, fails, or `timeoutMs` passes; resolves with the report either way. */
  play(pageUrl: string, timeoutMs: number): Promise<PlaybackReport & { timedOut: boolean }>;
  close(): Promise<void>;
}

export async function launchPlayer(env: NodeJS.ProcessEnv = process.env): Promise<Player> {
  const executablePath = env.MEDIAFLOW_CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  try {
    await access(executablePath);
  } catch {
    throw new Error(`no Chromium at ${executablePath}: ${CHROMIUM_INSTALL_HINT}`);
  }
  let browser: Browser;
  try {
    // launch() (not launchPersistentContext) gives every run a new empty profile of its own, removed at close.
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  } catch (error) {
    throw new Error(`Chromium at ${executablePath} did not start (${CHROMIUM_INSTALL_HINT})`, { cause: error });
  }
  return {
    async play(pageUrl, timeoutMs) {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
      try {
        await page.goto(pageUrl);
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const report = await page.evaluate(() => (globalThis as unknown as { playerReport: PlaybackReport }).playerReport);
          if (pageErrors.length > 0) throw new Error(`the player page failed: ${pageErrors.join('; ')}`);
          if (report.done || Date.now() > deadline) return { ...report, timedOut: !report.done };
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } finally {
        await page.close();
      }
    },
    close: () => browser.close(),
  };
}
