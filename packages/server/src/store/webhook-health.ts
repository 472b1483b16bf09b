import { errorExcerpt } from './deliveries.js'
import type {
  AttemptCompletion,
  NewDelivery,
  OutcomeAlerts,
  RecoveryAlert,
  WebhookHealth,
} from './types.js'

/**
 * The webhook health rules every store follows (`WebhookHealth`), written once; PostgreSQL
 * applies the same rules in SQL (`postgres-health.ts`), and the conformance suite holds the
 * three stores to them.
 */

/**
 * While a webhook succeeds, its `lastSuccessAt` moves at most once a second: on a busy webhook
 * the health row is then written about once a second rather than with every delivery (on
 * PostgreSQL, instances would otherwise queue on that one row's lock).
 */
export const HEALTH_SUCCESS_RESOLUTION_MS = 1_000

/** One recorded call, as health counts it. */
export interface HealthOutcome {
  at: number
  ok: boolean
  /** A failure that ends its delivery (retries exhausted, a failed synchronous call). */
  final: boolean
  error: string | null
}

export function emptyHealth(webhook: string): WebhookHealth {
  return {
    webhook,
    lastSuccessAt: null,
    lastFailureAt: null,
    consecutiveFailures: 0,
    failingSince: null,
    failedDeliveries: 0,
    lastError: null,
  }
}

/** What an attempt's completion tells of its webhook's health. */
export function completionOutcome(completion: AttemptCompletion): HealthOutcome {
  const { attempt, outcome } = completion
  const ok = outcome.status === 'delivered'
  return {
    at: attempt.at,
    ok,
    final: outcome.status === 'failed',
    error: ok ? null : attempt.error,
  }
}

/** What a recorded delivery tells: nothing while pending, else its one attempt's outcome. */
export function deliveryOutcome(delivery: NewDelivery): HealthOutcome | null {
  const status = delivery.status ?? 'pending'
  if (status === 'pending' || !delivery.attempt) return null
  const ok = status === 'delivered'
  const { at, error } = delivery.attempt
  return { at, ok, final: !ok, error: ok ? null : error }
}

/**
 * The health after `outcome`, or null when nothing changes (a success within a second of the
 * last one, with no failure since). `recovered` has the numbers of the recovery it brings: a
 * success after deliveries that failed for good.
 */
export function healthAfter(
  health: WebhookHealth,
  outcome: HealthOutcome,
): { health: WebhookHealth; recovered: Recovery | null } | null {
  if (!outcome.ok) {
    return {
      health: {
        ...health,
        lastFailureAt: Math.max(health.lastFailureAt ?? outcome.at, outcome.at),
        consecutiveFailures: health.consecutiveFailures + 1,
        failingSince: health.failingSince ?? outcome.at,
        failedDeliveries: health.failedDeliveries + (outcome.final ? 1 : 0),
        lastError: errorExcerpt(outcome.error),
      },
      recovered: null,
    }
  }
  const last = health.lastSuccessAt
  const failing = health.consecutiveFailures > 0 || health.failedDeliveries > 0
  if (!failing && last !== null && outcome.at < last + HEALTH_SUCCESS_RESOLUTION_MS) return null
  return {
    health: {
      ...health,
      lastSuccessAt: Math.max(last ?? outcome.at, outcome.at),
      consecutiveFailures: 0,
      failingSince: null,
      failedDeliveries: 0,
    },
    recovered:
      health.failedDeliveries > 0
        ? {
            failedDeliveries: health.failedDeliveries,
            consecutiveFailures: health.consecutiveFailures,
          }
        : null,
  }
}

export interface Recovery {
  failedDeliveries: number
  consecutiveFailures: number
}

/**
 * What recording `outcome` writes (the stores that run JS inside their write): the webhook's
 * new health (null: unchanged, or not registered) and the alert deliveries.
 */
export function outcomeWrites(
  health: WebhookHealth | null,
  outcome: HealthOutcome,
  alerts: OutcomeAlerts | undefined,
): { health: WebhookHealth | null; alerts: NewDelivery[] } {
  const after = health ? healthAfter(health, outcome) : null
  return {
    health: after?.health ?? null,
    alerts: alertDeliveries(outcome, after?.recovered ?? null, alerts),
  }
}

/** The alert deliveries an outcome brings, given the recovery it made (if any). */
export function alertDeliveries(
  outcome: HealthOutcome,
  recovered: Recovery | null,
  alerts: OutcomeAlerts | undefined,
): NewDelivery[] {
  const deliveries: NewDelivery[] = []
  if (outcome.final && alerts?.failed) deliveries.push(alerts.failed)
  if (recovered && alerts?.recovered) deliveries.push(recoveryDelivery(alerts.recovered, recovered))
  return deliveries
}

/** The `webhook.recovered` delivery, its numbers filled in. Alerts belong to no conversation. */
export function recoveryDelivery(alert: RecoveryAlert, recovered: Recovery): NewDelivery {
  const [head, middle, tail] = alert.body
  return {
    id: alert.id,
    webhook: alert.webhook,
    conversationId: '',
    async: true,
    body: `${head}${recovered.failedDeliveries}${middle}${recovered.consecutiveFailures}${tail}`,
    createdAt: alert.createdAt,
  }
}

/** A health row of the SQL stores. */
export interface HealthRow {
  webhook: string
  last_success_at: number | null
  last_failure_at: number | null
  consecutive_failures: number
  failing_since: number | null
  failed_deliveries: number
  last_error: string | null
}

export const HEALTH_COLUMNS = `webhook, last_success_at, last_failure_at, consecutive_failures,
  failing_since, failed_deliveries, last_error`

/** A health's values in the order of `HEALTH_COLUMNS` after `webhook`, then `webhook`. */
export function healthValues(h: WebhookHealth) {
  return [
    h.lastSuccessAt,
    h.lastFailureAt,
    h.consecutiveFailures,
    h.failingSince,
    h.failedDeliveries,
    h.lastError,
    h.webhook,
  ] as const
}

export function toHealth(row: HealthRow): WebhookHealth {
  return {
    webhook: row.webhook,
    lastSuccessAt: row.last_success_at,
    lastFailureAt: row.last_failure_at,
    consecutiveFailures: row.consecutive_failures,
    failingSince: row.failing_since,
    failedDeliveries: row.failed_deliveries,
    lastError: row.last_error,
  }
}
