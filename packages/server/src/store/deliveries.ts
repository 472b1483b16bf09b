import { ERROR_EXCERPT_BYTES } from '@joon/core/webhook'
import {
  type AttemptCompletion,
  type AttemptRecord,
  type DeliveryDetail,
  type DeliveryRecord,
  type DeliveryStatus,
  type NewDelivery,
  StoreConflictError,
} from './types.js'

/**
 * The delivery rules every store follows, written once: what a new delivery looks like, what
 * an attempt changes, what a retry changes, how listings filter, and the error excerpt. Each
 * store only keeps these rows in its engine.
 */

export { ERROR_EXCERPT_BYTES }

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * Cuts `text` to at most `ERROR_EXCERPT_BYTES` UTF-8 bytes, never inside a character. NUL and
 * lone surrogates (an error may quote any bytes a receiver sent) become U+FFFD, so every store
 * can keep the text: PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates.
 */
export function errorExcerpt(raw: string | null): string | null {
  if (raw === null) return null
  const text = raw.replace(UNSTORABLE, '\uFFFD')
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no encoding.
  if (text.length * 3 <= ERROR_EXCERPT_BYTES) return text
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= ERROR_EXCERPT_BYTES) return text
  let end = ERROR_EXCERPT_BYTES
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return new TextDecoder().decode(bytes.subarray(0, end))
}

/** A copy of an attempt with exactly the stored fields and the error cut to size. */
export function cleanAttempt(attempt: AttemptRecord): AttemptRecord {
  return {
    at: attempt.at,
    status: attempt.status,
    durationMs: attempt.durationMs,
    error: errorExcerpt(attempt.error),
  }
}

/**
 * A delivery as stored. `dueAt` is when a pending delivery can next be leased: its
 * `nextAttemptAt`, or the lease expiry while leased (a crashed worker's delivery becomes due
 * again on its own); null once delivered or failed, so an index on it holds only the queue.
 */
export interface StoredDelivery extends DeliveryRecord {
  dueAt: number | null
  history: AttemptRecord[]
}

/** A new delivery as it is stored. */
export function newDelivery(delivery: NewDelivery): StoredDelivery {
  const status = delivery.status ?? 'pending'
  const attempt = delivery.attempt ? cleanAttempt(delivery.attempt) : null
  const next = status === 'pending' ? (delivery.nextAttemptAt ?? delivery.createdAt) : null
  return {
    id: delivery.id,
    webhook: delivery.webhook,
    conversationId: delivery.conversationId,
    async: delivery.async,
    status,
    body: delivery.body,
    attempts: attempt ? 1 : 0,
    lastStatus: attempt ? attempt.status : null,
    lastError: attempt ? attempt.error : null,
    createdAt: delivery.createdAt,
    nextAttemptAt: next,
    leaseOwner: null,
    leaseUntil: null,
    dueAt: next,
    history: attempt ? [attempt] : [],
  }
}

/** What recording an attempt sets on a delivery its owner still holds (the lease is cleared). */
export function completed(completion: AttemptCompletion) {
  const attempt = cleanAttempt(completion.attempt)
  const { outcome } = completion
  const next = outcome.status === 'pending' ? outcome.nextAttemptAt : null
  return { status: outcome.status, attempt, nextAttemptAt: next, dueAt: next }
}

/**
 * What `retryDelivery` sets, or null to leave the delivery as it is (in flight): a finished
 * one goes back to pending, due now; a pending one not leased is brought forward to `now`.
 */
export function retried(record: DeliveryRecord, now: number) {
  if (record.status !== 'pending') {
    return {
      status: 'pending' as const,
      nextAttemptAt: now,
      dueAt: now,
      leaseOwner: null,
      leaseUntil: null,
    }
  }
  if (record.leaseUntil !== null && record.leaseUntil > now) return null
  const next = Math.min(record.nextAttemptAt ?? now, now)
  return {
    status: record.status,
    nextAttemptAt: next,
    dueAt: Math.max(next, record.leaseUntil ?? next),
    leaseOwner: record.leaseOwner,
    leaseUntil: record.leaseUntil,
  }
}

/** When a pending delivery can next be leased: when due, and not before its lease ends. */
export function dueAt(record: DeliveryRecord): number {
  return Math.max(record.nextAttemptAt ?? 0, record.leaseUntil ?? 0)
}

/**
 * Fair pick across webhooks: round-robin over `queues` (one per webhook, each already in the
 * order its deliveries should go), whoever waited longest first in each round, taking one
 * item per queue per round until `limit` items are taken or every queue is empty.
 */
export function roundRobin<T extends DeliveryRecord & { seq: number }>(
  queues: T[][],
  limit: number,
): T[] {
  queues.sort((a, b) => dueAt(a[0]!) - dueAt(b[0]!) || a[0]!.seq - b[0]!.seq)
  const picked: T[] = []
  for (let round = 0; picked.length < limit; round++) {
    let found = false
    for (const queue of queues) {
      const item = queue[round]
      if (item === undefined) continue
      found = true
      picked.push(item)
      if (picked.length >= limit) break
    }
    if (!found) break
  }
  return picked
}

/** Lease limits as whole numbers, the per-webhook one within the total. */
export function leaseLimits(limit: number, perWebhookLimit: number | undefined) {
  const total = Math.max(0, Math.floor(limit))
  const perWebhook = Math.max(0, Math.floor(perWebhookLimit ?? total))
  return { total, perWebhook: Math.min(perWebhook, total) }
}

/** A delivery row of the SQL stores (both keep attempt history as JSON text in the row). */
export interface DeliveryRow {
  seq: number
  id: string
  webhook: string
  conversation_id: string
  async: number | boolean
  status: DeliveryStatus
  body: string
  attempts: number
  last_status: number | null
  last_error: string | null
  created_at: number
  next_attempt_at: number | null
  lease_owner: string | null
  lease_until: number | null
}

export const DELIVERY_COLUMNS = `seq, id, webhook, conversation_id, async, status, body, attempts,
  last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until`

/** The columns `insertValues` fills, in its order. */
export const INSERT_COLUMNS = `id, webhook, conversation_id, async, status, body, attempts,
  last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until, due_at, history`

/** A new delivery's values for `INSERT_COLUMNS`; `async` as the engine stores a boolean. */
export function insertValues<B>(delivery: NewDelivery, bool: (value: boolean) => B) {
  const d = newDelivery(delivery)
  return [
    d.id,
    d.webhook,
    d.conversationId,
    bool(d.async),
    d.status,
    d.body,
    d.attempts,
    d.lastStatus,
    d.lastError,
    d.createdAt,
    d.nextAttemptAt,
    d.leaseOwner,
    d.leaseUntil,
    d.dueAt,
    JSON.stringify(d.history),
  ] as const
}

export function toRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    webhook: row.webhook,
    conversationId: row.conversation_id,
    async: row.async === true || row.async === 1,
    status: row.status,
    body: row.body,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
  }
}

export function toDetail(row: DeliveryRow & { history: string }): DeliveryDetail {
  const history = (JSON.parse(row.history) as AttemptRecord[]).map(cleanAttempt)
  return { ...toRecord(row), history }
}

/** Written out, not bound: only then can the planners use the partial indexes on status. */
const STATUS_CLAUSES: Record<DeliveryStatus, string> = {
  pending: "status = 'pending'",
  delivered: "status = 'delivered'",
  failed: "status = 'failed'",
}

/**
 * A listing's WHERE clause and its values; `placeholder(n)` writes the n-th (1-based) bound
 * value as the engine wants it (`?`, `$1`). `key` names the statement's shape.
 */
export function deliveryFilters(
  query: { webhook?: string; status?: string; conversationId?: string },
  placeholder: (n: number) => string,
) {
  const clauses: string[] = []
  const values: string[] = []
  const bind = (column: string, value: string) => {
    values.push(value)
    clauses.push(`${column} = ${placeholder(values.length)}`)
  }
  if (query.webhook !== undefined) bind('webhook', query.webhook)
  if (query.status !== undefined && Object.hasOwn(STATUS_CLAUSES, query.status)) {
    clauses.push(STATUS_CLAUSES[query.status as DeliveryStatus])
  } else if (query.status !== undefined) {
    bind('status', query.status)
  }
  if (query.conversationId !== undefined) bind('conversation_id', query.conversationId)
  return {
    key: clauses.join(' AND ') || 'all',
    where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '',
    values,
  }
}

/** The one message of a refused duplicate id. */
export function conflictError(what: 'delivery' | 'conversation'): StoreConflictError {
  return new StoreConflictError(`a ${what} with this id already exists`)
}
