import { CancellationScope } from '@temporalio/workflow';

/**
 * Runs a child workflow start (`() => startChild(...)`) so that a cancel of the parent cannot interrupt it;
 * the caller cancels the child itself when it must. The SDK's own start, cancelled while the server has
 * initiated the child but not yet reported it started, can stay pending forever when the child is
 * abandoned on cancel (ABANDON): the parent never gets past it and never ends. Seen with SDK 1.24 on the
 * dev server, once in 40 cancels of a job with a window of 2; test/workflow/cancel-starts.test.ts
 * shows it with 50 starts in flight.
 */
export function shieldedStart<H>(start: () => Promise<H>): Promise<H> {
  return CancellationScope.nonCancellable(start);
}
