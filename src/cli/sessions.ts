import { Command, Option } from 'commander';
import type { SessionDoc } from '../store/documents';
import { printJson, withServices } from './services';

/** One live session as `sessions` shows it. */
export interface SessionRow {
  assignmentId: string;
  task: string;
  model: string;
  sample: number;
  environment: string;
  session: string;
  worker: string;
  turn: number;
  ageSeconds: number;
}

/**
 * `evalctl sessions`: the live environment sessions of agent tasks (task, sample, worker, turn, age), like
 * AgentBench's list_sessions. Task workers write them to MongoDB's `sessions` collection as they start and
 * step them and remove them when they end, so every worker of every host is seen in one read.
 */
export function sessionsCommand(): Command {
  return new Command('sessions')
    .description('list live environment sessions of agent tasks: task, sample, worker, turn, age')
    .addOption(new Option('--assignment <id>', 'only sessions of this assignment'))
    .addOption(new Option('--json', 'print JSON on stdout'))
    .action(async (opts: { assignment?: string; json?: boolean }, command: Command) => {
      await withServices(command, async ({ store }) => {
        const docs = await store.sessions.find(opts.assignment ? { assignmentId: opts.assignment } : {}).toArray();
        const rows = sessionRows(docs, Date.now());
        if (opts.json) return printJson(rows);
        process.stdout.write(sessionTable(rows));
      });
    });
}

/** Rows from session documents, oldest first. */
export function sessionRows(docs: SessionDoc[], now: number): SessionRow[] {
  return docs
    .map((d) => ({
      assignmentId: d.assignmentId, task: d.taskId, model: d.modelId, sample: d.sampleIndex, environment: d.environment,
      session: d.sessionId, worker: d.worker, turn: d.turn, ageSeconds: Math.max(0, Math.round((now - d.startedAt.getTime()) / 1000)),
    }))
    .sort((a, b) => b.ageSeconds - a.ageSeconds);
}

/** A plain table of sessions for people. */
export function sessionTable(rows: SessionRow[]): string {
  if (rows.length === 0) return 'no live sessions\n';
  const lines = [['ASSIGNMENT', 'TASK', 'MODEL', 'SAMPLE', 'SESSION', 'WORKER', 'TURN', 'AGE']];
  for (const r of rows) lines.push([r.assignmentId, r.task, r.model, String(r.sample), r.session, r.worker, String(r.turn), `${r.ageSeconds}s`]);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return `${lines.map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')}\n`;
}
