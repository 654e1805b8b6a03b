import type { NotifyConfig } from '../config/schema';
import { acceptHttp, acceptLark, deliver, type DeliveryOptions, type DeliveryResult } from './deliver';
import { bodyFor, type NotifyOutcome, type NotifySummary } from './payload';

/** How one configured channel fared. */
export interface ChannelOutcome {
  /** Position in the config's `notify` list: part of idempotent event ids. */
  index: number;
  kind: NotifyConfig['kind'];
  /** Scheme and host only: webhook paths often carry tokens, and events are shown to anyone. */
  target: string;
  result: DeliveryResult;
}

/** The scheme and host of a URL, never its path or query (Slack and Lark put tokens there). */
export function redactTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'invalid-url';
  }
}

/** The configured channels that want to hear about this ending, with their positions in the list. */
export function channelsFor(configs: readonly NotifyConfig[], outcome: NotifyOutcome): Array<{ index: number; config: NotifyConfig }> {
  return configs.map((config, index) => ({ index, config })).filter(({ config }) => config.on.includes(outcome));
}

/**
 * Sends the summary to every channel that asked for this ending, all at once, each within the same
 * budget, so the total time is that of the slowest channel. Never throws.
 */
export async function sendNotifications(
  channels: ReadonlyArray<{ index: number; config: NotifyConfig }>,
  summary: NotifySummary,
  options: DeliveryOptions = {},
): Promise<ChannelOutcome[]> {
  return Promise.all(channels.map(async ({ index, config }) => {
    const accept = config.kind === 'lark' ? acceptLark : acceptHttp;
    const result = await deliver(config.url, bodyFor(config.kind, summary), { accept, ...options }).catch(
      (err: unknown): DeliveryResult => ({ ok: false, attempts: 0, error: `unexpected: ${String(err)}`, elapsedMs: 0 }),
    );
    return { index, kind: config.kind, target: redactTarget(config.url), result };
  }));
}
