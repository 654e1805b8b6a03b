import { ErrorTypes } from '../contracts/errors';
import type { ChatMessageTemplate, TaskConfig } from '../config/schema';
import type { Sample } from '../datasets/types';
import type { ChatMessage } from './types';

/** A template slot has no value in the sample: the task's prompt and its dataset disagree. */
export class PromptError extends Error {
  override name = 'PromptError';
  readonly type = ErrorTypes.ConfigInvalid;
  readonly retryable = false;
}

const SLOT = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** Fills `{{field}}` slots (dots reach into nested objects); a missing field is a PromptError naming it. */
export function fillTemplate(template: string, fields: Record<string, unknown>, where = 'sample'): string {
  return template.replace(SLOT, (_m, name: string) => {
    let value: unknown = fields;
    for (const part of name.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (value === undefined || value === null) {
      throw new PromptError(`prompt slot {{${name}}} has no value in ${where} (fields: ${Object.keys(fields).join(', ') || 'none'})`);
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function templateMessages(task: Pick<TaskConfig, 'prompt'>): ChatMessageTemplate[] {
  return typeof task.prompt === 'string' ? [{ role: 'user', content: task.prompt }] : task.prompt;
}

/**
 * Renders a task's prompt for one sample: leading system messages once, then each few-shot example
 * (its rendered turns plus the answer as an assistant turn), then the sample's turns. `prompt` is the
 * same conversation flattened for completions endpoints and command providers.
 */
export function renderPrompt(task: Pick<TaskConfig, 'prompt' | 'fewShot'>, sample: Pick<Sample, 'fields' | 'id'>): { messages: ChatMessage[]; prompt: string } {
  const template = templateMessages(task);
  const firstTurn = template.findIndex((m) => m.role !== 'system');
  const system = firstTurn === -1 ? template : template.slice(0, firstTurn);
  const turns = firstTurn === -1 ? [] : template.slice(firstTurn);
  const render = (fields: Record<string, unknown>, where: string): ChatMessage[] =>
    turns.map((m) => ({ role: m.role, content: fillTemplate(m.content, fields, where) }));
  const messages: ChatMessage[] = system.map((m) => ({ role: m.role, content: fillTemplate(m.content, sample.fields, `sample ${sample.id}`) }));
  (task.fewShot ?? []).forEach((example, i) => {
    messages.push(...render(example.fields, `fewShot[${i}]`), { role: 'assistant', content: example.target });
  });
  messages.push(...render(sample.fields, `sample ${sample.id}`));
  return { messages, prompt: flatten(messages) };
}

/** The conversation as one text: turns separated by blank lines, answers following their questions. */
function flatten(messages: ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

/** A chat message as a result stores it: `truncated` counts the characters cut from its content. */
export interface StoredMessage extends ChatMessage {
  truncated?: number;
}

/** Characters of one stored message's content, and of all of a sample's messages together. */
export const STORED_MESSAGE_CHARS = 16_000;
export const STORED_MESSAGES_CHARS = 64_000;

/** The marker that ends a stored message whose content was cut. */
export function truncationMarker(cut: number): string {
  return `\n[… ${cut} more characters not stored]`;
}

/**
 * The messages sent to the model as a sample's result keeps them: each content capped (and the whole
 * conversation too), a cut one ending with a visible marker and counting what was cut, so a prompt with a
 * long document cannot make every result document large.
 */
export function storedMessages(messages: ChatMessage[], perMessage = STORED_MESSAGE_CHARS, total = STORED_MESSAGES_CHARS): StoredMessage[] {
  let left = total;
  return messages.map((m) => {
    const keep = Math.max(0, Math.min(m.content.length, perMessage, left));
    left -= keep;
    if (keep === m.content.length) return { role: m.role, content: m.content };
    const cut = m.content.length - keep;
    return { role: m.role, content: `${m.content.slice(0, keep)}${truncationMarker(cut)}`, truncated: cut };
  });
}
