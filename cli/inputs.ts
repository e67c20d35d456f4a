/**
 * The files a `process` run covers, each with the object name it gets, or the reason it cannot be uploaded. A bad
 * path is a row of its own, never a reason to drop the rest of the batch.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../shared/errors.ts';
import { InputErrorCode, objectNameProblem, type InputError } from './object-name.ts';

/** SKIPPED: refused before upload. FAILED: the upload itself failed. Neither became an asset. */
export type InputStatus = 'SKIPPED' | 'FAILED';

export interface InputProblem extends InputError {
  readonly status: InputStatus;
}

export interface Upload {
  /** The file on disk, or the path as given when it could not be read. */
  readonly file: string;
  readonly objectName: string;
  assetId?: string;
  problem?: InputProblem;
}

/** Files as given, directories walked recursively; object names keep the directory's own name as a prefix. */
export async function collectUploads(paths: readonly string[]): Promise<Upload[]> {
  const uploads: Upload[] = [];
  const taken = new Set<string>();
  const add = (file: string, objectName: string): void => {
    let name = objectName;
    for (let n = 2; taken.has(name); n += 1) name = objectName.replace(/(\.[^./]*)?$/, `~${n}$1`);
    const problem = objectNameProblem(name);
    if (problem) {
      uploads.push({ file, objectName: name, problem: { status: 'SKIPPED', ...problem } });
    } else {
      taken.add(name);
      uploads.push({ file, objectName: name });
    }
  };
  for (const given of paths) {
    const info = await stat(given).then(
      (stats) => ({ stats }),
      (error: unknown) => ({ error: unreadable(error) }),
    );
    if ('error' in info) {
      uploads.push({ file: given, objectName: path.basename(given), problem: { status: 'SKIPPED', ...info.error } });
    } else if (info.stats.isFile()) {
      add(path.resolve(given), path.basename(given));
    } else if (info.stats.isDirectory()) {
      await walk(path.resolve(given), add, uploads);
    } else {
      const problem = { status: 'SKIPPED', code: InputErrorCode.NOT_A_FILE, message: 'not a regular file or a directory' } as const;
      uploads.push({ file: given, objectName: path.basename(given), problem });
    }
  }
  return uploads;
}

async function walk(root: string, add: (file: string, objectName: string) => void, uploads: Upload[]): Promise<void> {
  const listing = await readdir(root, { recursive: true, withFileTypes: true }).then(
    (entries) => ({ entries }),
    (error: unknown) => ({ error: unreadable(error) }),
  );
  if ('error' in listing) {
    uploads.push({ file: root, objectName: path.basename(root), problem: { status: 'SKIPPED', ...listing.error } });
    return;
  }
  const files = listing.entries.filter((item) => item.isFile() && !item.name.startsWith('.'));
  for (const entry of files.sort((a, b) => a.parentPath.localeCompare(b.parentPath) || a.name.localeCompare(b.name))) {
    const file = path.join(entry.parentPath, entry.name);
    add(file, path.posix.join(path.basename(root), ...path.relative(root, file).split(path.sep)));
  }
}

function unreadable(error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { code: InputErrorCode.NOT_FOUND, message: 'no such file or directory' };
  return { code: InputErrorCode.UNREADABLE, message: errorMessage(error) };
}

/** A failed upload as a row: the error's own code when it has one (PermanentError, errno), so the row says what. */
export function uploadFailure(error: unknown): InputProblem {
  const code = (error as { code?: unknown } | null)?.code;
  return { status: 'FAILED', code: typeof code === 'string' && code !== '' ? code : InputErrorCode.UPLOAD_FAILED, message: errorMessage(error) };
}
