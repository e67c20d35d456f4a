#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The mediaflow CLI. Exit codes: 0 success, 1 some asset did not reach READY, 2 usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, errorMessage } from '../shared/errors.ts';
import { deadLettersCommand, rejectionsCommand } from './commands/incidents.ts';
import { processCommand } from './commands/process.ts';
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
  rejections                   events that failed validation and were dropped on purpose

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
      return deadLettersCommand({ out, json: values.json, limit });
    case 'rejections':
      return rejectionsCommand({ out, json: values.json, limit });
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
