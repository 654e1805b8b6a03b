import { Command, type Option } from 'commander';
import { registerCommands } from '../../src/cli/commands';
import { addConnectionOptions } from '../../src/config/connection';

/** One runnable (leaf) command of the CLI: its words after `evalctl`, its arguments and options. */
export interface LeafCommand {
  words: string[];
  args: Array<{ name: string; required: boolean }>;
  options: Option[];
}

/** Every leaf command, enumerated from the same registerCommands the CLI uses, so a new command is covered. */
export function leafCommands(): LeafCommand[] {
  const program = addConnectionOptions(new Command('evalctl'));
  registerCommands(program);
  const out: LeafCommand[] = [];
  const walk = (cmd: Command, words: string[]): void => {
    for (const sub of cmd.commands) {
      const w = [...words, sub.name()];
      if (sub.commands.length > 0) walk(sub, w);
      else out.push({ words: w, args: sub.registeredArguments.map((a) => ({ name: a.name(), required: a.required })), options: [...sub.options] });
    }
  };
  walk(program, []);
  return out;
}

/** Malformed values for an option, by what it takes; [] when any text is acceptable (a path, a name). */
export function malformedValues(opt: Option): string[] {
  if (opt.argChoices) return ['no-such-choice', '', 'ALL'];
  const flags = opt.flags;
  if (/<(n|seconds|ms)>|-port /.test(flags)) return ['abc', '-1', '1e999', '0x', ''];
  if (flags.includes('<ids>')) return ['abc', '0,,1', '-1'];
  if (flags.includes('<model=rps...>')) return ['noequals', 'm=abc', 'm=-1'];
  if (flags.includes('<pairs...>')) return ['bogus', 'inference', 'inference abc'];
  if (flags.startsWith('--id ')) return ['../x', 'a b', 'x'.repeat(300)];
  if (flags.startsWith('--reuse ')) return ['../x', 'no-such-assignment'];
  return [];
}

/** Ids that are not assignment ids at all, and one that is well formed but unknown. */
export const MALFORMED_IDS = ['../etc/passwd', 'a b', 'x'.repeat(300), '$where', '{"$gt":""}', 'id\u0001ctl', '.hidden', '*'];
/** A well-formed id no assignment has. */
export const UNKNOWN_ID = 'no-such-assignment-20240101';
