import { describe, expect, it } from 'vitest';
import { assetPath, compareGenerations, documentId, partnerAssetId, uploadAssetId, workOrderId } from '../../shared/domain/asset-id.ts';

describe('asset ids', () => {
  it('derive from the source, so the same event finds the same asset', () => {
    expect(uploadAssetId('ingest', 'photos/cat.jpg', '1732312345678901')).toBe('ingest/photos/cat.jpg#1732312345678901');
    expect(partnerAssetId('acme', 'order-42')).toBe('acme:order-42');
    expect(workOrderId('acme:order-42', 'checksum', 3)).toBe('acme:order-42|checksum|3');
  });

  it.each([
    ['ingest/photos/cat.jpg#1', 'ingest%2Fphotos%2Fcat.jpg#1'],
    ['a%2Fb/c', 'a%252Fb%2Fc'],
    ['.', '%.'],
    ['..', '%..'],
    ['__name__', '%__name__'],
    ['plain', 'plain'],
  ])('document id of %s is %s (no slash, not reserved, reversible)', (id, encoded) => {
    expect(documentId(id)).toBe(encoded);
    expect(documentId(id)).not.toContain('/');
  });

  it('distinct ids never share a document', () => {
    const ids = ['a/b', 'a%2Fb', 'a%252Fb', 'a/b/c', 'a%2Fb/c'];
    expect(new Set(ids.map(documentId)).size).toBe(ids.length);
    expect(assetPath('a/b')).toBe('assets/a%2Fb');
  });

  it('compares int64 generations exactly, beyond Number precision', () => {
    expect(compareGenerations('9007199254740993', '9007199254740992')).toBe(1);
    expect(compareGenerations('1732312345678901', '1732312345678901')).toBe(0);
    expect(compareGenerations('99', '100')).toBe(-1);
  });
});
