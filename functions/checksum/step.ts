/**
 * checksum: reads the source once and records its SHA-256 (the content identity later steps cite as provenance)
 * and MD5, and verifies the MD5 against what storage reported at upload. A mismatch means the bytes we read are
 * not the bytes that were uploaded: that is permanent, and the asset is rejected.
 */
import { createHash } from 'node:crypto';
import { stepSchemas } from '../../events/step-schemas.ts';
import type { ChecksumOutputs, ChecksumParams } from '../../events/generated/steps/checksum.ts';
import { defineStep, orders } from '../../shared/domain/step.ts';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/** Reading 5 GB at ~100 MB/s from GCS takes under a minute; five minutes leaves room for a slow instance. */
export const CHECKSUM_TIMEOUT_MS = 5 * 60_000;

export const checksumStep = defineStep<ChecksumParams, ChecksumOutputs>({
  name: 'checksum',
  needs: { ...MEDIA_STEP_NEEDS, derivatives: 'none' },
  dependsOn: [],
  timeoutMs: CHECKSUM_TIMEOUT_MS,
  recipeVersion: '1',
  ...stepSchemas(import.meta.dirname),
  plan: (context) => orders(context.source.md5Hash ? { expectedMd5Hash: context.source.md5Hash } : {}),
  async run(order, context) {
    const { expectedMd5Hash } = order.params;
    const stream = await context.blobs.createReadStream(order.source);
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let bytes = 0;
    for await (const chunk of stream.iterator({ destroyOnReturn: true })) {
      context.signal.throwIfAborted();
      const buffer = chunk as Buffer;
      sha256.update(buffer);
      md5.update(buffer);
      bytes += buffer.length;
    }
    const md5Hash = md5.digest('base64');
    if (expectedMd5Hash !== undefined && expectedMd5Hash !== md5Hash) {
      throw new PermanentError(PermanentErrorCode.INTEGRITY_MISMATCH, `read ${bytes} bytes with MD5 ${md5Hash}, but storage reported ${expectedMd5Hash}`);
    }
    return { outputs: { sha256: sha256.digest('hex'), md5Hash, bytes }, inputMd5: md5Hash };
  },
});
