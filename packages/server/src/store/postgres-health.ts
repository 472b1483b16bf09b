import { completed, errorExcerpt, INSERT_COLUMNS } from './deliveries.js'
import { INSERT_TYPES, outboxParams } from './postgres-sql.js'
import type * as T from './types.js'
import {
  completionOutcome,
  deliveryOutcome,
  HEALTH_COLUMNS,
  HEALTH_SUCCESS_RESOLUTION_MS,
} from './webhook-health.js'

/**
 * Webhook health on PostgreSQL: the rules of `webhook-health.ts`, in SQL, so an outcome, its
 * webhook's health and the alerts it brings are one statement (one round trip, atomic) even
 * when a batch (`postgres-batches.ts`) records several outcomes of one webhook at once.
 */

/** A webhook and its (empty) health row, created together; `created` as `Statements.put`. */
export const PUT_WEBHOOK = `
  WITH w AS (
    INSERT INTO webhooks (name, data) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET data = excluded.data
    RETURNING (xmax = 0) AS created
  ),
  h AS (INSERT INTO webhook_health (webhook) VALUES ($1) ON CONFLICT (webhook) DO NOTHING)
  SELECT created FROM w`

export const DELETE_WEBHOOK = `
  WITH h AS (DELETE FROM webhook_health WHERE webhook = $1)
  DELETE FROM webhooks WHERE name = $1`

export const LIST_HEALTH = `SELECT ${HEALTH_COLUMNS} FROM webhook_health ORDER BY webhook`
export const GET_HEALTH = `SELECT ${HEALTH_COLUMNS} FROM webhook_health WHERE webhook = $1`

/** The types of a recovery alert template: id, webhook, createdAt and the body's three parts. */
const RECOVERY_TYPES = 'text text bigint text text text'.split(' ')

/**
 * From `outcomes` (webhook, ok, final, error, at, ord, and the success's recovery alert
 * template r_id… r_tail), the health of each webhook, as `healthAfter` applied to each
 * outcome in `ord` order would leave it: the batch's tallies before and after its last
 * success. Health rows are locked in name order (no deadlock between instances), and only
 * those that change: a success within a second of the last, with no failure since, writes
 * nothing. `recovered_*` keep the numbers the latest recovery ended, which RETURNING can
 * then hand to the recovery alert (the row's values before the update are not returnable).
 */
const HEALTH = `
  marked AS (
    SELECT o.*, max(o.ord) FILTER (WHERE o.ok) OVER (PARTITION BY o.webhook) AS ok_ord
    FROM outcomes o
  ),
  batch AS (
    SELECT webhook,
      max(at) FILTER (WHERE ok) AS ok_at,
      max(at) FILTER (WHERE NOT ok) AS fail_at,
      (array_agg(error ORDER BY ord DESC) FILTER (WHERE NOT ok))[1] AS error,
      count(*) FILTER (WHERE NOT ok AND ord > coalesce(ok_ord, 0))::integer AS fails_after,
      count(*) FILTER (WHERE final AND ord > coalesce(ok_ord, 0))::integer AS finals_after,
      min(at) FILTER (WHERE NOT ok AND ord > coalesce(ok_ord, 0)) AS failing_since,
      count(*) FILTER (WHERE NOT ok AND ord < ok_ord)::integer AS fails_before,
      count(*) FILTER (WHERE final AND ord < ok_ord)::integer AS finals_before,
      ${['r_id', 'r_webhook', 'r_created', 'r_head', 'r_middle', 'r_tail']
        .map(
          (column) => `(array_agg(${column} ORDER BY ord DESC) FILTER (WHERE ok))[1] AS ${column}`,
        )
        .join(',\n      ')}
    FROM marked GROUP BY webhook
  ),
  locked AS (
    SELECT h.webhook FROM webhook_health h JOIN batch b ON b.webhook = h.webhook
    WHERE b.fail_at IS NOT NULL OR h.consecutive_failures > 0 OR h.failed_deliveries > 0
      OR h.last_success_at IS NULL OR b.ok_at >= h.last_success_at + ${HEALTH_SUCCESS_RESOLUTION_MS}
    ORDER BY h.webhook
    FOR UPDATE OF h
  ),
  health AS (
    UPDATE webhook_health h SET
      last_success_at = CASE WHEN b.ok_at IS NULL THEN h.last_success_at
                             ELSE greatest(h.last_success_at, b.ok_at) END,
      last_failure_at = greatest(h.last_failure_at, b.fail_at),
      last_error = CASE WHEN b.fail_at IS NULL THEN h.last_error ELSE b.error END,
      consecutive_failures =
        CASE WHEN b.ok_at IS NULL THEN h.consecutive_failures ELSE 0 END + b.fails_after,
      failing_since = CASE WHEN b.ok_at IS NULL THEN coalesce(h.failing_since, b.failing_since)
                           ELSE b.failing_since END,
      failed_deliveries =
        CASE WHEN b.ok_at IS NULL THEN h.failed_deliveries ELSE 0 END + b.finals_after,
      recovered_deliveries =
        CASE WHEN b.ok_at IS NULL THEN 0 ELSE h.failed_deliveries + b.finals_before END,
      recovered_failures =
        CASE WHEN b.ok_at IS NULL THEN 0 ELSE h.consecutive_failures + b.fails_before END
    FROM batch b
    WHERE h.webhook = b.webhook AND h.webhook IN (SELECT webhook FROM locked)
      AND (b.fail_at IS NOT NULL OR h.consecutive_failures > 0 OR h.failed_deliveries > 0
        OR h.last_success_at IS NULL OR b.ok_at >= h.last_success_at + ${HEALTH_SUCCESS_RESOLUTION_MS})
    RETURNING h.webhook, h.recovered_deliveries, h.recovered_failures
  ),
  recovered AS (
    INSERT INTO deliveries (${INSERT_COLUMNS})
    SELECT b.r_id, b.r_webhook, '', true, 'pending',
      b.r_head || h.recovered_deliveries || b.r_middle || h.recovered_failures || b.r_tail,
      0, NULL, NULL, b.r_created, b.r_created, NULL, NULL, b.r_created, '[]'
    FROM health h JOIN batch b ON b.webhook = h.webhook
    WHERE h.recovered_deliveries > 0 AND b.r_id IS NOT NULL
  )`

/** `alerts.failed` of each owner, as arrays: inserted when its owner's outcome was a final failure. */
function failedAlerts(firstParam: number, owners: string): string {
  const arrays = ['text', ...INSERT_TYPES].map((type, i) => `$${firstParam + i}::${type}[]`)
  return `failed_alerts AS (
    INSERT INTO deliveries (${INSERT_COLUMNS})
    SELECT ${INSERT_COLUMNS} FROM unnest(${arrays.join(', ')})
      WITH ORDINALITY AS a (owner, ${INSERT_COLUMNS}, ord)
    WHERE a.owner IN (${owners})
    ORDER BY a.ord
  )`
}

const arrays = (first: number, types: readonly string[]) =>
  types.map((type, i) => `$${first + i}::${type}[]`).join(', ')

/**
 * Records attempts, one row of the arrays per attempt: each attempt (JSON) is appended to its
 * delivery's history; only deliveries still pending and leased by the attempt's owner change.
 * Their webhooks' health follows, with the alerts. Returns the ids recorded.
 */
export const COMPLETE = `
  WITH c AS (
    SELECT * FROM unnest(${arrays(1, ['text', 'integer', 'text', 'bigint', 'text', 'text', 'text', 'bigint', ...RECOVERY_TYPES])})
      WITH ORDINALITY AS c (status, last_status, last_error, next_at, id, owner, attempt, at,
        r_id, r_webhook, r_created, r_head, r_middle, r_tail, ord)
  ),
  done AS (
    UPDATE deliveries d SET status = c.status, attempts = d.attempts + 1,
      last_status = c.last_status, last_error = c.last_error, next_attempt_at = c.next_at,
      due_at = c.next_at, lease_owner = NULL, lease_until = NULL,
      history = CASE WHEN d.history = '[]' THEN '[' || c.attempt || ']'
                     ELSE left(d.history, -1) || ',' || c.attempt || ']' END
    FROM c
    WHERE d.id = c.id AND d.status = 'pending' AND d.lease_owner = c.owner
    RETURNING d.id, d.webhook, c.status, c.last_error, c.at, c.ord,
      c.r_id, c.r_webhook, c.r_created, c.r_head, c.r_middle, c.r_tail
  ),
  outcomes AS (
    SELECT webhook, status = 'delivered' AS ok, status = 'failed' AS final, last_error AS error,
      at, ord, r_id, r_webhook, r_created, r_head, r_middle, r_tail
    FROM done
  ),
  ${HEALTH},
  ${failedAlerts(15, "SELECT id FROM done WHERE status = 'failed'")}
  SELECT id FROM done`

/** `COMPLETE`'s values for a batch of completions. */
export function completeParams(completions: readonly T.AttemptCompletion[]): unknown[] {
  const columns: unknown[][] = Array.from({ length: 14 }, () => [])
  const failed: T.NewDelivery[] = []
  const owners: string[] = []
  for (const completion of completions) {
    const d = completed(completion)
    const values = [
      d.status,
      d.attempt.status,
      d.attempt.error,
      d.nextAttemptAt,
      completion.id,
      completion.owner,
      JSON.stringify(d.attempt),
      completionOutcome(completion).at,
      ...recoveryValues(completion.alerts?.recovered),
    ]
    for (const [i, value] of values.entries()) columns[i]!.push(value)
    if (completion.alerts?.failed) {
      failed.push(completion.alerts.failed)
      owners.push(completion.id)
    }
  }
  return [...columns, owners, ...outboxParams(failed)]
}

/**
 * Records one delivery made outside a conversation write; when it is finished, its webhook's
 * health follows, with the alerts ($16…: the outcome, the recovery template, `alerts.failed`).
 */
export const RECORD_FINISHED = `
  WITH inserted AS (
    INSERT INTO deliveries (${INSERT_COLUMNS})
    SELECT ${INSERT_COLUMNS} FROM unnest(${arrays(1, INSERT_TYPES)}) AS u (${INSERT_COLUMNS})
    RETURNING id
  ),
  outcomes AS (
    SELECT $16::text AS webhook, $17::boolean AS ok, $18::boolean AS final, $19::text AS error,
      $20::bigint AS at, 1::bigint AS ord, $21::text AS r_id, $22::text AS r_webhook,
      $23::bigint AS r_created, $24::text AS r_head, $25::text AS r_middle, $26::text AS r_tail
    FROM inserted
  ),
  ${HEALTH},
  ${failedAlerts(27, 'SELECT id FROM inserted WHERE $18::boolean')}
  SELECT count(*)::integer AS n FROM inserted`

/** `RECORD_FINISHED`'s values, or null for a delivery not finished (nothing to count). */
export function recordFinishedParams(
  delivery: T.NewDelivery,
  alerts: T.OutcomeAlerts | undefined,
): unknown[] | null {
  const outcome = deliveryOutcome(delivery)
  if (!outcome) return null
  const failed = alerts?.failed ? [alerts.failed] : []
  return [
    ...outboxParams([delivery]),
    delivery.webhook,
    outcome.ok,
    outcome.final,
    errorExcerpt(outcome.error),
    outcome.at,
    ...recoveryValues(alerts?.recovered),
    failed.map(() => delivery.id),
    ...outboxParams(failed),
  ]
}

function recoveryValues(alert: T.RecoveryAlert | undefined) {
  return alert
    ? [alert.id, alert.webhook, alert.createdAt, ...alert.body]
    : [null, null, null, null, null, null]
}
