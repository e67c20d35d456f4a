#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The mediaflow CLI. Exit codes: 0 success, 1 some asset did not reach READY, 2 usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, errorMessage } from '../shared/errors.ts';
import { deadLettersCommand, rejectionsCommand } from './commands/incidents.ts';
import { costCommand } from './commands/cost.ts';
import { processCommand } from './commands/process.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { replayCommand } from './commands/replay.ts';
import { reprocessCommand } from './commands/reprocess.ts';
import { statusCommand } from './commands/status.ts';
import { DEFAULT_OUT_DIR, UsageError } from './options.ts';
import { printableLines } from './terminal-text.ts';

const usage = `usage: mediaflow <command> [options]

commands:
  process <files or dirs...>   run the whole pipeline on one machine (embedded runtime)
      --json                   one JSON object per asset on stdout
      --profile NAME           processing profile for these uploads
      --verbose                structured logs on stderr
  status [asset id]            list assets, or show one asset in detail
      --status STATUS          only assets in this status (READY, FAILED, ...)
      --json
  dead-letters                 messages that ran out of delivery attempts
  dead-letters replay          publish dead messages again and re-open the assets they failed; on the embedded
                               runtime, runs them to the end before returning
      --id ID                  one record (its id from \`dead-letters --json\`, or <subscription>:<event id>)
      --function F             the records of one function (checksum, ingest, coordinator, ...)
      --since T                records dead-lettered since T (ISO 8601, or a span: 24h, 7d); combines with --function
      --dry-run                say what would be replayed, change nothing
      --force                  replay records already replayed (an asset already READY ignores it)
  rejections                   events that failed validation and were dropped on purpose
  reconcile                    ingest the objects of the ingest bucket that have no asset (lost notifications,
                               uploads from before the deployment); on the embedded runtime, runs them to the end
      --prefix P               only object names starting with P
      --since T                only objects updated since T (ISO 8601, or a span: 24h, 7d)
      --rate N                 notifications per second (default 10)
      --dry-run                list what would be ingested, send nothing
  reprocess                    re-run a step, and the steps that depend on it, on READY assets; outputs switch
                               to the new recipe only when every re-run step succeeded (asset.updated); on the
                               embedded runtime, runs them to the end before returning
      --step S                 the step to re-run (checksum, thumbnail, audio, hls-segment, tag, ...)
      --status READY           the assets to take: only READY ones are reprocessed
      --kind K                 only image, audio or video assets
      --where recipe<N         only assets whose outputs of S came from a matching recipe (<, <=, =, !=, >=, >)
      --rate R                 runs started per second: 20, 20/s or 600/min (default 5)
      --dry-run                count what would be re-run, start nothing
      --resume JOB             go on with a stopped job (its id is printed at the start), or report on it
      --list                   the newest jobs (--limit), with their runs updated, failed and in flight
  cost                         what processing cost (CPU, GiB-seconds, bytes, tokens, an estimate in dollars)
      --since T                assets updated since T (ISO 8601, or a span: 24h, 7d)
      --group-by G             one row per kind, partner or profile
      --json                   one JSON object per row

common options:
  --out DIR                    where the buckets and the state live (default ./${DEFAULT_OUT_DIR}, or MEDIAFLOW_DATA_DIR)
  --limit N                    rows to list (default 50)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      profile: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      status: { type: 'string' },
      limit: { type: 'string', default: '50' },
      id: { type: 'string' },
      function: { type: 'string' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'group-by': { type: 'string' },
      prefix: { type: 'string' },
      rate: { type: 'string' },
      step: { type: 'string' },
      kind: { type: 'string' },
      where: { type: 'string' },
      resume: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return command || values.help ? 0 : 2;
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got '${values.limit}'`);
  const out = values.out;
  switch (command) {
    case 'process':
      return processCommand({ paths: rest, out, json: values.json, profile: values.profile, verbose: values.verbose });
    case 'status':
      return statusCommand({ id: rest[0], out, json: values.json, status: values.status, limit });
    case 'dead-letters':
      if (rest[0] === 'replay')
        return replayCommand({
          out,
          json: values.json,
          verbose: values.verbose,
          id: values.id,
          function: values.function,
          since: values.since,
          dryRun: values['dry-run'],
          force: values.force,
        });
      if (rest.length > 0) throw new UsageError(`unknown dead-letters subcommand '${rest[0]}'\n\n${usage}`);
      return deadLettersCommand({ out, json: values.json, limit });
    case 'rejections':
      return rejectionsCommand({ out, json: values.json, limit });
    case 'reconcile':
      return reconcileCommand({
        out,
        json: values.json,
        verbose: values.verbose,
        prefix: values.prefix,
        since: values.since,
        rate: values.rate,
        dryRun: values['dry-run'],
      });
    case 'reprocess':
      if (rest.length > 0) throw new UsageError(`reprocess takes no arguments, got '${rest[0]}'\n\n${usage}`);
      return reprocessCommand({
        out,
        json: values.json,
        verbose: values.verbose,
        step: values.step,
        status: values.status,
        kind: values.kind,
        where: values.where,
        rate: values.rate,
        resume: values.resume,
        dryRun: values['dry-run'],
        list: values.list,
        limit,
      });
    case 'cost':
      return costCommand({ out, json: values.json, since: values.since, groupBy: values['group-by'] });
    default:
      throw new UsageError(`unknown command '${command}'\n\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const expected = error instanceof UsageError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // Messages quote user input (ids, paths): shown escaped, like everything else the CLI prints.
    process.stderr.write(`mediaflow: ${printableLines(expected ? errorMessage(error) : ((error as Error).stack ?? errorMessage(error)))}\n`);
    process.exitCode = 2;
  },
);
