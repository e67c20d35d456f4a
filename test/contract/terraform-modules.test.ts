/**
 * terraform/ parsed (HCL, via @cdktf/hcl2json) and checked against the code and against itself: the topics and
 * subscriptions come from the generated pipeline and nothing else makes any; every function has its own service
 * account holding only what it declares it needs; every subscription pushes with OIDC, retries, dead-letters and
 * keeps its function's ack deadline; no primitive or admin roles anywhere; the Firestore indexes cover the queries the
 * code declares; the functions' environment is what loadConfig reads, plus the configuration groups each declares;
 * and every module call, root and example is wired right.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.ts';
import { partnerMayRead } from '../../shared/config/partner-access.ts';
import { eventarcFinalizedType } from '../../shared/runtime/decode.ts';
import { block, dynamicBlock, loadModule, moduleDirs, ofType, strings, terraformRoot, type Attrs, type HclModule } from '../../scripts/deploy/terraform-hcl.ts';
import { repoRoot } from '../../scripts/deploy/module-graph.ts';
import { firestoreJsonFile, pipelineJsonFile, type TerraformFirestore, type TerraformPipeline } from '../../scripts/deploy/terraform-pipeline.ts';
import { collections, compositeIndexOf, declaredQueries, indexServes, type CollectionInfo } from '../../shared/domain/collections.ts';
import { CONFIG_GROUPS } from '../../shared/runtime/needs.ts';

const spec = JSON.parse(readFileSync(pipelineJsonFile, 'utf8')) as TerraformPipeline;
const firestore = JSON.parse(readFileSync(firestoreJsonFile, 'utf8')) as TerraformFirestore;
const dirs = moduleDirs();
const modules = new Map<string, HclModule>(await Promise.all(dirs.map(async (dir) => [dir, await loadModule(dir)] as const)));
const stack = modules.get('terraform/modules/mediaflow')!;
const fn = modules.get('terraform/modules/function')!;
const functionCall = stack.modules.get('function')!;

/** Whitespace-insensitive view of an HCL expression string. */
const squash = (value: unknown): string => String(value).replace(/\s+/g, ' ').trim();
const resource = (module: HclModule, address: string): Attrs => {
  const found = module.resources.get(address);
  if (!found) throw new Error(`${module.dir} has no ${address}`);
  return found;
};

describe('terraform/: layout', () => {
  it('has the function module, the environment module, an environment root and a tested example', () => {
    expect(dirs).toEqual(
      expect.arrayContaining(['terraform/modules/function', 'terraform/modules/mediaflow', 'terraform/environments/prod', 'terraform/examples/minimal']),
    );
  });

  it.each(dirs)('%s pins the Terraform/OpenTofu version and the google provider major', (dir) => {
    const settings = modules.get(dir)!.terraform;
    expect(settings.map((t) => t.required_version).filter(Boolean)).toEqual(['>= 1.8.0']);
    const providers = settings.flatMap((t) => block(t, 'required_providers'));
    expect(providers).toEqual([{ google: { source: 'hashicorp/google', version: '>= 7.0.0, < 8.0.0' } }]);
  });

  it('keeps provider configuration in roots only', () => {
    for (const [dir, module] of modules) {
      const isRoot = dir.startsWith('terraform/environments/') || dir.startsWith('terraform/examples/');
      expect(module.providers.size > 0, dir).toBe(isRoot);
    }
  });

  it.each(dirs)('%s: every reference resolves (variables, locals, resources, data sources, module outputs)', (dir) => {
    const module = modules.get(dir)!;
    const expressions = [
      ...module.resources.values(),
      ...module.data.values(),
      ...module.modules.values(),
      ...module.outputs.values(),
      module.locals,
      ...module.variables.values(),
      ...module.providers.values(),
    ]
      .flatMap(strings)
      .filter((text) => text.includes('${'));
    const unresolved = new Set<string>();
    for (const text of expressions) {
      for (const [, name] of text.matchAll(/\bvar\.(\w+)/g)) if (!module.variables.has(name!)) unresolved.add(`var.${name}`);
      for (const [, name] of text.matchAll(/\blocal\.(\w+)/g)) if (!(name! in module.locals)) unresolved.add(`local.${name}`);
      for (const [, type, name] of text.matchAll(/\bdata\.(\w+)\.(\w+)/g)) if (!module.data.has(`${type}.${name}`)) unresolved.add(`data.${type}.${name}`);
      for (const [, type, name] of text.matchAll(/(?<![.\w])(google_\w+|terraform_data)\.(\w+)/g))
        if (!module.resources.has(`${type}.${name}`)) unresolved.add(`${type}.${name}`);
      for (const [, name, output] of text.matchAll(/\bmodule\.(\w+)(?:\[[^\]]+\])?\.(\w+)/g)) {
        const call = module.modules.get(name!);
        const target = call && modules.get(path.relative(repoRoot, path.join(repoRoot, dir, String(call.source))));
        if (!target?.outputs.has(output!)) unresolved.add(`module.${name}.${output}`);
      }
    }
    expect([...unresolved]).toEqual([]);
  });

  describe.each(dirs.flatMap((dir) => [...modules.get(dir)!.modules].map(([name, call]) => [`${dir}: module.${name}`, dir, call] as const)))(
    '%s',
    (_label, dir, call) => {
      const target = path.join(dir, String(call.source));
      const called = modules.get(path.relative(repoRoot, path.join(repoRoot, target)));
      const meta = new Set(['source', 'for_each', 'count', 'depends_on', 'providers', 'version']);

      it('calls a module of this repository', () => {
        expect(String(call.source)).toMatch(/^\.\.?\//);
        expect(called, target).toBeDefined();
      });

      it('passes only arguments the module declares', () => {
        const unknown = Object.keys(call).filter((key) => !meta.has(key) && !called!.variables.has(key));
        expect(unknown).toEqual([]);
      });

      it('passes every variable the module requires', () => {
        const required = [...called!.variables].filter(([, variable]) => !('default' in variable)).map(([name]) => name);
        expect(required.filter((name) => !(name in call))).toEqual([]);
      });
    },
  );
});

describe('topics and subscriptions come from the generated pipeline, and nothing else makes any', () => {
  it('reads generated/pipeline.json', () => {
    expect(stack.locals.pipeline).toBe('${jsondecode(file("${path.module}/generated/pipeline.json"))}');
  });

  it('creates one topic per pipeline topic, named <prefix>-<suffix>', () => {
    expect(ofType(stack, 'google_pubsub_topic').map(([address]) => address)).toEqual(['google_pubsub_topic.this']);
    expect(resource(stack, 'google_pubsub_topic.this').for_each).toBe('${local.topic_names}');
    expect(squash(stack.locals.topic_names)).toBe('${{ for suffix in local.pipeline.topics : suffix => "${var.prefix}-${suffix}" }}');
  });

  it('creates subscriptions only in the function module, one per entry it is given', () => {
    for (const [dir, module] of modules) {
      const subs = ofType(module, 'google_pubsub_subscription').map(([address]) => address);
      expect(subs, dir).toEqual(dir === 'terraform/modules/function' ? ['google_pubsub_subscription.this'] : []);
      if (dir !== 'terraform/modules/mediaflow') expect(ofType(module, 'google_pubsub_topic'), dir).toEqual([]);
    }
    expect(resource(fn, 'google_pubsub_subscription.this').for_each).toBe('${var.subscriptions}');
  });

  it('gives each function exactly its own subscriptions, named <function>--<prefix>-<topic>', () => {
    expect(squash(stack.locals.subscriptions)).toBe(
      '${{ for key, sub in local.pipeline.subscriptions : key => merge(sub, { name = "${sub.function}--${local.topic_names[sub.topic]}" }) }}',
    );
    const passed = squash(functionCall.subscriptions);
    expect(passed).toMatch(/^\$\{\{ for key, sub in local\.subscriptions : sub\.name => \{/);
    expect(passed).toMatch(/\} if sub\.function == each\.key \}\}$/);
  });

  it('instantiates the function module once per pipeline function', () => {
    expect(functionCall.source).toBe('../function');
    expect(functionCall.for_each).toBe('${local.deployed_functions}');
    expect(squash(stack.locals.deployed_functions)).toBe('${var.image == null ? {} : local.pipeline.functions}');
  });
});

describe('every subscription: push with OIDC, ack deadline from the code, retry policy, dead-letter topic', () => {
  const subscription = resource(fn, 'google_pubsub_subscription.this');
  const passed = squash(functionCall.subscriptions);

  it('takes its ack deadline from the generated pipeline (the function’s named timeout)', () => {
    expect(subscription.ack_deadline_seconds).toBe('${each.value.ack_deadline_seconds}');
    expect(passed).toContain('ack_deadline_seconds = sub.ack_deadline_seconds');
  });

  it('pushes to the function’s service at a path ending in the topic id, with an OIDC token for the service', () => {
    const [push] = block(subscription, 'push_config');
    expect(push!.push_endpoint).toBe('${google_cloud_run_v2_service.this.uri}/${each.value.topic_id}');
    expect(block(push, 'oidc_token')).toEqual([{ service_account_email: '${var.push_service_account}', audience: '${google_cloud_run_v2_service.this.uri}' }]);
    expect(block(push, 'no_wrapper')).toEqual([]);
  });

  it('lets only the push identity (and a configured trigger identity) invoke the service', () => {
    const invokers = resource(fn, 'google_cloud_run_v2_service_iam_member.invokers');
    expect(invokers.role).toBe('roles/run.invoker');
    expect(squash(invokers.for_each)).toBe('${merge({ push = "serviceAccount:${var.push_service_account}" }, var.invokers)}');
    expect(functionCall.push_service_account).toBe('${google_service_account.push.email}');
  });

  it('always has a retry policy, with the deployment’s backoffs', () => {
    expect(block(subscription, 'retry_policy')).toEqual([
      { minimum_backoff: '${each.value.minimum_backoff_seconds}s', maximum_backoff: '${each.value.maximum_backoff_seconds}s' },
    ]);
    expect(passed).toContain('minimum_backoff_seconds = local.retry.minimum_backoff_seconds');
    expect(passed).toContain('maximum_backoff_seconds = local.retry.maximum_backoff_seconds');
  });

  it('dead-letters to the dead-letter topic after max delivery attempts, except the dead-letter topic’s own', () => {
    const policy = dynamicBlock(subscription, 'dead_letter_policy')!;
    expect(policy.for_each).toBe('${each.value.dead_letter_topic_id == null ? [] : [each.value.dead_letter_topic_id]}');
    expect(block(policy, 'content')).toEqual([
      { dead_letter_topic: '${dead_letter_policy.value}', max_delivery_attempts: '${each.value.max_delivery_attempts}' },
    ]);
    expect(passed).toContain('dead_letter_topic_id = sub.dead_letter ? local.topic_ids[local.roles.dead_letters] : null');
    expect(passed).toContain('max_delivery_attempts = local.retry.max_delivery_attempts');
    const deadLettering = Object.values(spec.subscriptions).filter((sub) => sub.dead_letter);
    expect(
      Object.values(spec.subscriptions)
        .filter((sub) => !deadLettering.includes(sub))
        .map((sub) => sub.topic),
    ).toEqual([spec.topic_roles.dead_letters]);
  });

  it('grants the Pub/Sub service agent what dead-lettering needs: subscriber on each source subscription, publisher on the dead-letter topic', () => {
    const ack = resource(fn, 'google_pubsub_subscription_iam_member.dead_letter_ack');
    expect(ack).toMatchObject({ for_each: '${local.dead_lettering}', role: 'roles/pubsub.subscriber', member: 'serviceAccount:${var.pubsub_service_agent}' });
    expect(squash(fn.locals.dead_lettering)).toBe('${{ for name, sub in var.subscriptions : name => sub if sub.dead_letter_topic_id != null }}');
    expect(resource(stack, 'google_pubsub_topic_iam_member.pubsub_agent_dead_letters')).toMatchObject({
      topic: '${google_pubsub_topic.this[local.roles.dead_letters].name}',
      role: 'roles/pubsub.publisher',
      member: 'serviceAccount:${local.service_agents.pubsub}',
    });
    expect(resource(stack, 'google_service_account_iam_member.pubsub_agent_push_tokens')).toMatchObject({
      service_account_id: '${google_service_account.push.name}',
      role: 'roles/iam.serviceAccountTokenCreator',
    });
  });

  it('never lets a subscription expire', () => {
    expect(block(subscription, 'expiration_policy')).toEqual([{ ttl: '' }]);
  });

  it('sets Cloud Run’s request timeout to the ack deadline, so Cloud Run never cuts a push Pub/Sub still waits for', () => {
    const [template] = block(resource(fn, 'google_cloud_run_v2_service.this'), 'template');
    expect(template!.timeout).toBe('${var.request_timeout_seconds}s');
    expect(functionCall.request_timeout_seconds).toBe('${each.value.request_timeout_seconds}');
  });
});

describe('every function has its own service account, holding only what it declares it needs', () => {
  const service = resource(fn, 'google_cloud_run_v2_service.this');
  const account = resource(fn, 'google_service_account.this');

  it('creates one service account per function and runs the service as it', () => {
    expect(account.count).toBeUndefined();
    expect(account.for_each).toBeUndefined();
    expect(account.account_id).toBe('${var.service_account_id}');
    expect(functionCall.service_account_id).toBe('${var.prefix}-${each.key}');
    expect(block(service, 'template')[0]!.service_account).toBe('${google_service_account.this.email}');
  });

  it.each(Object.keys(spec.functions))('%s: its service account id is valid for the longest allowed prefix', (name) => {
    const longestPrefix = 'x'.repeat(12);
    expect(`${longestPrefix}-${name}`).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
    expect(['push', 'deployer', 'eventarc']).not.toContain(name);
  });

  // The least role for each capability, and why it is enough: the test's own reference, not the module's.
  const leastRoles: Record<string, string> = {
    documents: 'roles/datastore.user', // document reads, writes, queries and transactions; no index or database admin
    vertex_ai: 'roles/aiplatform.user', // calling models
    publishes: 'roles/pubsub.publisher', // publish only, per topic
    reads_sources: 'roles/storage.objectViewer', // get and list objects, per bucket
    reads_derivatives: 'roles/storage.objectViewer',
    writes_derivatives: 'roles/storage.objectUser', // create, and delete to overwrite on a re-run; no IAM changes
  };

  it('maps each declared need to its least role', () => {
    expect(stack.locals.capability_roles).toEqual(leastRoles);
  });

  it('derives each function’s grants from its declared needs in the generated pipeline, and from nothing else', () => {
    const access = squash(stack.locals.function_access);
    expect(access).toMatch(/^\$\{\{ for name, fn in local\.pipeline\.functions : name => \{/);
    expect(access).toContain('fn.needs.documents ? [local.capability_roles.documents] : []');
    expect(access).toContain('fn.needs.vertex_ai ? [local.capability_roles.vertex_ai] : []');
    expect(access).toContain('publish_topics = [for suffix in fn.needs.publishes : local.topic_ids[suffix]]');
    expect(access).toContain('{ for key, grant in local.source_reads : key => grant if fn.needs.sources == "read" }');
    expect(squash(stack.locals.source_reads)).toBe(
      '${merge( { (google_storage_bucket.this["ingest"].name) = { bucket = google_storage_bucket.this["ingest"].name, role = local.capability_roles.reads_sources, condition = null } }, { for key, read in local.managed_partner_reads : key => { bucket = read.bucket, role = local.capability_roles.reads_sources, condition = read.condition } }, )}',
    );
    expect(access).toContain(
      'fn.needs.derivatives == "read" ? { (google_storage_bucket.this["derivatives"].name) = { bucket = google_storage_bucket.this["derivatives"].name, role = local.capability_roles.reads_derivatives, condition = null } } : {}',
    );
    expect(access).toContain(
      'contains(["write", "read-write"], fn.needs.derivatives) ? { (google_storage_bucket.this["derivatives"].name) = { bucket = google_storage_bucket.this["derivatives"].name, role = local.capability_roles.writes_derivatives, condition = null } } : {}',
    );
    expect(functionCall.access).toBe('${local.function_access[each.key]}');
  });

  it('grants the function’s service account exactly var.access (the deployer and invokers are other members)', () => {
    const grants = [...fn.resources].filter(
      ([address, attrs]) => /_iam_member\./.test(address) && strings(attrs.member).some((member) => member.includes('local.member')),
    );
    expect(grants.map(([address, attrs]) => [address, attrs.for_each, attrs.role])).toEqual([
      ['google_project_iam_member.access', '${toset(var.access.project_roles)}', '${each.value}'],
      ['google_pubsub_topic_iam_member.publish', '${toset(var.access.publish_topics)}', 'roles/pubsub.publisher'],
      ['google_storage_bucket_iam_member.access', '${var.access.bucket_roles}', '${each.value.role}'],
    ]);
    expect(fn.locals.member).toBe('serviceAccount:${google_service_account.this.email}');
    const bucketGrant = resource(fn, 'google_storage_bucket_iam_member.access');
    expect(bucketGrant.bucket).toBe('${each.value.bucket}');
    // Only a grant that carries a condition (a partner's prefix) is bound under one.
    const condition = dynamicBlock(bucketGrant, 'condition')!;
    expect(condition.for_each).toBe('${each.value.condition == null ? [] : [each.value.condition]}');
    expect(block(condition, 'content')).toEqual([
      { title: '${condition.value.title}', description: '${condition.value.description}', expression: '${condition.value.expression}' },
    ]);
  });

  it.each(Object.entries(spec.functions))('%s: gets only the roles of what it declares', (_name, definition) => {
    const { needs } = definition;
    const roles = [
      ...(needs.documents ? [leastRoles.documents!] : []),
      ...(needs.vertex_ai ? [leastRoles.vertex_ai!] : []),
      ...(needs.publishes.length > 0 ? [leastRoles.publishes!] : []),
      ...(needs.sources === 'read' ? [leastRoles.reads_sources!] : []),
      ...(needs.derivatives === 'read' ? [leastRoles.reads_derivatives!] : []),
      ...(needs.derivatives === 'write' || needs.derivatives === 'read-write' ? [leastRoles.writes_derivatives!] : []),
    ];
    for (const role of roles) expect(role).not.toMatch(/^roles\/(owner|editor|viewer)$|admin/i);
    // Firestore is the only project-wide grant a function gets (Vertex AI too, for a step that calls it).
    const projectWide = roles.filter((role) => role === leastRoles.firestore || role === leastRoles.vertex_ai);
    expect(projectWide.length).toBeLessThanOrEqual(2);
  });
});

describe('least privilege throughout', () => {
  const iam = [...modules].flatMap(([dir, module]) =>
    [...module.resources].filter(([address]) => address.includes('_iam_')).map(([address, attrs]) => [dir, address, attrs] as const),
  );

  // Every literal role the configuration grants, and why it is needed.
  const allowed: Record<string, string> = {
    'roles/run.invoker': 'Pub/Sub push and Eventarc identities invoke the services',
    'roles/run.developer': 'the deployer updates the image of each existing service (service-level)',
    'roles/iam.serviceAccountUser': 'the deployer deploys revisions that run as each function account (account-level)',
    'roles/iam.serviceAccountTokenCreator': 'the Pub/Sub service agent mints OIDC tokens for the push account (account-level)',
    'roles/pubsub.publisher': 'publishing: functions per topic, storage agent to uploads, Pub/Sub agent to dead letters, partners to ingest requests',
    'roles/pubsub.subscriber': 'Pub/Sub agent acks dead-lettered messages; partners attach subscriptions to asset events',
    'roles/storage.objectViewer': 'reading sources; the deployer reading its build sources',
    'roles/artifactregistry.writer': 'the deployer pushes images (repository-level)',
    'roles/logging.logWriter': 'the deployer writes build logs',
    'roles/eventarc.eventReceiver': 'the Eventarc trigger identity receives events (eventarc upload trigger only)',
  };

  it('uses only additive *_iam_member grants, never authoritative policies or bindings', () => {
    const all = [...modules.values()].flatMap((module) => [...module.resources.keys()]);
    expect(all.filter((address) => /_iam_(policy|binding)\./.test(address))).toEqual([]);
  });

  it.each(iam.map(([dir, address, attrs]) => [`${dir}: ${address}`, attrs] as const))('%s grants a known, non-primitive, non-admin role', (_label, attrs) => {
    const role = String(attrs.role);
    if (role === '${each.value}' || role === '${each.value.role}') return; // var.access / capability_roles, checked above and validated in the module
    expect(Object.keys(allowed)).toContain(role);
  });

  it('has no primitive role, storage.admin, or admin role anywhere', () => {
    const text = dirs.flatMap((dir) => modules.get(dir)!.files.map((file) => readFileSync(path.join(repoRoot, dir, file), 'utf8'))).join('\n');
    const granted = [...text.matchAll(/"(roles\/[A-Za-z.]+)"/g)].map((match) => match[1]!);
    expect(granted.filter((role) => /^roles\/(owner|editor|viewer)$/.test(role) || /admin$/i.test(role) || role === 'roles/storage.admin')).toEqual(
      // The function module's validation names them in order to refuse them.
      ['roles/owner', 'roles/editor', 'roles/viewer', 'roles/storage.admin'],
    );
    expect(text).not.toMatch(/"(allUsers|allAuthenticatedUsers)"/);
  });

  it('grants project-wide only Firestore to functions, and logging to the deployer, and Eventarc’s required receiver/publisher roles', () => {
    const projectGrants = iam
      .filter(([, address]) => address.startsWith('google_project_iam_member.'))
      .map(([dir, address, attrs]) => `${dir}: ${address} ${String(attrs.role)}`);
    expect(projectGrants.sort()).toEqual(
      [
        'terraform/modules/function: google_project_iam_member.access ${each.value}',
        'terraform/modules/mediaflow: google_project_iam_member.deployer_logs roles/logging.logWriter',
        'terraform/modules/mediaflow: google_project_iam_member.eventarc_receiver roles/eventarc.eventReceiver',
        'terraform/modules/mediaflow: google_project_iam_member.storage_agent_eventarc roles/pubsub.publisher',
      ].sort(),
    );
    expect(resource(stack, 'google_project_iam_member.storage_agent_eventarc').count).toBe('${local.eventarc ? 1 : 0}');
  });
});

describe('the functions’ environment is the configuration loadConfig reads', () => {
  const env = stack.locals.function_env as Record<string, string>;
  const configSource = readFileSync(path.join(repoRoot, 'shared/config/config.ts'), 'utf8');
  const known = new Set([...configSource.matchAll(/read(?:Number)?\('([A-Z_]+)'/g), ...configSource.matchAll(/env\.([A-Z_]+)/g)].map((match) => match[1]!));

  it('sets only variables loadConfig knows, and none of the embedded runtime or emulators', () => {
    expect(Object.keys(env).filter((key) => !known.has(key))).toEqual([]);
    expect(Object.keys(env).filter((key) => /DATA_DIR|EMBEDDED|EMULATOR/.test(key))).toEqual([]);
  });

  it('makes a valid GCP configuration, with the deployment’s topics and retry policy', () => {
    const sample: Record<string, string> = {
      MEDIAFLOW_RUNTIME: 'gcp',
      GOOGLE_CLOUD_PROJECT: 'acme-media-prod',
      MEDIAFLOW_INGEST_BUCKET: 'acme-media-prod-mediaflow-ingest',
      MEDIAFLOW_DERIVATIVES_BUCKET: 'acme-media-prod-mediaflow-derivatives',
      MEDIAFLOW_PARTNER_BUCKETS: '',
      MEDIAFLOW_TOPIC_PREFIX: 'mediaflow',
      MEDIAFLOW_MAX_DELIVERY_ATTEMPTS: String(spec.retry.max_delivery_attempts),
      MEDIAFLOW_MIN_BACKOFF_SECONDS: String(spec.retry.minimum_backoff_seconds),
      MEDIAFLOW_MAX_BACKOFF_SECONDS: String(spec.retry.maximum_backoff_seconds),
      MEDIAFLOW_LOG_LEVEL: 'info',
      MEDIAFLOW_DEFAULT_PROFILE: 'default',
    };
    expect(Object.keys(env).sort()).toEqual(Object.keys(sample).sort());
    const config = loadConfig(sample);
    expect(config.runtime).toBe('gcp');
    expect(config.topics.deadLetters).toBe(`mediaflow-${spec.topic_roles.dead_letters}`);
    expect(env.MEDIAFLOW_TOPIC_PREFIX).toBe('${var.prefix}');
    expect(env.MEDIAFLOW_MAX_DELIVERY_ATTEMPTS).toBe('${tostring(local.retry.max_delivery_attempts)}');
  });

  it('falls back to the code’s retry defaults from the generated pipeline', () => {
    const retry = stack.locals.retry as Record<string, string>;
    for (const key of ['max_delivery_attempts', 'minimum_backoff_seconds', 'maximum_backoff_seconds']) {
      expect(retry[key]).toBe(`\${coalesce(var.retry.${key}, local.pipeline.retry.${key})}`);
    }
  });

  it('selects the function by FUNCTION_TARGET, which functions-framework reads', () => {
    const [container] = block(block(resource(fn, 'google_cloud_run_v2_service.this'), 'template')[0], 'containers');
    expect(block(container, 'env')).toEqual([{ name: 'FUNCTION_TARGET', value: '${var.function}' }]);
    expect(functionCall.function).toBe('${each.key}');
    const options = readFileSync(path.join(repoRoot, 'node_modules/@google-cloud/functions-framework/build/src/options.js'), 'utf8');
    expect(options).toContain("'FUNCTION_TARGET'");
  });
});

/**
 * The module's own partner expressions, evaluated by OpenTofu rather than mirrored in TypeScript: a scratch root
 * holds a copy of modules/mediaflow/variables.tf (types, defaults, validations) and the locals and output
 * expressions below exactly as parsed from the module. They depend on variables only, so `tofu apply` evaluates
 * them without init, providers or a registry. OpenTofu is a CI prerequisite (.ci/run installs it for `tofu fmt`).
 */
const tofuEnv = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
const partnerLocals = ['bucket_names', 'capability_roles', 'partner_bucket_clashes', 'partner_grants', 'partner_reads', 'managed_partner_reads'];
const partnerOutputs: Record<string, unknown> = {
  MEDIAFLOW_PARTNER_BUCKETS: (stack.locals.function_env as Record<string, string>).MEDIAFLOW_PARTNER_BUCKETS,
  managed_partner_reads: '${local.managed_partner_reads}',
  partner_bucket_clashes: '${local.partner_bucket_clashes}',
  partner_bucket_readers_grants: (stack.outputs.get('partner_bucket_readers')!.value as Attrs).grants,
};

/** A parsed value back as HCL: an expression string (`${...}`, as hcl2json gives it) unwrapped, objects rebuilt. */
function toHcl(value: unknown): string {
  if (typeof value === 'string') return value.startsWith('${') && value.endsWith('}') ? value.slice(2, -1) : JSON.stringify(value).replaceAll('${', '$${');
  if (value && typeof value === 'object' && !Array.isArray(value))
    return `{\n${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)} = ${toHcl(item)}`)
      .join('\n')}\n}`;
  throw new Error(`cannot write ${JSON.stringify(value)} back as HCL`);
}

type Evaluated = { ok: true; values: Record<string, unknown> } | { ok: false; error: string };
function evaluatePartners(buckets: unknown, project = { project_id: 'acme-media-prod', prefix: 'mediaflow' }): Evaluated {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-tofu-'));
  try {
    copyFileSync(path.join(terraformRoot, 'modules/mediaflow/variables.tf'), path.join(dir, 'variables.tf'));
    const locals = partnerLocals.map((name) => `  ${name} = ${toHcl(stack.locals[name])}`).join('\n');
    const outputs = Object.entries(partnerOutputs)
      .map(([name, expression]) => `output "${name}" {\n  value = ${toHcl(expression)}\n}`)
      .join('\n');
    writeFileSync(path.join(dir, 'partners.tf'), `locals {\n${locals}\n}\n${outputs}\n`);
    writeFileSync(path.join(dir, 'terraform.tfvars.json'), JSON.stringify({ ...project, region: 'europe-west1', firestore: { location_id: 'eur3' }, buckets }));
    const apply = spawnSync('tofu', [`-chdir=${dir}`, 'apply', '-auto-approve', '-input=false', '-no-color'], { encoding: 'utf8', env: tofuEnv });
    if (apply.status !== 0) return { ok: false, error: `${apply.stderr}${apply.stdout}`.replace(/\s+/g, ' ') };
    const output = spawnSync('tofu', [`-chdir=${dir}`, 'output', '-json', '-no-color'], { encoding: 'utf8', env: tofuEnv });
    const values = JSON.parse(output.stdout) as Record<string, { value: unknown }>;
    return { ok: true, values: Object.fromEntries(Object.entries(values).map(([name, { value }]) => [name, value])) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gcpEnv = (partnerBuckets: string) => ({
  MEDIAFLOW_RUNTIME: 'gcp',
  GOOGLE_CLOUD_PROJECT: 'acme-media-prod',
  MEDIAFLOW_INGEST_BUCKET: 'acme-media-prod-mediaflow-ingest',
  MEDIAFLOW_DERIVATIVES_BUCKET: 'acme-media-prod-mediaflow-derivatives',
  MEDIAFLOW_PARTNER_BUCKETS: partnerBuckets,
});
const prefixCondition = (bucket: string, prefix: string) =>
  `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${prefix}") || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("${prefix}")`;

describe('partner buckets: MEDIAFLOW_PARTNER_BUCKETS and the read grants come from one list', () => {
  it('declares partners and prefix on buckets.partner, the same in the production root', () => {
    for (const module of [stack, modules.get('terraform/environments/prod')!]) {
      const type = String(module.variables.get('buckets')!.type).replace(/#[^\n]*/g, '');
      expect(squash(type), module.dir).toContain(
        'partner = optional(list(object({ name = string manage_iam = optional(bool, false) partners = optional(list(string), []) prefix = optional(string, "") })), [])',
      );
    }
  });

  it('renders the environment variable from the grants and binds IAM from the same entries', () => {
    expect(squash(stack.locals.partner_grants)).toBe(
      '${distinct(flatten([for bucket in var.buckets.partner : [ for partner in(length(bucket.partners) > 0 ? bucket.partners : [""]) : { partner = partner, bucket = bucket.name, prefix = bucket.prefix } ]]))}',
    );
    // Only variables and the evaluated locals: what the scratch root evaluates is all there is to them.
    for (const name of partnerLocals) {
      const text = strings(stack.locals[name]).join('\n');
      expect(
        [...text.matchAll(/\blocal\.(\w+)/g)].map((match) => match[1]).filter((used) => !partnerLocals.includes(used!)),
        name,
      ).toEqual([]);
      expect(text, name).not.toMatch(/\b(google_\w+|data|module)\.\w+/);
    }
    expect(String(partnerOutputs.MEDIAFLOW_PARTNER_BUCKETS)).toMatch(/^\$\{join\(",", \[for grant in local\.partner_grants : /);
    const checks = block(resource(stack, 'terraform_data.input_checks'), 'lifecycle').flatMap((lifecycle) => block(lifecycle, 'precondition'));
    expect(checks.map((check) => check.condition)).toContain('${length(local.partner_bucket_clashes) == 0}');
  });

  describe('evaluated by OpenTofu (needs `tofu`, which .ci/run installs)', () => {
    it('has tofu to evaluate with', () => {
      // A missing tool fails here with its install hint; it never turns these checks into skips.
      expect(
        spawnSync('tofu', ['version'], { env: tofuEnv }).status,
        'tofu is missing: bash .ci/run builds OpenTofu, or see https://opentofu.org/docs/intro/install/',
      ).toBe(0);
    });

    it('writes nothing, grants nothing and asks partners for nothing by default', () => {
      const result = evaluatePartners({});
      expect(result).toEqual({
        ok: true,
        values: { MEDIAFLOW_PARTNER_BUCKETS: '', managed_partner_reads: {}, partner_bucket_clashes: [], partner_bucket_readers_grants: [] },
      });
      expect(loadConfig(gcpEnv('')).partnerGrants).toEqual([]);
    });

    it.each([
      ['any partner, whole bucket', [{ name: 'open-drop' }], 'open-drop', [{ partner: undefined, bucket: 'open-drop', prefix: '' }]],
      ['one partner, whole bucket', [{ name: 'acme-drop', partners: ['acme'] }], 'acme=acme-drop', [{ partner: 'acme', bucket: 'acme-drop', prefix: '' }]],
      [
        'one partner, one prefix',
        [{ name: 'acme-drop', partners: ['acme'], prefix: 'incoming/' }],
        'acme=acme-drop/incoming/',
        [{ partner: 'acme', bucket: 'acme-drop', prefix: 'incoming/' }],
      ],
      ['any partner, one prefix', [{ name: 'open-drop', prefix: 'in/' }], 'open-drop/in/', [{ partner: undefined, bucket: 'open-drop', prefix: 'in/' }]],
      [
        'two partners on a shared prefix, and several buckets',
        [
          { name: 'shared-drop', partners: ['acme', 'beta'], prefix: 'in/' },
          { name: 'open-drop' },
          { name: 'shared-drop', partners: ['gamma'], prefix: 'gamma/' },
        ],
        'acme=shared-drop/in/,beta=shared-drop/in/,open-drop,gamma=shared-drop/gamma/',
        [
          { partner: 'acme', bucket: 'shared-drop', prefix: 'in/' },
          { partner: 'beta', bucket: 'shared-drop', prefix: 'in/' },
          { partner: undefined, bucket: 'open-drop', prefix: '' },
          { partner: 'gamma', bucket: 'shared-drop', prefix: 'gamma/' },
        ],
      ],
    ] as const)('%s: one grant per (partner, bucket, prefix), in the runtime format', (_label, partner, rendered, grants) => {
      const result = evaluatePartners({ partner });
      expect(result.ok ? result.values.MEDIAFLOW_PARTNER_BUCKETS : result.error).toBe(rendered);
      // What the runtime makes of it (shared/config/partner-access.ts), with no problems.
      expect(loadConfig(gcpEnv(rendered)).partnerGrants).toEqual(grants);
    });

    it('keeps partners to their own grants once rendered', () => {
      const result = evaluatePartners({
        partner: [
          { name: 'shared-drop', partners: ['acme'], prefix: 'acme/' },
          { name: 'shared-drop', partners: ['beta'], prefix: 'beta/' },
        ],
      });
      const grants = loadConfig(gcpEnv(result.ok ? String(result.values.MEDIAFLOW_PARTNER_BUCKETS) : '')).partnerGrants;
      expect(partnerMayRead(grants, 'acme', 'shared-drop', 'acme/film.mov').allowed).toBe(true);
      expect(partnerMayRead(grants, 'acme', 'shared-drop', 'beta/film.mov').allowed).toBe(false);
      expect(partnerMayRead(grants, 'gamma', 'shared-drop', 'acme/film.mov').allowed).toBe(false);
    });

    it('grants objectViewer on the same buckets and prefixes: under an IAM condition for a prefix, for list too', () => {
      const result = evaluatePartners({
        partner: [
          { name: 'acme-drop', partners: ['acme'], prefix: 'incoming/', manage_iam: true },
          { name: 'open-drop', manage_iam: true },
          { name: 'beta-drop', partners: ['beta'], prefix: 'to-mediaflow/' },
          { name: 'gamma-drop', partners: ['gamma'] },
        ],
      });
      if (!result.ok) throw new Error(result.error);
      const managed = result.values.managed_partner_reads as Record<
        string,
        { bucket: string; prefix: string; condition: { title: string; expression: string } | null }
      >;
      expect(Object.keys(managed).sort()).toEqual(['acme-drop/incoming/', 'open-drop']);
      expect(managed['open-drop']).toMatchObject({ bucket: 'open-drop', prefix: '', condition: null });
      expect(managed['acme-drop/incoming/']).toMatchObject({
        bucket: 'acme-drop',
        prefix: 'incoming/',
        condition: { expression: prefixCondition('acme-drop', 'incoming/') },
      });
      expect(managed['acme-drop/incoming/']!.condition!.title).toMatch(/^mediaflow-partner-prefix-[0-9a-f]{12}$/);
      // What the partners who keep their own IAM are asked to grant, prefix and condition included.
      expect(result.values.partner_bucket_readers_grants).toMatchObject([
        {
          bucket: 'beta-drop',
          prefix: 'to-mediaflow/',
          role: 'roles/storage.objectViewer',
          condition: { expression: prefixCondition('beta-drop', 'to-mediaflow/') },
        },
        { bucket: 'gamma-drop', prefix: '', role: 'roles/storage.objectViewer', condition: null },
      ]);
      expect(result.values.partner_bucket_readers_grants).toHaveLength(2);
    });

    it.each([
      ['a partner name that is not one', { partner: [{ name: 'acme-drop', partners: ['Acme'] }] }, 'partners must be partner names'],
      ['a prefix with a leading slash', { partner: [{ name: 'acme-drop', prefix: '/incoming/' }] }, 'prefix must be'],
      ['a prefix with the list separator', { partner: [{ name: 'acme-drop', prefix: 'a,b/' }] }, 'prefix must be'],
      ['a prefix with the partner separator', { partner: [{ name: 'acme-drop', partners: ['acme'], prefix: 'a=b/' }] }, 'prefix must be'],
      ['a prefix with a quote', { partner: [{ name: 'acme-drop', prefix: 'a"b/' }] }, 'prefix must be'],
    ])('refuses %s', (_label, buckets, message) => {
      const result = evaluatePartners(buckets);
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.error).toContain(message);
    });

    it.each([
      ['the default ingest bucket', {}, 'acme-media-prod-mediaflow-ingest'],
      ['the default derivatives bucket', {}, 'acme-media-prod-mediaflow-derivatives'],
      ['a named ingest bucket', { ingest: { name: 'acme-uploads' } }, 'acme-uploads'],
    ])('refuses %s as a partner bucket (precondition)', (_label, named, bucket) => {
      const result = evaluatePartners({ ...named, partner: [{ name: bucket, partners: ['acme'] }, { name: 'acme-drop' }] });
      expect(result.ok ? result.values.partner_bucket_clashes : result.error).toEqual([bucket]);
    });
  });
});

describe('Firestore: indexes cover the queries the code declares; TTL on the idempotency records', () => {
  const indexes = Object.entries(firestore.indexes);
  const queries = declaredQueries();
  const ttl = firestore.ttl;

  it('reads the indexes and TTL fields generated from shared/domain/collections.ts', () => {
    expect(stack.locals.firestore).toBe('${jsondecode(file("${path.module}/generated/firestore.json"))}');
    expect(squash(stack.locals.firestore_indexes)).toBe(
      '${{ for name, index in local.firestore.indexes : name => { collection = index.collection, fields = index.fields } }}',
    );
    expect(stack.locals.firestore_ttl).toBe('${local.firestore.ttl}');
  });

  it('declares the code’s queries (status, incidents, fan-in, outbox, dead-letter failure lookup, reprocess jobs)', () => {
    expect(new Set(queries.map((query) => query.collection))).toEqual(
      new Set(['assets', 'deadLetters', 'rejections', 'results', 'outbox', 'failures', 'reprocessJobs']),
    );
  });

  it.each(queries.map((query) => [`${query.name} ${JSON.stringify({ where: query.equal, orderBy: query.orderBy })}`, query] as const))(
    '%s is served by an automatic or a declared index',
    (_label, query) => {
      const need = compositeIndexOf(query);
      if (!need) return;
      expect(indexes.filter(([, index]) => indexServes(index, need)).map(([name]) => name)).toHaveLength(1);
    },
  );

  it('declares no composite index that no query needs', () => {
    const needed = queries.map(compositeIndexOf).filter((need) => need !== undefined);
    for (const [name, index] of indexes)
      expect(
        needed.some((need) => indexServes(index, need)),
        name,
      ).toBe(true);
  });

  it('keeps the index names of the deployments made before they were generated (a renamed key replaces the index)', () => {
    expect(indexes.map(([name]) => name).sort()).toEqual([
      'assets_by_last_reprocess',
      'assets_by_status',
      'assets_by_status_created',
      'assets_by_status_oldest',
      'failures_by_payload',
      'outbox_by_asset',
      'results_by_step',
    ]);
  });

  it('creates the declared indexes in the database the code uses, scoped to the collection', () => {
    expect(resource(stack, 'google_firestore_index.this')).toMatchObject({
      for_each: '${local.firestore_indexes}',
      database: '(default)',
      query_scope: 'COLLECTION',
    });
    expect(resource(stack, 'google_firestore_database.this')).toMatchObject({ name: '(default)', type: 'FIRESTORE_NATIVE' });
    expect(readFileSync(path.join(repoRoot, 'shared/runtime/gcp.ts'), 'utf8')).not.toContain('databaseId');
  });

  it('puts TTL on the collections that declare a TTL field, with the expiry field unindexed and unqueried', () => {
    const declared = Object.values(collections).flatMap((collection: CollectionInfo) => (collection.ttlField ? [[collection.name, collection.ttlField]] : []));
    expect(Object.entries(ttl)).toEqual(declared);
    expect(Object.keys(ttl).sort()).toEqual(['failures', 'rejections']);
    expect(resource(stack, 'google_firestore_field.ttl')).toMatchObject({ for_each: '${local.firestore_ttl}', ttl_config: [{}], index_config: [{}] });
    const ttlFields = new Set(Object.values(ttl));
    expect(queries.filter((query) => [...query.equal, query.orderBy?.field].some((field) => field && ttlFields.has(field)))).toEqual([]);
  });

  it.each(Object.entries(ttl))('%s: the code sets %s on what it writes, or nothing would ever expire', (collection, field) => {
    // The edge (shared/runtime/handler.ts) writes both records; the integration test declared-needs.test.ts checks it at run time too.
    const writer = readFileSync(path.join(repoRoot, 'shared/runtime/handler.ts'), 'utf8');
    expect(writer).toContain(`collections.${collection}.doc(`);
    expect(writer).toMatch(new RegExp(`${field}: new Date\\(`));
  });
});

describe('buckets, upload trigger, schema, scheduler, registry', () => {
  it('makes both pipeline buckets uniform, never public, unversioned, with lifecycle rules', () => {
    const bucket = resource(stack, 'google_storage_bucket.this');
    expect(bucket).toMatchObject({ for_each: '${local.bucket_settings}', uniform_bucket_level_access: true, public_access_prevention: 'enforced' });
    expect(block(bucket, 'versioning')).toEqual([{ enabled: false }]);
    expect(dynamicBlock(bucket, 'lifecycle_rule')!.for_each).toBe('${each.value.lifecycle_rules}');
    expect(resource(stack, 'google_storage_bucket.builds')).toMatchObject({ uniform_bucket_level_access: true, public_access_prevention: 'enforced' });
  });

  it('defaults to the GCS notification upload trigger, with Eventarc as the option', () => {
    const variable = stack.variables.get('upload_trigger')!;
    expect(variable.default).toBe('notification');
    const notification = resource(stack, 'google_storage_notification.uploads');
    expect(notification).toMatchObject({ payload_format: 'JSON_API_V1', event_types: ['OBJECT_FINALIZE'], topic: '${local.topic_ids[local.roles.uploads]}' });
    expect(notification.count).toBe('${local.functions_deployed && var.upload_trigger == "notification" ? 1 : 0}');
    expect(resource(stack, 'google_pubsub_topic_iam_member.storage_agent_uploads')).toMatchObject({
      role: 'roles/pubsub.publisher',
      member: 'serviceAccount:${local.service_agents.storage}',
    });
  });

  it('sends the Eventarc finalize type the ingest decoder accepts, to ingest, as its own identity', () => {
    const trigger = resource(stack, 'google_eventarc_trigger.uploads');
    expect(block(trigger, 'matching_criteria')).toEqual([
      { attribute: 'type', value: eventarcFinalizedType },
      { attribute: 'bucket', value: '${google_storage_bucket.this["ingest"].name}' },
    ]);
    expect(block(block(trigger, 'destination')[0], 'cloud_run_service')).toEqual([
      { service: '${module.function["ingest"].service_name}', region: '${var.region}' },
    ]);
    expect(trigger.location).toBe('${var.region}');
    expect(squash(stack.locals.eventarc)).toBe('${local.functions_deployed && var.upload_trigger == "eventarc"}');
    expect(functionCall.invokers).toBe(
      '${each.key == "ingest" && local.eventarc ? { eventarc = "serviceAccount:${google_service_account.eventarc[0].email}" } : {}}',
    );
  });

  it('gives the partner ingest topic the generated Protocol Buffer schema, attached when enforced', () => {
    expect(resource(stack, 'google_pubsub_schema.ingest_requested')).toMatchObject({
      type: 'PROTOCOL_BUFFER',
      definition: '${file("${path.module}/generated/ingest-requested.v1.proto")}',
    });
    const topic = resource(stack, 'google_pubsub_topic.this');
    const settings = dynamicBlock(topic, 'schema_settings')!;
    expect(settings.for_each).toBe(
      '${each.key == local.roles.ingest_requests && var.ingest_requests.enforce_schema ? [google_pubsub_schema.ingest_requested.id] : []}',
    );
    expect(block(settings, 'content')).toEqual([{ schema: '${schema_settings.value}', encoding: 'JSON' }]);
  });

  it('schedules the watchdog, on its own topic, because the pipeline has a watchdog function', () => {
    const job = resource(stack, 'google_cloud_scheduler_job.watchdog');
    expect(job.count).toBe('${local.functions_deployed && local.watchdog != null ? 1 : 0}');
    expect(stack.locals.watchdog).toBe('${try(local.pipeline.functions["watchdog"], null)}');
    expect(block(job, 'pubsub_target')[0]!.topic_name).toBe('${local.topic_ids[local.watchdog.topics[0]]}');
    expect(spec.functions.watchdog?.topics).toEqual(['watchdog-ticks']);
  });

  it('schedules the reconcile of the ingest bucket only when `reconcile` is set, as a tick on the watchdog topic', () => {
    const job = resource(stack, 'google_cloud_scheduler_job.reconcile');
    expect(job.count).toBe('${local.functions_deployed && local.watchdog != null && var.reconcile != null ? 1 : 0}');
    expect(job.schedule).toBe('${var.reconcile.schedule}');
    const target = block(job, 'pubsub_target')[0]!;
    expect(target.topic_name).toBe('${local.topic_ids[local.watchdog.topics[0]]}');
    expect(target.data).toBe('${base64encode(jsonencode({ reconcile = { sinceHours = var.reconcile.since_hours } }))}');
  });

  it('keeps images in one Artifact Registry repository with immutable tags and cleanup', () => {
    const repository = resource(stack, 'google_artifact_registry_repository.images');
    expect(repository).toMatchObject({ format: 'DOCKER', docker_config: [{ immutable_tags: true }] });
    expect(block(repository, 'cleanup_policies').map((policy) => policy.action)).toEqual(['KEEP', 'DELETE']);
  });
});

describe('variables: typed objects with validation; roots and examples agree with the module', () => {
  it.each([...stack.variables].map(([name, variable]) => [name, variable] as const))('mediaflow.%s is typed and described', (_name, variable) => {
    expect(variable.type).toBeDefined();
    expect(typeof variable.description === 'string' && variable.description.length > 0).toBe(true);
  });

  it('validates every variable the operator is likely to get wrong', () => {
    const validated = [...stack.variables].filter(([, variable]) => block(variable, 'validation').length > 0).map(([name]) => name);
    expect(validated).toEqual(
      expect.arrayContaining(['project_id', 'region', 'prefix', 'image', 'buckets', 'upload_trigger', 'firestore', 'ingest_requests', 'retry', 'log_level']),
    );
  });

  it('the production root declares the module’s variables with the same types and defaults', () => {
    const root = modules.get('terraform/environments/prod')!;
    expect([...root.variables.keys()].sort()).toEqual([...stack.variables.keys()].sort());
    for (const [name, variable] of stack.variables) {
      const mine = root.variables.get(name)!;
      expect({ name, type: squash(mine.type), default: mine.default }).toEqual({ name, type: squash(variable.type), default: variable.default });
      expect(root.modules.get('mediaflow')![name], name).toBe(`\${var.${name}}`);
    }
    expect(root.terraform.map((t) => t.backend)).toEqual([{ gcs: [{ prefix: 'mediaflow/prod' }] }]);
  });

  it('terraform.tfvars.example sets real variables, the required ones, and sizes real functions', async () => {
    const file = path.join(terraformRoot, 'environments/prod/terraform.tfvars.example');
    const values = (await parse('terraform.tfvars', readFileSync(file, 'utf8'))) as Record<string, unknown>;
    const root = modules.get('terraform/environments/prod')!;
    expect(Object.keys(values).filter((key) => !root.variables.has(key))).toEqual([]);
    const required = [...root.variables].filter(([, variable]) => !('default' in variable)).map(([name]) => name);
    expect(required.filter((name) => !(name in values))).toEqual([]);
    expect(Object.keys(values.functions as object).filter((name) => !(name in spec.functions))).toEqual([]);
  });

  it('the README’s deploy section sets real variables and reads real outputs', async () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy'));
    const hcl = /```hcl\n([\s\S]+?)```/.exec(deploy)![1]!;
    const values = (await parse('README.tfvars', hcl)) as Record<string, unknown>;
    const root = modules.get('terraform/environments/prod')!;
    expect(Object.keys(values).filter((key) => !root.variables.has(key))).toEqual([]);
    const required = [...root.variables].filter(([, variable]) => !('default' in variable)).map(([name]) => name);
    expect(required.filter((name) => !(name in values))).toEqual([]);
    const outputs = [...deploy.matchAll(/output (?:-raw |-json )?(\w+)/g)].map((match) => match[1]!);
    expect(outputs.length).toBeGreaterThan(2);
    expect(outputs.filter((name) => !root.outputs.has(name))).toEqual([]);
  });

  it('the minimal example instantiates the module with only the required inputs (and its disposable settings)', () => {
    const example = modules.get('terraform/examples/minimal')!;
    const call = example.modules.get('mediaflow')!;
    expect(call.source).toBe('../../modules/mediaflow');
    expect(
      Object.keys(call)
        .filter((key) => key !== 'source')
        .sort(),
    ).toEqual(['buckets', 'deletion_protection', 'firestore', 'image', 'project_id', 'region']);
    expect(existsSync(path.join(terraformRoot, 'examples/minimal/main.tf'))).toBe(true);
  });
});

/** One local of the module evaluated by OpenTofu in a scratch root, from the module's own variables.tf and expression. */
function evaluateLocal(name: string, variables: Record<string, unknown>): Evaluated {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-tofu-'));
  try {
    copyFileSync(path.join(terraformRoot, 'modules/mediaflow/variables.tf'), path.join(dir, 'variables.tf'));
    writeFileSync(path.join(dir, 'local.tf'), `locals {\n  ${name} = ${toHcl(stack.locals[name])}\n}\noutput "${name}" {\n  value = local.${name}\n}\n`);
    writeFileSync(
      path.join(dir, 'terraform.tfvars.json'),
      JSON.stringify({ project_id: 'acme-media-prod', region: 'europe-west1', firestore: { location_id: 'eur3' }, ...variables }),
    );
    const apply = spawnSync('tofu', [`-chdir=${dir}`, 'apply', '-auto-approve', '-input=false', '-no-color'], { encoding: 'utf8', env: tofuEnv });
    if (apply.status !== 0) return { ok: false, error: `${apply.stderr}${apply.stdout}`.replace(/\s+/g, ' ') };
    const output = spawnSync('tofu', [`-chdir=${dir}`, 'output', '-json', '-no-color'], { encoding: 'utf8', env: tofuEnv });
    return { ok: true, values: { [name]: (JSON.parse(output.stdout) as Record<string, { value: unknown }>)[name]!.value } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the tag step’s Vertex AI configuration reaches the deployed functions that declare it', () => {
  it('passes each function the common configuration plus the configuration groups it declares', () => {
    expect(functionCall.env).toBe('${merge(local.function_env, local.function_config_env[each.key])}');
    expect(squash(stack.locals.function_config_env)).toBe(
      '${{ for name, fn in local.pipeline.functions : name => merge([for group in fn.needs.config : local.config_env[group]]...) }}',
    );
    expect(Object.keys(stack.locals.config_env as Attrs).sort()).toEqual(Object.keys(CONFIG_GROUPS).sort());
    expect((stack.locals.config_env as Attrs).vertex).toBe('${local.vertex_env}');
    expect(squash(modules.get('terraform/environments/prod')!.variables.get('vertex')!.type)).toBe(squash(stack.variables.get('vertex')!.type));
  });

  it.each<[string, Record<string, string> | null, Record<string, string>, { project: string; location: string; model?: string } | undefined]>([
    ['off by default: technical signals only', null, {}, undefined],
    [
      'a location: the deployment’s own project',
      { location: 'europe-west4' },
      { MEDIAFLOW_VERTEX_PROJECT: 'acme-media-prod', MEDIAFLOW_VERTEX_LOCATION: 'europe-west4' },
      { project: 'acme-media-prod', location: 'europe-west4' },
    ],
    [
      'another project and a model',
      { location: 'us-central1', project: 'acme-ai', model: 'gemini-2.5-pro' },
      { MEDIAFLOW_VERTEX_PROJECT: 'acme-ai', MEDIAFLOW_VERTEX_LOCATION: 'us-central1', MEDIAFLOW_VERTEX_MODEL: 'gemini-2.5-pro' },
      { project: 'acme-ai', location: 'us-central1', model: 'gemini-2.5-pro' },
    ],
  ])('%s', (_case, vertex, expected, config) => {
    const result = evaluateLocal('vertex_env', vertex === null ? {} : { vertex });
    expect(result).toEqual({ ok: true, values: { vertex_env: expected } });
    // What the functions get is what loadConfig needs to call Gemini.
    expect(loadConfig({ ...gcpEnv(''), ...expected }).vertex).toEqual(config);
  });

  /** Each function's configuration-group environment, evaluated by OpenTofu from the module's own locals and the generated pipeline. */
  function evaluateFunctionConfigEnv(variables: Record<string, unknown>): Evaluated {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-tofu-'));
    try {
      copyFileSync(path.join(terraformRoot, 'modules/mediaflow/variables.tf'), path.join(dir, 'variables.tf'));
      const names = ['vertex_env', 'config_env', 'function_config_env'];
      const locals = [`  pipeline = jsondecode(file(${JSON.stringify(pipelineJsonFile)}))`, ...names.map((name) => `  ${name} = ${toHcl(stack.locals[name])}`)];
      writeFileSync(path.join(dir, 'env.tf'), `locals {\n${locals.join('\n')}\n}\noutput "function_config_env" {\n  value = local.function_config_env\n}\n`);
      writeFileSync(
        path.join(dir, 'terraform.tfvars.json'),
        JSON.stringify({ project_id: 'acme-media-prod', region: 'europe-west1', firestore: { location_id: 'eur3' }, ...variables }),
      );
      const apply = spawnSync('tofu', [`-chdir=${dir}`, 'apply', '-auto-approve', '-input=false', '-no-color'], { encoding: 'utf8', env: tofuEnv });
      if (apply.status !== 0) return { ok: false, error: `${apply.stderr}${apply.stdout}`.replace(/\s+/g, ' ') };
      const output = spawnSync('tofu', [`-chdir=${dir}`, 'output', '-json', '-no-color'], { encoding: 'utf8', env: tofuEnv });
      return { ok: true, values: (JSON.parse(output.stdout) as Record<string, { value: Record<string, unknown> }>).function_config_env!.value };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('gives the tag function MEDIAFLOW_VERTEX_PROJECT, _LOCATION and _MODEL when vertex is set, and no other function any', () => {
    const result = evaluateFunctionConfigEnv({ vertex: { location: 'europe-west4', model: 'gemini-2.5-pro' } });
    if (!result.ok) throw new Error(result.error);
    const vertex = { MEDIAFLOW_VERTEX_PROJECT: 'acme-media-prod', MEDIAFLOW_VERTEX_LOCATION: 'europe-west4', MEDIAFLOW_VERTEX_MODEL: 'gemini-2.5-pro' };
    expect(Object.keys(result.values).sort()).toEqual(Object.keys(spec.functions).sort());
    for (const [name, fn] of Object.entries(spec.functions)) {
      // What the declaration says: the variables of each group the function declares, and nothing else.
      const expected = fn.needs.config.includes('vertex') ? vertex : {};
      expect(result.values[name], name).toEqual(expected);
      expect(
        Object.keys(result.values[name] as object).every((key) => fn.needs.config.some((group) => CONFIG_GROUPS[group].env.includes(key))),
        name,
      ).toBe(true);
    }
    expect(result.values.tag).toEqual(vertex);
  });

  it('gives no function any Vertex variable when vertex is not set', () => {
    const result = evaluateFunctionConfigEnv({});
    expect(result).toEqual({ ok: true, values: Object.fromEntries(Object.keys(spec.functions).map((name) => [name, {}])) });
  });

  it('refuses a location that is not one', () => {
    const result = evaluateLocal('vertex_env', { vertex: { location: 'Europe West' } });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain('vertex.location must be a Google Cloud location');
  });

  it('lets the Vertex AI service agent read the derivatives bucket, and only when Vertex is on and a function declares Vertex AI', () => {
    const grant = resource(stack, 'google_storage_bucket_iam_member.vertex_agent_derivatives');
    expect(squash(stack.locals.uses_vertex_ai)).toBe('${anytrue([for fn in local.pipeline.functions : fn.needs.vertex_ai])}');
    expect(grant).toMatchObject({
      count: '${var.vertex != null && local.uses_vertex_ai ? 1 : 0}',
      bucket: '${google_storage_bucket.this["derivatives"].name}',
      role: 'roles/storage.objectViewer',
      member: 'serviceAccount:${local.service_agents.aiplatform}',
    });
    expect((stack.locals.service_agents as Record<string, string>).aiplatform).toBe(
      'service-${data.google_project.vertex.number}@gcp-sa-aiplatform.iam.gserviceaccount.com',
    );
  });
});
