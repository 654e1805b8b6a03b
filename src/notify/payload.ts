import type { Counts } from '../contracts';
import type { NotifyConfig } from '../config/schema';
import type { MetricSummary } from '../store/documents';

/**
 * What a notification says about an ending assignment, and its three wire formats: a plain JSON
 * webhook body, a Slack incoming-webhook message and a Lark (Feishu) bot message.
 */

/** Endings that notify. */
export type NotifyOutcome = 'completed' | 'failed' | 'canceled';

/** One job in a notification. */
export interface NotifyJob {
  jobId: string;
  modelId: string;
  taskId: string;
  status: string;
  score: MetricSummary | null;
}

/** Everything a notification tells, whatever its channel. */
export interface NotifySummary {
  assignmentId: string;
  name: string;
  status: NotifyOutcome;
  error?: string;
  counts: Counts;
  jobs: NotifyJob[];
  startedAt?: string;
  endedAt: string;
  durationMs?: number;
  uiUrl?: string;
}

/** The body of a `webhook` notification: versioned JSON, one event name per ending. */
export interface WebhookBody extends NotifySummary {
  version: 1;
  event: `assignment.${NotifyOutcome}`;
}

/** The webhook body of a summary. */
export function webhookBody(summary: NotifySummary): WebhookBody {
  return { version: 1, event: `assignment.${summary.status}`, ...summary };
}

const ICON: Record<NotifyOutcome, string> = { completed: '✅', failed: '❌', canceled: '⏹️' };

function scoreLine(job: NotifyJob): string {
  if (!job.score) return `${job.jobId}: ${job.status}, no score`;
  const [lo, hi] = job.score.ci95;
  return `${job.jobId}: ${job.score.mean.toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}] (n=${job.score.n})`;
}

/** The title line every chat message starts with. */
export function titleOf(summary: NotifySummary): string {
  return `${ICON[summary.status]} evalctl ${summary.name} ${summary.status} (${summary.assignmentId})`;
}

/** The plain-text body of a chat message: counts, error, one line per job (at most 20) and the UI link. */
export function textLines(summary: NotifySummary, maxJobs = 20): string[] {
  const c = summary.counts;
  const lines = [`${c.total} samples: ${c.succeeded} succeeded, ${c.reused} reused, ${c.failed} failed, ${c.canceled} canceled`];
  if (summary.error) lines.push(`error: ${summary.error}`);
  for (const job of summary.jobs.slice(0, maxJobs)) lines.push(scoreLine(job));
  if (summary.jobs.length > maxJobs) lines.push(`… and ${summary.jobs.length - maxJobs} more jobs`);
  if (summary.uiUrl) lines.push(summary.uiUrl);
  return lines;
}

/** A Slack incoming-webhook message: `text` for notifications and clients without blocks, plus blocks. */
export interface SlackBody {
  text: string;
  blocks: Array<{ type: 'header'; text: { type: 'plain_text'; text: string } } | { type: 'section'; text: { type: 'mrkdwn'; text: string } }>;
}

/** Slack's mrkdwn needs &, < and > escaped. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The Slack message of a summary. */
export function slackBody(summary: NotifySummary): SlackBody {
  const title = titleOf(summary);
  const lines = textLines(summary).map(slackEscape);
  return {
    text: `${title}\n${lines.join('\n')}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
    ],
  };
}

/** A Lark/Feishu custom-bot message in the rich-text `post` format. */
export interface LarkBody {
  msg_type: 'post';
  content: { post: { en_us: { title: string; content: Array<Array<{ tag: 'text'; text: string }>> } } };
}

/** The Lark message of a summary: a title and one paragraph per line. */
export function larkBody(summary: NotifySummary): LarkBody {
  return {
    msg_type: 'post',
    content: { post: { en_us: { title: titleOf(summary), content: textLines(summary).map((text) => [{ tag: 'text', text }]) } } },
  };
}

/** The body a channel gets. */
export function bodyFor(kind: NotifyConfig['kind'], summary: NotifySummary): WebhookBody | SlackBody | LarkBody {
  if (kind === 'slack') return slackBody(summary);
  if (kind === 'lark') return larkBody(summary);
  return webhookBody(summary);
}
