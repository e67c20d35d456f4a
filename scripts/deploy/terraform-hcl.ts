/**
 * Terraform modules as data, for the consistency tests: every `.tf` file of a folder parsed with
 * @cdktf/hcl2json (HCL's own parser, compiled to WebAssembly) and merged into one module. Expressions stay
 * as strings (`"${var.x}"`); the tests compare them with what the code implies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { repoRoot } from './module-graph.ts';

export const terraformRoot = path.join(repoRoot, 'terraform');

export type Attrs = Record<string, unknown>;

export interface HclModule {
  /** Repository-relative folder. */
  readonly dir: string;
  readonly files: readonly string[];
  /** `type.name` → the block's attributes and nested blocks. */
  readonly resources: ReadonlyMap<string, Attrs>;
  readonly data: ReadonlyMap<string, Attrs>;
  readonly modules: ReadonlyMap<string, Attrs>;
  readonly variables: ReadonlyMap<string, Attrs>;
  readonly outputs: ReadonlyMap<string, Attrs>;
  readonly locals: Readonly<Attrs>;
  readonly terraform: readonly Attrs[];
  readonly providers: ReadonlyMap<string, Attrs>;
  readonly checks: ReadonlyMap<string, Attrs>;
}

type Parsed = {
  resource?: Record<string, Record<string, Attrs[]>>;
  data?: Record<string, Record<string, Attrs[]>>;
  module?: Record<string, Attrs[]>;
  variable?: Record<string, Attrs[]>;
  output?: Record<string, Attrs[]>;
  locals?: Attrs[];
  terraform?: Attrs[];
  provider?: Record<string, Attrs[]>;
  check?: Record<string, Attrs[]>;
};

function addUnique(map: Map<string, Attrs>, key: string, blocks: Attrs[] | undefined, file: string): void {
  for (const block of blocks ?? []) {
    if (map.has(key)) throw new Error(`${file}: '${key}' is declared twice`);
    map.set(key, block);
  }
}

export async function loadModule(dir: string): Promise<HclModule> {
  const absolute = path.resolve(repoRoot, dir);
  const files = readdirSync(absolute)
    .filter((file) => file.endsWith('.tf'))
    .sort();
  const resources = new Map<string, Attrs>();
  const data = new Map<string, Attrs>();
  const modules = new Map<string, Attrs>();
  const variables = new Map<string, Attrs>();
  const outputs = new Map<string, Attrs>();
  const providers = new Map<string, Attrs>();
  const checks = new Map<string, Attrs>();
  const locals: Attrs = {};
  const terraform: Attrs[] = [];
  for (const file of files) {
    const parsed = (await parse(file, readFileSync(path.join(absolute, file), 'utf8'))) as Parsed;
    for (const [type, named] of Object.entries(parsed.resource ?? {}))
      for (const [name, blocks] of Object.entries(named)) addUnique(resources, `${type}.${name}`, blocks, file);
    for (const [type, named] of Object.entries(parsed.data ?? {}))
      for (const [name, blocks] of Object.entries(named)) addUnique(data, `${type}.${name}`, blocks, file);
    for (const [name, blocks] of Object.entries(parsed.module ?? {})) addUnique(modules, name, blocks, file);
    for (const [name, blocks] of Object.entries(parsed.variable ?? {})) addUnique(variables, name, blocks, file);
    for (const [name, blocks] of Object.entries(parsed.output ?? {})) addUnique(outputs, name, blocks, file);
    for (const [name, blocks] of Object.entries(parsed.provider ?? {})) addUnique(providers, name, blocks, file);
    for (const [name, blocks] of Object.entries(parsed.check ?? {})) addUnique(checks, name, blocks, file);
    for (const block of parsed.locals ?? []) {
      for (const [key, value] of Object.entries(block)) {
        if (key in locals) throw new Error(`${file}: local '${key}' is declared twice`);
        locals[key] = value;
      }
    }
    terraform.push(...(parsed.terraform ?? []));
  }
  return { dir: path.relative(repoRoot, absolute), files, resources, data, modules, variables, outputs, locals, terraform, providers, checks };
}

/** Every folder under terraform/ that holds `.tf` files. */
export function moduleDirs(root = terraformRoot): string[] {
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((entry) => entry.isFile() && entry.name.endsWith('.tf'))) dirs.push(path.relative(repoRoot, dir));
    for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith('.')) walk(path.join(dir, entry.name));
  };
  walk(root);
  return dirs.sort();
}

/** A nested block: hcl2json gives blocks as arrays of objects. */
export function block(attrs: Attrs | undefined, name: string): Attrs[] {
  const value = attrs?.[name];
  return Array.isArray(value) ? (value as Attrs[]) : [];
}

/** The `content`-bearing spec of a `dynamic "<type>"` block: hcl2json gives `dynamic` as an object by block type. */
export function dynamicBlock(attrs: Attrs | undefined, type: string): Attrs | undefined {
  const dynamic = attrs?.dynamic as Record<string, Attrs[]> | undefined;
  return dynamic?.[type]?.[0];
}

/** Every string anywhere in a parsed value (attributes, nested blocks, lists). */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** `resource.type.name` addresses of a given type. */
export function ofType(module: HclModule, type: string): [string, Attrs][] {
  return [...module.resources].filter(([address]) => address.startsWith(`${type}.`));
}
