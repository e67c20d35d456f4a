/**
 * Firestore document ids may not contain '/', so ids are stored percent-encoded for exactly the two
 * characters that matter ('%' first, so decoding is unambiguous). The rest stays readable in the console.
 */
export function documentId(id: string): string {
  const encoded = id.replaceAll('%', '%25').replaceAll('/', '%2F');
  // Firestore reserves '.', '..' and ids shaped like __name__.
  if (encoded === '.' || encoded === '..' || /^__.*__$/.test(encoded)) return `%${encoded}`;
  return encoded;
}
