/**
 * Storyboards for scrubbing: tiles laid out in sprite sheets, and a WebVTT track whose cues point into them with
 * media fragments (`sheet.jpg#xywh=x,y,w,h`, W3C Media Fragments URI 1.0 §4.2.1), the form video.js, Plyr, JW
 * Player and Vidstack read. Pure, apart from the pixels it copies.
 */
import type { RawImage } from './encoders.ts';
import type { StoryboardSettings } from './profiles.ts';
import { fitLongEdge, type Dimensions } from './sizes.ts';

export interface StoryboardPlan {
  readonly intervalSeconds: number;
  readonly tiles: number;
  readonly tile: Dimensions;
  /**
   * Long videos decode only keyframes: a tile every ten seconds or more does not need the exact frame, and decoding
   * a two-hour film in full would take longer than the step may run.
   */
  readonly keyframesOnly: boolean;
}

/** From this interval on, the nearest keyframe is close enough to stand for the tile. */
export const KEYFRAMES_ONLY_FROM_SECONDS = 10;

export function planStoryboard(durationSeconds: number, display: Dimensions, settings: StoryboardSettings): StoryboardPlan {
  const intervalSeconds = Math.max(settings.minIntervalSeconds, Math.ceil(durationSeconds / settings.maxTiles));
  return {
    intervalSeconds,
    tiles: Math.max(1, Math.ceil(durationSeconds / intervalSeconds)),
    tile: fitLongEdge(display, Math.min(settings.tileSize, Math.max(display.width, display.height))),
    keyframesOnly: intervalSeconds >= KEYFRAMES_ONLY_FROM_SECONDS,
  };
}

/** Tile k shows the first frame at or after the middle of its interval: what it stands for, not its first instant. */
export function tileTime(index: number, intervalSeconds: number): number {
  return (index + 0.5) * intervalSeconds;
}

export interface SheetLayout {
  readonly columns: number;
  readonly rows: number;
}

/** Packs `count` RGB24 tiles into sheets of at most columns × rowsPerSheet, row by row. */
export function composeSheets(tiles: Buffer, count: number, tile: Dimensions, settings: Pick<StoryboardSettings, 'columns' | 'rowsPerSheet'>): RawImage[] {
  const perSheet = settings.columns * settings.rowsPerSheet;
  const tileBytes = tile.width * tile.height * 3;
  const sheets: RawImage[] = [];
  for (let first = 0; first < count; first += perSheet) {
    const inSheet = Math.min(perSheet, count - first);
    const { columns, rows } = sheetLayout(inSheet, settings.columns);
    const width = columns * tile.width;
    const sheet = Buffer.alloc(width * rows * tile.height * 3);
    for (let index = 0; index < inSheet; index += 1) {
      const left = (index % columns) * tile.width;
      const top = Math.floor(index / columns) * tile.height;
      const source = (first + index) * tileBytes;
      for (let y = 0; y < tile.height; y += 1) {
        const from = source + y * tile.width * 3;
        tiles.copy(sheet, ((top + y) * width + left) * 3, from, from + tile.width * 3);
      }
    }
    sheets.push({ data: sheet, width, height: rows * tile.height, channels: 3 });
  }
  return sheets;
}

export function sheetLayout(tilesInSheet: number, columns: number): SheetLayout {
  return { columns: Math.min(columns, tilesInSheet), rows: Math.ceil(tilesInSheet / columns) };
}

/** The thumbnails track. Sheet names are relative, so the track works wherever the folder is served from. */
export function webvtt(
  count: number,
  intervalSeconds: number,
  durationSeconds: number,
  tile: Dimensions,
  settings: Pick<StoryboardSettings, 'columns' | 'rowsPerSheet'>,
  sheetName: (sheet: number) => string,
): string {
  const perSheet = settings.columns * settings.rowsPerSheet;
  const cues = ['WEBVTT', ''];
  for (let index = 0; index < count; index += 1) {
    const start = index * intervalSeconds;
    const end = index === count - 1 ? Math.max(durationSeconds, start + 0.001) : (index + 1) * intervalSeconds;
    const inSheet = index % perSheet;
    const columns = sheetLayout(Math.min(perSheet, count - (index - inSheet)), settings.columns).columns;
    const x = (inSheet % columns) * tile.width;
    const y = Math.floor(inSheet / columns) * tile.height;
    cues.push(`${timestamp(start)} --> ${timestamp(end)}`, `${sheetName(Math.floor(index / perSheet))}#xywh=${x},${y},${tile.width},${tile.height}`, '');
  }
  return cues.join('\n');
}

/** WebVTT timestamps (W3C WebVTT §4.5): hh:mm:ss.ttt. */
export function timestamp(seconds: number): string {
  const millis = Math.round(seconds * 1000);
  const hours = Math.floor(millis / 3_600_000);
  const minutes = Math.floor((millis % 3_600_000) / 60_000);
  const secs = Math.floor((millis % 60_000) / 1000);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}.${pad(millis % 1000, 3)}`;
}
