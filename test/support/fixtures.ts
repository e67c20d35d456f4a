/** Generated fixtures shared by a test file: made once in beforeAll, removed in afterAll. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { jpegImage } from '../../scripts/sample-media/sample-media.ts';

export interface ImageFixture {
  /** A small JPEG (320×240), valid once beforeAll has run. */
  readonly path: string;
}

export function useImageFixture(): ImageFixture {
  let dir = '';
  const fixture = { path: '' };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-fixtures-'));
    fixture.path = await jpegImage('ffmpeg', path.join(dir, 'photo.jpg'), { width: 320, height: 240 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return fixture;
}

/** A scratch folder for one test file's generated media: made in beforeAll, removed with everything in it in afterAll. */
export function useScratchDir(prefix: string): { readonly path: string } {
  const scratch = { path: '' };
  beforeAll(async () => {
    scratch.path = await mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(scratch.path, { recursive: true, force: true });
  });
  return scratch;
}
