import type { AttemptOutcome } from '../store/types.js'

/** `Retry-After` is honoured up to this long; a longer one is an endpoint misbehaving. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000

/** Each scheduled delay is spread by ±20% so retries after an outage do not arrive in lockstep. */
export const JITTER = 0.2

export interface RetryPolicy {
  /** Delay before each attempt: attempt k is made `schedule[k]` after attempt k-1 failed. */
  schedule: readonly number[]
  /** A number in [0, 1), as `Math.random`. */
  random: () => number
}

/** What a finished attempt tells the policy. */
export interface AttemptResult {
  /** True for a 2xx answer. */
  ok: boolean
  /** HTTP status, or null when no response came. */
  status: number | null
  /** The answer's `Retry-After`, in milliseconds, when it had one. */
  retryAfterMs: number | null
}

/**
 * Decides what happens to a delivery after an attempt. `attemptsMade` counts this attempt.
 *
 * - 2xx: delivered.
 * - 410 Gone: failed at once (the receiver says the endpoint is gone for good).
 * - Otherwise, when the schedule has another slot: pending, due after that slot's delay with
 *   jitter, or after `Retry-After` when that is longer (capped at 24 h).
 * - Otherwise: failed. A failed delivery replayed by an operator gets one more attempt.
 */
export function decideOutcome(
  attemptsMade: number,
  result: AttemptResult,
  now: number,
  policy: RetryPolicy,
): AttemptOutcome {
  if (result.ok) return { status: 'delivered' }
  if (result.status === 410) return { status: 'failed' }
  const scheduled = policy.schedule[attemptsMade]
  if (scheduled === undefined) return { status: 'failed' }
  let delay = withJitter(scheduled, policy.random)
  if (result.retryAfterMs !== null && result.retryAfterMs > 0) {
    delay = Math.max(delay, Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS))
  }
  return { status: 'pending', nextAttemptAt: now + delay }
}

/** `delay` spread uniformly over ±20%, in whole milliseconds. */
export function withJitter(delay: number, random: () => number): number {
  if (delay <= 0) return 0
  const factor = 1 - JITTER + 2 * JITTER * Math.min(Math.max(random(), 0), 1)
  return Math.round(delay * factor)
}
