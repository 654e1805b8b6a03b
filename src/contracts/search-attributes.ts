import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes evalctl sets on its workflows so the Web UI can filter by them. */
export const SEARCH_ATTRIBUTES = {
  EvalAssignment: 'Keyword',
  EvalModel: 'Keyword',
  EvalTask: 'Keyword',
  EvalStatus: 'Keyword',
} as const;

export type EvalSearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** Typed keys for the attributes above, for workflow starts and upserts. */
export const EvalAssignmentKey = defineSearchAttributeKey('EvalAssignment', SearchAttributeType.KEYWORD);
export const EvalModelKey = defineSearchAttributeKey('EvalModel', SearchAttributeType.KEYWORD);
export const EvalTaskKey = defineSearchAttributeKey('EvalTask', SearchAttributeType.KEYWORD);
export const EvalStatusKey = defineSearchAttributeKey('EvalStatus', SearchAttributeType.KEYWORD);
