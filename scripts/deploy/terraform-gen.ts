/**
 * Writes what Terraform reads from the code into terraform/modules/mediaflow/generated/:
 *   pipeline.json                 topics, subscriptions, ack deadlines, retry defaults and each function's declared needs
 *   firestore.json                the composite indexes of the declared queries, and the TTL fields
 *   ingest-requested.v1.proto     the partner ingest topic's Pub/Sub schema, from its JSON Schema
 * `--check` fails when a committed file is stale (a timeout, a step, a declaration or a schema changed without regenerating).
 *
 *   node scripts/deploy/terraform-gen.ts [--check]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  firestoreJsonFile,
  generatedDir,
  generatedJson,
  ingestProtoFile,
  ingestRequestedProto,
  pipelineJsonFile,
  terraformFirestore,
  terraformPipeline,
} from './terraform-pipeline.ts';

export function generatedTerraformFiles(): Map<string, string> {
  return new Map([
    [pipelineJsonFile, generatedJson(terraformPipeline())],
    [firestoreJsonFile, generatedJson(terraformFirestore())],
    [ingestProtoFile, ingestRequestedProto()],
  ]);
}

/** The generated files whose committed content differs from what the code implies. */
export async function staleTerraformFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, content] of generatedTerraformFiles()) {
    const committed = await readFile(file, 'utf8').catch(() => '');
    if (committed !== content) stale.push(file);
  }
  return stale;
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, '..', '..');
  if (process.argv.includes('--check')) {
    const stale = await staleTerraformFiles();
    if (stale.length > 0) {
      console.error(`stale: ${stale.map((file) => path.relative(root, file)).join(', ')}; run \`node scripts/deploy/terraform-gen.ts\``);
      process.exit(1);
    }
  } else {
    await mkdir(generatedDir, { recursive: true });
    for (const [file, content] of generatedTerraformFiles()) {
      await writeFile(file, content);
      console.log(`wrote ${path.relative(root, file)}`);
    }
  }
}
