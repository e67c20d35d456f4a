/**
 * The GCS object naming rules the CLI checks before it uploads anything, so a name GCS would refuse becomes one
 * skipped row instead of an error halfway through a batch (https://cloud.google.com/storage/docs/objects#naming).
 */

/** GCS object names are 1 to 1024 bytes of UTF-8. */
export const GCS_OBJECT_NAME_MAX_BYTES = 1024;
/** GCS refuses carriage returns and line feeds anywhere in an object name. */
const GCS_FORBIDDEN_LINE_BREAK = /[\r\n]/;

/** Why an input never became an asset. Stable strings, like the pipeline's error codes, so scripts can match them. */
export const InputErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  UNREADABLE: 'UNREADABLE',
  NOT_A_FILE: 'NOT_A_FILE',
  NAME_TOO_LONG: 'NAME_TOO_LONG',
  NAME_HAS_LINE_BREAK: 'NAME_HAS_LINE_BREAK',
  UPLOAD_FAILED: 'UPLOAD_FAILED',
} as const;

export interface InputError {
  readonly code: string;
  readonly message: string;
}

/** What GCS would object to in this name; undefined when it may be uploaded. */
export function objectNameProblem(name: string): InputError | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > GCS_OBJECT_NAME_MAX_BYTES) {
    return { code: InputErrorCode.NAME_TOO_LONG, message: `object name is ${bytes} bytes; the limit is ${GCS_OBJECT_NAME_MAX_BYTES}` };
  }
  if (GCS_FORBIDDEN_LINE_BREAK.test(name)) {
    return { code: InputErrorCode.NAME_HAS_LINE_BREAK, message: 'object name contains a line break (CR or LF), which GCS does not allow' };
  }
  return undefined;
}
