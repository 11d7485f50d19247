/**
 * The trace-reading flags `replay` and `evaluate` share, and their translation into TraceOptions.
 */
import { Option, type Command } from 'commander';
import type { TraceOptions } from '../sim/trace-reader.ts';
import { parsePositiveInt } from './parse.ts';

/** Adds --format, --key, --session, --user, --time, --time-unit, --delimiter, --header, --strict and --limit to `command`. */
export function addTraceFlags(command: Command): Command {
  return command
    .option('--format <format>', 'delimited | sessions | keys | arc (guessed when absent)')
    .option('--key <column>', 'key column: name (with --header) or 0-based index')
    .option('--session <column>', 'session column')
    .option('--user <column>', 'user column')
    .option('--time <column>', 'time column (unix seconds, unix ms or ISO 8601)')
    .addOption(new Option('--time-unit <unit>', 'how the time column is written; auto: numbers below 1e11 are seconds, others ms, else ISO 8601 (UTC without an offset)').choices(['auto', 's', 'ms', 'iso']).default('auto'))
    .option('--delimiter <text>', "field separator; 'tab' or '\\t' for tabs")
    .option('--header', 'the first line names the columns')
    .option('--no-header', 'the first line is data')
    .option('--strict', 'a malformed line is fatal (default: counted and skipped)')
    .option('--limit <n>', 'read at most n requests', parsePositiveInt);
}

/** TraceOptions from parsed flags. */
export function traceOptionsFrom(flags: Record<string, unknown>): TraceOptions {
  return {
    format: flags.format as TraceOptions['format'],
    key: flags.key as string | undefined,
    session: flags.session as string | undefined,
    user: flags.user as string | undefined,
    time: flags.time as string | undefined,
    timeUnit: flags.timeUnit as TraceOptions['timeUnit'],
    delimiter: flags.delimiter as string | undefined,
    header: flags.header as boolean | undefined,
    strict: flags.strict === true,
    limit: flags.limit as number | undefined,
  };
}
