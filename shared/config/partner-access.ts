/**
 * Which objects a partner's ingest event may name. Partners publish to the ingest-requests topic; the service can
 * read far more than any one partner should (the ingest bucket, the derivatives, other partners' drops), so an
 * event is checked against this allow-list before a single byte is read.
 *
 * MEDIAFLOW_PARTNER_BUCKETS is a comma-separated list of grants, each `[partner=]bucket[/prefix]`:
 *   `partner-drop`                   any partner may name objects in partner-drop
 *   `acme=acme-drop`                 only partner `acme`, anywhere in acme-drop
 *   `acme=shared-drop/acme/`         only `acme`, only names starting with `acme/`
 * Terraform writes the same list from `buckets.partner` and grants the same buckets (and prefixes) in IAM.
 */
export interface PartnerGrant {
  /** undefined: every partner. */
  readonly partner: string | undefined;
  readonly bucket: string;
  /** '' for the whole bucket. */
  readonly prefix: string;
}

const partnerPattern = /^[a-z][a-z0-9-]{1,39}$/;
/** Cloud Storage's bucket-name rule (the events' common.v1.json bucketName), for every bucket the config names. */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export function parsePartnerGrants(raw: string | undefined, problems: string[]): PartnerGrant[] {
  const grants: PartnerGrant[] = [];
  for (const entry of (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const equals = entry.indexOf('=');
    const partnerPart = equals < 0 ? undefined : entry.slice(0, equals);
    const location = entry.slice(equals + 1);
    if (location.includes('=')) {
      problems.push(`MEDIAFLOW_PARTNER_BUCKETS '${entry}': one '=' at most, between a partner and a bucket`);
      continue;
    }
    const slash = location.indexOf('/');
    const bucket = slash < 0 ? location : location.slice(0, slash);
    const prefix = slash < 0 ? '' : location.slice(slash + 1);
    if (partnerPart !== undefined && !partnerPattern.test(partnerPart)) {
      problems.push(`MEDIAFLOW_PARTNER_BUCKETS '${entry}': '${partnerPart}' is not a partner name (${partnerPattern.source})`);
      continue;
    }
    if (!BUCKET_NAME_PATTERN.test(bucket)) {
      problems.push(`MEDIAFLOW_PARTNER_BUCKETS '${bucket}' is not a valid bucket name`);
      continue;
    }
    grants.push({ partner: partnerPart, bucket, prefix });
  }
  return grants;
}

export type AccessDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export function partnerMayRead(grants: readonly PartnerGrant[], partner: string, bucket: string, name: string): AccessDecision {
  const own = grants.filter((grant) => grant.partner === undefined || grant.partner === partner);
  if (own.some((grant) => grant.bucket === bucket && name.startsWith(grant.prefix))) return { allowed: true };
  // Name only what this partner may read: the refusal reaches the partner, other partners' drops must not.
  const readable = own.map((grant) => `gs://${grant.bucket}/${grant.prefix}`);
  const where = readable.length > 0 ? `it may read ${readable.join(', ')}` : 'it may read no bucket';
  const what = own.some((grant) => grant.bucket === bucket)
    ? `gs://${bucket}/${name.slice(0, 200)} is outside its prefix`
    : `bucket '${bucket}' is not shared with it`;
  return { allowed: false, reason: `partner '${partner}' may not read this object: ${what}; ${where}` };
}
