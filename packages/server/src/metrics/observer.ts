/**
 * What the server reports as it works, for metrics. Every runtime may pass one; the Node
 * entry's is Prometheus (`prometheus.ts`). Labels are bot ids and webhook names that exist
 * (never raw client input), so their number stays bounded.
 */
export interface Observer {
  /** A turn that ran on a bot: `waiting` for the visitor, `ended`, or `conflict` (409). */
  turn(botId: string, outcome: TurnOutcome, seconds: number): void
  /** A webhook call made during a turn (synchronous) or by the delivery worker (asynchronous). */
  webhookCall(webhook: string, mode: 'sync' | 'async', result: CallResult, seconds: number): void
}

export type TurnOutcome = 'waiting' | 'ended' | 'conflict' | 'error'

/** `retry`: an asynchronous attempt failed and another is scheduled. */
export type CallResult = 'delivered' | 'retry' | 'failed'
