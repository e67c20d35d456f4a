/** Which objects a partner's ingest event may name (MEDIAFLOW_PARTNER_BUCKETS). */
import { describe, expect, it } from 'vitest';
import { parsePartnerGrants, partnerMayRead, type PartnerGrant } from '../../shared/config/partner-access.ts';

const parse = (raw: string | undefined): { grants: PartnerGrant[]; problems: string[] } => {
  const problems: string[] = [];
  return { grants: parsePartnerGrants(raw, problems), problems };
};

describe('parsePartnerGrants', () => {
  it.each<[string | undefined, PartnerGrant[]]>([
    [undefined, []],
    ['', []],
    [' , ,, ', []],
    ['partner-drop', [{ partner: undefined, bucket: 'partner-drop', prefix: '' }]],
    ['acme=acme-drop', [{ partner: 'acme', bucket: 'acme-drop', prefix: '' }]],
    ['acme=shared-drop/acme/', [{ partner: 'acme', bucket: 'shared-drop', prefix: 'acme/' }]],
    ['acme=shared-drop/a/b/c/', [{ partner: 'acme', bucket: 'shared-drop', prefix: 'a/b/c/' }]],
    ['acme=acme-drop/', [{ partner: 'acme', bucket: 'acme-drop', prefix: '' }]],
    ['drop.example.com', [{ partner: undefined, bucket: 'drop.example.com', prefix: '' }]],
    ['ab=a_b-c.d', [{ partner: 'ab', bucket: 'a_b-c.d', prefix: '' }]],
    [`p${'1'.repeat(39)}=abc`, [{ partner: `p${'1'.repeat(39)}`, bucket: 'abc', prefix: '' }]],
    [`${'b'.repeat(63)}`, [{ partner: undefined, bucket: 'b'.repeat(63), prefix: '' }]],
    [
      '  partner-drop , acme=acme-drop,,beta=shared/beta/ ',
      [
        { partner: undefined, bucket: 'partner-drop', prefix: '' },
        { partner: 'acme', bucket: 'acme-drop', prefix: '' },
        { partner: 'beta', bucket: 'shared', prefix: 'beta/' },
      ],
    ],
  ])('%j', (raw, grants) => {
    expect(parse(raw)).toEqual({ grants, problems: [] });
  });

  it.each([
    ['Acme=acme-drop', "MEDIAFLOW_PARTNER_BUCKETS 'Acme=acme-drop': 'Acme' is not a partner name (^[a-z][a-z0-9-]{1,39}$)"],
    ['a=acme-drop', "MEDIAFLOW_PARTNER_BUCKETS 'a=acme-drop': 'a' is not a partner name (^[a-z][a-z0-9-]{1,39}$)"],
    ['1acme=acme-drop', "'1acme' is not a partner name"],
    ['ac_me=acme-drop', "'ac_me' is not a partner name"],
    [`p${'1'.repeat(40)}=abc`, 'is not a partner name'],
    ['=acme-drop', "MEDIAFLOW_PARTNER_BUCKETS '=acme-drop': '' is not a partner name"],
    ['acme =acme-drop', "'acme ' is not a partner name"],
    ['Bad_Bucket', "MEDIAFLOW_PARTNER_BUCKETS 'Bad_Bucket' is not a valid bucket name"],
    ['acme=', "MEDIAFLOW_PARTNER_BUCKETS '' is not a valid bucket name"],
    ['acme=/prefix/', "MEDIAFLOW_PARTNER_BUCKETS '' is not a valid bucket name"],
    ['gs://partner-drop', "MEDIAFLOW_PARTNER_BUCKETS 'gs:' is not a valid bucket name"],
    ['ab', "MEDIAFLOW_PARTNER_BUCKETS 'ab' is not a valid bucket name"],
    ['b'.repeat(64), 'is not a valid bucket name'],
    ['-drop', "'-drop' is not a valid bucket name"],
    ['drop-', "'drop-' is not a valid bucket name"],
    ['acme= acme-drop', "' acme-drop' is not a valid bucket name"],
  ])('refuses %j', (raw, problem) => {
    const { grants, problems } = parse(raw);
    expect(grants).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it('keeps the valid grants around an invalid one and reports every problem', () => {
    const { grants, problems } = parse('good-drop,NOPE,acme=acme-drop,X=y-drop');
    expect(grants.map((grant) => grant.bucket)).toEqual(['good-drop', 'acme-drop']);
    expect(problems).toHaveLength(2);
  });

  it('appends to the problems it is given', () => {
    const problems = ['earlier'];
    parsePartnerGrants('NOPE', problems);
    expect(problems[0]).toBe('earlier');
    expect(problems).toHaveLength(2);
  });

  it('refuses an entry with a second "=" rather than silently dropping what follows it', () => {
    // Bug: split('=', 2) keeps ['acme', 'acme-drop'] and discards '=beta', so a typo grants acme the whole bucket.
    const { grants, problems } = parse('acme=acme-drop=beta');
    expect(grants).toEqual([]);
    expect(problems).toHaveLength(1);
  });
});

describe('partnerMayRead', () => {
  const grants = parse('partner-drop,acme=acme-drop,acme=shared-drop/acme/,beta=shared-drop/beta/,beta=beta-secret').grants;

  it.each([
    ['acme', 'partner-drop', 'anything/at/all.mp4'],
    ['beta', 'partner-drop', 'x.mp4'],
    ['gamma', 'partner-drop', 'x.mp4'],
    ['acme', 'acme-drop', 'deep/path/a.mp4'],
    ['acme', 'shared-drop', 'acme/a.mp4'],
    ['acme', 'shared-drop', 'acme/'],
    ['beta', 'shared-drop', 'beta/nested/b.mp4'],
    ['beta', 'beta-secret', 'b.mp4'],
  ])('%s may read gs://%s/%s', (partner, bucket, name) => {
    expect(partnerMayRead(grants, partner, bucket, name)).toEqual({ allowed: true });
  });

  it.each([
    ['beta', 'acme-drop', 'a.mp4', "bucket 'acme-drop' is not shared with it"],
    ['gamma', 'acme-drop', 'a.mp4', "bucket 'acme-drop' is not shared with it"],
    ['acme', 'shared-drop', 'beta/b.mp4', 'gs://shared-drop/beta/b.mp4 is outside its prefix'],
    ['acme', 'shared-drop', 'acme', 'gs://shared-drop/acme is outside its prefix'],
    ['acme', 'shared-drop', 'Acme/a.mp4', 'gs://shared-drop/Acme/a.mp4 is outside its prefix'],
    ['acme', 'mediaflow-ingest', 'a.mp4', "bucket 'mediaflow-ingest' is not shared with it"],
    ['ACME', 'acme-drop', 'a.mp4', "bucket 'acme-drop' is not shared with it"],
    ['acme', 'partner-drop2', 'a.mp4', "bucket 'partner-drop2' is not shared with it"],
    ['acme', 'acme-drop.evil', 'a.mp4', "bucket 'acme-drop.evil' is not shared with it"],
  ])('%s may not read gs://%s/%s', (partner, bucket, name, what) => {
    const decision = partnerMayRead(grants, partner, bucket, name);
    expect(decision.allowed).toBe(false);
    expect(!decision.allowed && decision.reason).toContain(`partner '${partner}' may not read this object: ${what}; `);
  });

  it("names only the asking partner's readable locations, never another partner's bucket or prefix", () => {
    const acme = partnerMayRead(grants, 'acme', 'beta-secret', 'b.mp4');
    expect(acme).toEqual({
      allowed: false,
      reason:
        "partner 'acme' may not read this object: bucket 'beta-secret' is not shared with it; it may read gs://partner-drop/, gs://acme-drop/, gs://shared-drop/acme/",
    });
    const gamma = partnerMayRead(grants, 'gamma', 'acme-drop', 'a.mp4');
    expect(!gamma.allowed && gamma.reason).toBe(
      "partner 'gamma' may not read this object: bucket 'acme-drop' is not shared with it; it may read gs://partner-drop/",
    );
    // Beta names acme's prefix in a shared bucket: the refusal quotes beta's own request, and lists only beta's locations.
    const beta = partnerMayRead(grants, 'beta', 'shared-drop', 'acme/a.mp4');
    expect(!beta.allowed && beta.reason).toBe(
      "partner 'beta' may not read this object: gs://shared-drop/acme/a.mp4 is outside its prefix; it may read gs://partner-drop/, gs://shared-drop/beta/, gs://beta-secret/",
    );
  });

  it('a partner with no grant at all is told it may read no bucket', () => {
    const onlyAcme = parse('acme=acme-drop').grants;
    const decision = partnerMayRead(onlyAcme, 'beta', 'acme-drop', 'a.mp4');
    expect(!decision.allowed && decision.reason).toBe(
      "partner 'beta' may not read this object: bucket 'acme-drop' is not shared with it; it may read no bucket",
    );
    expect(partnerMayRead([], 'acme', 'acme-drop', 'a.mp4').allowed).toBe(false);
  });

  it('a prefix is a plain string prefix: "acme" without a slash also matches "acme-other/"', () => {
    const loose = parse('acme=shared-drop/acme').grants;
    expect(partnerMayRead(loose, 'acme', 'shared-drop', 'acme-other/x.mp4').allowed).toBe(true);
    const strict = parse('acme=shared-drop/acme/').grants;
    expect(partnerMayRead(strict, 'acme', 'shared-drop', 'acme-other/x.mp4').allowed).toBe(false);
  });

  it('quotes at most 200 characters of a long object name', () => {
    const name = `other/${'n'.repeat(10_000)}`;
    const decision = partnerMayRead(grants, 'acme', 'shared-drop', name);
    expect(!decision.allowed && decision.reason.length).toBeLessThan(500);
  });
});
