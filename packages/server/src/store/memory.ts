import { type ConversationState, type Message, setMessagesApart } from '@joon/core'
import * as conversations from './conversations.js'
import {
  completed,
  conflictError,
  dueAt,
  leaseLimits,
  newDelivery,
  retried,
  roundRobin,
  type StoredDelivery,
} from './deliveries.js'
import { MemoryCatalog } from './memory-catalog.js'
import type * as T from './types.js'
import {
  completionOutcome,
  deliveryOutcome,
  type HealthOutcome,
  outcomeWrites,
} from './webhook-health.js'

/** Due times are worked out from the record (`dueAt`), not stored. */
interface MemoryDelivery extends Omit<StoredDelivery, 'dueAt'> {
  /** Insertion order: listings go newest first by it. */
  seq: number
}

/**
 * Everything in process memory: for tests and edge runtimes (Web APIs only, no `node:*`).
 * Lost when the process ends. Each method runs to completion without awaiting, so every
 * write is atomic as far as other callers can tell. Bots and webhooks live in the catalog
 * this extends; conversations and deliveries here.
 */
export class MemoryStore extends MemoryCatalog implements T.Store {
  /** Live conversations by bot, each with its version and the block it waits on. */
  readonly #live = new Map<string, Map<string, { version: number | null; block: string }>>()
  readonly #conversations = new Map<string, conversations.ConversationRow>()
  /** The messages kept apart from each conversation's state, as JSON (copies nobody can mutate). */
  readonly #messages = new Map<string, string[]>()
  readonly #deliveries = new Map<string, MemoryDelivery>()
  /** Ids of pending deliveries by webhook, so leasing never walks finished ones. */
  readonly #pending = new Map<string, Set<string>>()
  /** Pending deliveries retention left behind, deleted once finished. */
  readonly #retained = new Set<string>()
  #seq = 0

  async countLiveConversations(botId: string): Promise<T.LiveConversations> {
    this.assertOpen()
    return conversations.tallyLive(
      [...(this.#live.get(botId)?.values() ?? [])].map((entry) => ({ ...entry, n: 1 })),
    )
  }

  async createConversation(
    conversation: T.NewConversation,
    outbox: readonly T.NewDelivery[] = [],
  ): Promise<void> {
    this.assertOpen()
    if (this.#conversations.has(conversation.id)) {
      throw conflictError('conversation')
    }
    const rows = this.#prepareDeliveries(outbox)
    const apart = setMessagesApart(conversation.state)
    this.#conversations.set(conversation.id, {
      // A row as the SQL stores keep it; the state as JSON text, a copy nobody can mutate.
      bot_id: conversation.botId,
      bot_version: conversation.botVersion ?? null,
      state: JSON.stringify(apart.state),
      version: 1,
      created_at: conversation.now,
      updated_at: conversation.now,
      reached: conversations.reachedText(conversation.reached) ?? '[]',
    })
    if (apart.messages.length > 0) {
      this.#messages.set(
        conversation.id,
        apart.messages.map((m) => JSON.stringify(m)),
      )
    }
    for (const row of rows) this.#insert(row)
    this.#setLive(conversation.id, this.#conversations.get(conversation.id)!, conversation.state)
  }

  async getConversation(id: string): Promise<T.ConversationRecord | null> {
    this.assertOpen()
    const stored = this.#conversations.get(id)
    return stored === undefined
      ? null
      : this.#withMessages(conversations.toConversation(id, stored))
  }

  async getConversationWithBot(id: string): Promise<T.ConversationWithBot | null> {
    this.assertOpen()
    const stored = this.#conversations.get(id)
    return conversations.withBot(
      this,
      stored === undefined ? null : conversations.toConversation(id, stored),
    )
  }

  async getMessages(id: string): Promise<Message[]> {
    this.assertOpen()
    return this.#kept(id)
  }

  #kept(id: string): Message[] {
    return (this.#messages.get(id) ?? []).map((data) => JSON.parse(data) as Message)
  }

  #withMessages(record: T.ConversationRecord): T.ConversationRecord {
    return { ...record, state: conversations.withMessages(record.state, this.#kept(record.id)) }
  }

  async updateConversation(
    update: T.ConversationUpdate,
    outbox: readonly T.NewDelivery[] = [],
  ): Promise<boolean> {
    this.assertOpen()
    const stored = this.#conversations.get(update.id)
    if (stored === undefined || stored.version !== update.expectedVersion) return false
    const rows = this.#prepareDeliveries(outbox)
    const apart = setMessagesApart(update.state)
    const kept = update.state.earlier === undefined ? [] : (this.#messages.get(update.id) ?? [])
    kept.push(...apart.messages.map((m) => JSON.stringify(m)))
    this.#messages.set(update.id, kept)
    stored.state = JSON.stringify(apart.state)
    stored.version += 1
    stored.updated_at = update.now
    stored.reached = conversations.reachedText(update.reached) ?? stored.reached
    for (const row of rows) this.#insert(row)
    this.#setLive(update.id, stored, update.state)
    return true
  }

  async listConversations(query: T.ConversationQuery): Promise<T.ConversationPage> {
    this.assertOpen()
    // Tests and edge runtimes: a scan and a sort per page is plenty.
    const rows: T.ConversationRecord[] = []
    for (const [id, row] of this.#conversations) {
      if (query.botId !== undefined && row.bot_id !== query.botId) continue
      if (query.since !== undefined && row.created_at < query.since) continue
      if (query.until !== undefined && row.created_at >= query.until) continue
      const record = this.#withMessages(conversations.toConversation(id, row))
      if (query.ended !== undefined && record.state.ended !== query.ended) continue
      if (query.after && conversations.compareNewestFirst(query.after, record) >= 0) continue
      rows.push(record)
    }
    rows.sort(conversations.compareNewestFirst)
    return conversations.collectPage(query, (after, count) => {
      const start = after
        ? rows.findIndex((row) => conversations.compareNewestFirst(after, row) < 0)
        : 0
      return start < 0 ? [] : rows.slice(start, start + count)
    })
  }

  async funnel(botId: string, range: T.TimeRange = {}): Promise<T.FunnelCounts> {
    this.assertOpen()
    let started = 0
    const reached: { block: string; n: number }[] = []
    const live: { block: string; n: number }[] = []
    for (const [id, row] of this.#conversations) {
      if (row.bot_id !== botId) continue
      if (range.since !== undefined && row.created_at < range.since) continue
      if (range.until !== undefined && row.created_at >= range.until) continue
      started++
      const record = conversations.toConversation(id, row)
      for (const block of record.reached) reached.push({ block, n: 1 })
      const waiting = conversations.liveBlockOf(record.state)
      if (waiting !== null) live.push({ block: waiting, n: 1 })
    }
    return conversations.tallyFunnel(started, reached, live)
  }

  async deleteConversation(id: string): Promise<boolean> {
    this.assertOpen()
    const row = this.#conversations.get(id)
    if (!row) return false
    this.#drop(id, row, () => true)
    return true
  }

  async deleteStaleConversations(before: number, limit: number): Promise<number> {
    this.assertOpen()
    for (const id of this.#retained) {
      const delivery = this.#deliveries.get(id)
      if (delivery?.status !== 'pending') {
        this.#deliveries.delete(id)
        this.#retained.delete(id)
      }
    }
    const stale = [...this.#conversations]
      .filter(([, row]) => row.updated_at < before)
      .sort(([, a], [, b]) => a.created_at - b.created_at)
      .slice(0, Math.max(0, Math.floor(limit)))
    for (const [id, row] of stale) {
      this.#drop(id, row, (delivery) => {
        if (delivery.status !== 'pending') return true
        this.#retained.add(delivery.id)
        return false
      })
    }
    return stale.length
  }

  async listRetainedDeliveries(): Promise<T.DeliveryDetail[]> {
    this.assertOpen()
    const details: T.DeliveryDetail[] = []
    for (const id of this.#retained) {
      const detail = await this.getDelivery(id)
      if (detail) details.push(detail)
    }
    return details
  }

  async deleteDeliveries(ids: readonly string[]): Promise<number> {
    this.assertOpen()
    let deleted = 0
    for (const id of ids) {
      const row = this.#deliveries.get(id)
      if (!row) continue
      this.#setStatus(row, 'failed')
      this.#deliveries.delete(id)
      this.#retained.delete(id)
      deleted++
    }
    return deleted
  }

  /** Deletes a conversation and those of its deliveries `deletes` says go. */
  #drop(
    id: string,
    row: conversations.ConversationRow,
    deletes: (delivery: MemoryDelivery) => boolean,
  ) {
    this.#conversations.delete(id)
    this.#messages.delete(id)
    const live = this.#live.get(row.bot_id)
    live?.delete(id)
    if (live?.size === 0) this.#live.delete(row.bot_id)
    for (const delivery of [...this.#deliveries.values()]) {
      if (delivery.conversationId !== id || !deletes(delivery)) continue
      this.#setStatus(delivery, 'failed')
      this.#deliveries.delete(delivery.id)
    }
  }

  async recordDelivery(delivery: T.NewDelivery, alerts?: T.OutcomeAlerts): Promise<void> {
    this.assertOpen()
    const outcome = deliveryOutcome(delivery)
    const [row] = this.#prepareDeliveries([delivery])
    // Throws before anything changes when an alert's id exists: nothing is written then.
    const alertRows = outcome ? this.#countOutcome(delivery.webhook, outcome, alerts) : []
    if (row) this.#insert(row)
    for (const alert of alertRows) this.#insert(alert)
  }

  async leaseDueDeliveries(options: T.LeaseOptions): Promise<T.DeliveryRecord[]> {
    this.assertOpen()
    const { total, perWebhook } = leaseLimits(options.limit, options.perWebhookLimit)
    if (total === 0 || perWebhook === 0) return []
    const queues: MemoryDelivery[][] = []
    const skip = new Set(options.skipWebhooks)
    for (const [webhook, ids] of this.#pending) {
      if (skip.has(webhook)) continue
      const due: MemoryDelivery[] = []
      for (const id of ids) {
        const row = this.#deliveries.get(id)
        if (row && dueAt(row) <= options.now) due.push(row)
      }
      if (due.length === 0) continue
      due.sort((a, b) => dueAt(a) - dueAt(b) || a.seq - b.seq)
      queues.push(due.slice(0, perWebhook))
    }
    return roundRobin(queues, total).map((row) => {
      row.leaseOwner = options.owner
      row.leaseUntil = options.now + options.leaseMs
      return toRecord(row)
    })
  }

  async completeAttempt(completion: T.AttemptCompletion): Promise<boolean> {
    this.assertOpen()
    const row = this.#deliveries.get(completion.id)
    if (row?.status !== 'pending' || row.leaseOwner !== completion.owner) return false
    const alerts = this.#countOutcome(row.webhook, completionOutcome(completion), completion.alerts)
    const done = completed(completion)
    row.history.push(done.attempt)
    row.attempts += 1
    row.lastStatus = done.attempt.status
    row.lastError = done.attempt.error
    row.leaseOwner = null
    row.leaseUntil = null
    row.nextAttemptAt = done.nextAttemptAt
    this.#setStatus(row, done.status)
    for (const alert of alerts) this.#insert(alert)
    return true
  }

  /** Counts `outcome` in its webhook's health; the alerts it brings, not yet inserted. */
  #countOutcome(webhook: string, outcome: HealthOutcome, alerts: T.OutcomeAlerts | undefined) {
    const writes = outcomeWrites(this.health.get(webhook) ?? null, outcome, alerts)
    const rows = this.#prepareDeliveries(writes.alerts)
    if (writes.health) this.health.set(webhook, writes.health)
    return rows
  }

  async releaseLeases(owner: string, ids: readonly string[]): Promise<number> {
    this.assertOpen()
    let released = 0
    for (const id of ids) {
      const row = this.#deliveries.get(id)
      if (row?.status !== 'pending' || row.leaseOwner !== owner) continue
      row.leaseOwner = null
      row.leaseUntil = null
      released++
    }
    return released
  }

  async getDelivery(id: string): Promise<T.DeliveryDetail | null> {
    this.assertOpen()
    const row = this.#deliveries.get(id)
    if (!row) return null
    return { ...toRecord(row), history: row.history.map((attempt) => ({ ...attempt })) }
  }

  async listDeliveries(query: T.DeliveryQuery): Promise<T.DeliveryRecord[]> {
    this.assertOpen()
    const limit = Math.max(0, Math.floor(query.limit))
    const rows: MemoryDelivery[] = []
    for (const row of this.#deliveries.values()) {
      if (query.webhook !== undefined && row.webhook !== query.webhook) continue
      if (query.status !== undefined && row.status !== query.status) continue
      if (query.conversationId !== undefined && row.conversationId !== query.conversationId) {
        continue
      }
      rows.push(row)
    }
    rows.sort((a, b) => b.seq - a.seq)
    return rows.slice(0, limit).map(toRecord)
  }

  async retryDelivery(id: string, now: number): Promise<T.DeliveryRecord | null> {
    this.assertOpen()
    const row = this.#deliveries.get(id)
    if (!row) return null
    const change = retried(row, now)
    if (change) {
      this.#setStatus(row, change.status)
      row.nextAttemptAt = change.nextAttemptAt
      row.leaseOwner = change.leaseOwner
      row.leaseUntil = change.leaseUntil
    }
    return toRecord(row)
  }

  async nextDueAt(): Promise<number | null> {
    this.assertOpen()
    let next: number | null = null
    for (const ids of this.#pending.values()) {
      for (const id of ids) {
        const row = this.#deliveries.get(id)
        if (row && (next === null || dueAt(row) < next)) next = dueAt(row)
      }
    }
    return next
  }

  async countDeliveries(query: T.DeliveryCountQuery = {}): Promise<number> {
    this.assertOpen()
    let count = 0
    for (const row of this.#deliveries.values()) {
      if (query.webhook !== undefined && row.webhook !== query.webhook) continue
      if (query.status !== undefined && row.status !== query.status) continue
      count++
    }
    return count
  }

  async ping(): Promise<void> {
    this.assertOpen()
  }

  /** Builds the rows first and checks every id, so a refused write changes nothing. */
  #prepareDeliveries(outbox: readonly T.NewDelivery[]): MemoryDelivery[] {
    const ids = new Set<string>()
    for (const delivery of outbox) {
      if (this.#deliveries.has(delivery.id) || ids.has(delivery.id)) {
        throw conflictError('delivery')
      }
      ids.add(delivery.id)
    }
    return outbox.map((delivery) => {
      const { dueAt: _computed, ...row } = newDelivery(delivery)
      return { ...row, seq: 0 }
    })
  }

  #insert(row: MemoryDelivery) {
    row.seq = ++this.#seq
    this.#deliveries.set(row.id, row)
    if (row.status === 'pending') this.#pendingOf(row.webhook).add(row.id)
  }

  #setStatus(row: MemoryDelivery, status: T.DeliveryStatus) {
    if (row.status === 'pending' && status !== 'pending') {
      const ids = this.#pending.get(row.webhook)
      ids?.delete(row.id)
      if (ids?.size === 0) this.#pending.delete(row.webhook)
    } else if (row.status !== 'pending' && status === 'pending') {
      this.#pendingOf(row.webhook).add(row.id)
    }
    row.status = status
  }

  #setLive(id: string, stored: conversations.ConversationRow, state: ConversationState): void {
    const live = this.#live.get(stored.bot_id) ?? new Map()
    const block = conversations.liveBlockOf(state)
    if (block === null) live.delete(id)
    else live.set(id, { version: stored.bot_version, block })
    if (live.size === 0) this.#live.delete(stored.bot_id)
    else this.#live.set(stored.bot_id, live)
  }

  #pendingOf(webhook: string): Set<string> {
    const ids = this.#pending.get(webhook) ?? new Set<string>()
    this.#pending.set(webhook, ids)
    return ids
  }
}

/** A copy without the store's own fields. */
function toRecord(row: MemoryDelivery): T.DeliveryRecord {
  return {
    id: row.id,
    webhook: row.webhook,
    conversationId: row.conversationId,
    async: row.async,
    status: row.status,
    body: row.body,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt,
    nextAttemptAt: row.nextAttemptAt,
    leaseOwner: row.leaseOwner,
    leaseUntil: row.leaseUntil,
  }
}
