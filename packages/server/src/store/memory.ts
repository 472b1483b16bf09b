import type { Bot, ConversationState, Webhook } from '@joon/core'
import { cleanAttempt, leaseLimits, ParsedBots, roundRobin } from './shared.js'
import {
  type AttemptCompletion,
  type AttemptRecord,
  type ConversationRecord,
  type ConversationUpdate,
  type DeliveryCountQuery,
  type DeliveryDetail,
  type DeliveryQuery,
  type DeliveryRecord,
  type DeliveryStatus,
  type LeaseOptions,
  type NewConversation,
  type NewDelivery,
  type PutResult,
  type Store,
  StoreConflictError,
} from './types.js'

interface StoredConversation {
  botId: string
  /** JSON text: a deep copy that nobody can mutate, and the same round-trip SQL stores do. */
  state: string
  version: number
  createdAt: number
  updatedAt: number
}

interface StoredDelivery extends DeliveryRecord {
  /** Insertion order, the tie-break after `createdAt`. */
  seq: number
  history: AttemptRecord[]
}

/**
 * Everything in process memory: for tests and edge runtimes (Web APIs only, no `node:*`).
 * Lost when the process ends. Each method runs to completion without awaiting, so every
 * write is atomic as far as other callers can tell.
 */
export class MemoryStore implements Store {
  readonly #bots = new Map<string, string>()
  readonly #parsedBots = new ParsedBots()
  readonly #webhooks = new Map<string, string>()
  readonly #conversations = new Map<string, StoredConversation>()
  readonly #deliveries = new Map<string, StoredDelivery>()
  /** Ids of pending deliveries by webhook, so leasing never walks finished ones. */
  readonly #pending = new Map<string, Set<string>>()
  #seq = 0
  #closed = false

  async putBot(bot: Bot): Promise<PutResult> {
    this.#open()
    const created = !this.#bots.has(bot.id)
    this.#bots.set(bot.id, JSON.stringify(bot))
    return { created }
  }

  async getBot(id: string): Promise<Bot | null> {
    this.#open()
    const json = this.#bots.get(id)
    return json === undefined ? null : this.#parsedBots.get(id, json)
  }

  async listBots(): Promise<Bot[]> {
    this.#open()
    return sortedKeys(this.#bots).map((id) => this.#parsedBots.get(id, this.#bots.get(id)!))
  }

  async deleteBot(id: string): Promise<boolean> {
    this.#open()
    this.#parsedBots.delete(id)
    return this.#bots.delete(id)
  }

  async putWebhook(webhook: Webhook): Promise<PutResult> {
    this.#open()
    const created = !this.#webhooks.has(webhook.name)
    this.#webhooks.set(webhook.name, JSON.stringify(webhook))
    return { created }
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    this.#open()
    const json = this.#webhooks.get(name)
    return json === undefined ? null : (JSON.parse(json) as Webhook)
  }

  async listWebhooks(): Promise<Webhook[]> {
    this.#open()
    return sortedValues(this.#webhooks).map((json) => JSON.parse(json) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    this.#open()
    return this.#webhooks.delete(name)
  }

  async createConversation(
    conversation: NewConversation,
    outbox: readonly NewDelivery[] = [],
  ): Promise<void> {
    this.#open()
    if (this.#conversations.has(conversation.id)) {
      throw new StoreConflictError(`conversation ${conversation.id} already exists`)
    }
    const rows = this.#prepareDeliveries(outbox)
    this.#conversations.set(conversation.id, {
      botId: conversation.botId,
      state: JSON.stringify(conversation.state),
      version: 1,
      createdAt: conversation.now,
      updatedAt: conversation.now,
    })
    for (const row of rows) this.#insert(row)
  }

  async getConversation(id: string): Promise<ConversationRecord | null> {
    this.#open()
    const stored = this.#conversations.get(id)
    if (stored === undefined) return null
    return {
      id,
      botId: stored.botId,
      state: JSON.parse(stored.state) as ConversationState,
      version: stored.version,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt,
    }
  }

  async updateConversation(
    update: ConversationUpdate,
    outbox: readonly NewDelivery[] = [],
  ): Promise<boolean> {
    this.#open()
    const stored = this.#conversations.get(update.id)
    if (stored === undefined || stored.version !== update.expectedVersion) return false
    const rows = this.#prepareDeliveries(outbox)
    stored.state = JSON.stringify(update.state)
    stored.version += 1
    stored.updatedAt = update.now
    for (const row of rows) this.#insert(row)
    return true
  }

  async recordDelivery(delivery: NewDelivery): Promise<void> {
    this.#open()
    const [row] = this.#prepareDeliveries([delivery])
    if (row) this.#insert(row)
  }

  async leaseDueDeliveries(options: LeaseOptions): Promise<DeliveryRecord[]> {
    this.#open()
    const { total, perWebhook } = leaseLimits(options.limit, options.perWebhookLimit)
    if (total === 0 || perWebhook === 0) return []
    const queues: StoredDelivery[][] = []
    const skip = new Set(options.skipWebhooks)
    for (const [webhook, ids] of this.#pending) {
      if (skip.has(webhook)) continue
      const due: StoredDelivery[] = []
      for (const id of ids) {
        const row = this.#deliveries.get(id)
        if (row && dueAt(row) <= options.now) due.push(row)
      }
      if (due.length === 0) continue
      due.sort(byDue)
      queues.push(due.slice(0, perWebhook))
    }
    queues.sort((a, b) => byDue(a[0]!, b[0]!))
    const picked = roundRobin(queues, total)
    for (const row of picked) {
      row.leaseOwner = options.owner
      row.leaseUntil = options.now + options.leaseMs
    }
    return picked.map(toRecord)
  }

  async completeAttempt(completion: AttemptCompletion): Promise<boolean> {
    this.#open()
    const row = this.#deliveries.get(completion.id)
    if (row?.status !== 'pending' || row.leaseOwner !== completion.owner) return false
    const attempt = cleanAttempt(completion.attempt)
    row.history.push(attempt)
    row.attempts += 1
    row.lastStatus = attempt.status
    row.lastError = attempt.error
    row.leaseOwner = null
    row.leaseUntil = null
    const { outcome } = completion
    row.nextAttemptAt = outcome.status === 'pending' ? outcome.nextAttemptAt : null
    if (outcome.status !== 'pending') this.#setStatus(row, outcome.status)
    return true
  }

  async releaseLeases(owner: string, ids: readonly string[]): Promise<number> {
    this.#open()
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

  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<boolean[]> {
    const results: boolean[] = []
    for (const completion of completions) results.push(await this.completeAttempt(completion))
    return results
  }

  async getDelivery(id: string): Promise<DeliveryDetail | null> {
    this.#open()
    const row = this.#deliveries.get(id)
    if (!row) return null
    return { ...toRecord(row), history: row.history.map((attempt) => ({ ...attempt })) }
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]> {
    this.#open()
    const limit = Math.max(0, Math.floor(query.limit))
    const rows: StoredDelivery[] = []
    for (const row of this.#deliveries.values()) {
      if (query.webhook !== undefined && row.webhook !== query.webhook) continue
      if (query.status !== undefined && row.status !== query.status) continue
      if (query.conversationId !== undefined && row.conversationId !== query.conversationId) {
        continue
      }
      rows.push(row)
    }
    rows.sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
    return rows.slice(0, limit).map(toRecord)
  }

  async retryDelivery(id: string, now: number): Promise<DeliveryRecord | null> {
    this.#open()
    const row = this.#deliveries.get(id)
    if (!row) return null
    if (row.status !== 'pending') {
      this.#setStatus(row, 'pending')
      row.nextAttemptAt = now
      row.leaseOwner = null
      row.leaseUntil = null
    } else if (row.leaseUntil === null || row.leaseUntil <= now) {
      row.nextAttemptAt = Math.min(row.nextAttemptAt ?? now, now)
    }
    return toRecord(row)
  }

  async nextDueAt(): Promise<number | null> {
    this.#open()
    let next: number | null = null
    for (const ids of this.#pending.values()) {
      for (const id of ids) {
        const row = this.#deliveries.get(id)
        if (row && (next === null || dueAt(row) < next)) next = dueAt(row)
      }
    }
    return next
  }

  async countDeliveries(query: DeliveryCountQuery = {}): Promise<number> {
    this.#open()
    let count = 0
    for (const row of this.#deliveries.values()) {
      if (query.webhook !== undefined && row.webhook !== query.webhook) continue
      if (query.status !== undefined && row.status !== query.status) continue
      count++
    }
    return count
  }

  async ping(): Promise<void> {
    this.#open()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #open() {
    if (this.#closed) throw new Error('the store is closed')
  }

  /** Builds the rows first and checks every id, so a refused write changes nothing. */
  #prepareDeliveries(outbox: readonly NewDelivery[]): StoredDelivery[] {
    const ids = new Set<string>()
    for (const delivery of outbox) {
      if (this.#deliveries.has(delivery.id) || ids.has(delivery.id)) {
        throw new StoreConflictError(`delivery ${delivery.id} already exists`)
      }
      ids.add(delivery.id)
    }
    return outbox.map((delivery) => {
      const status = delivery.status ?? 'pending'
      const attempt = delivery.attempt ? cleanAttempt(delivery.attempt) : null
      return {
        seq: 0,
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
        nextAttemptAt: status === 'pending' ? (delivery.nextAttemptAt ?? delivery.createdAt) : null,
        leaseOwner: status === 'pending' ? (delivery.lease?.owner ?? null) : null,
        leaseUntil: status === 'pending' ? (delivery.lease?.until ?? null) : null,
        history: attempt ? [attempt] : [],
      }
    })
  }

  #insert(row: StoredDelivery) {
    row.seq = ++this.#seq
    this.#deliveries.set(row.id, row)
    if (row.status === 'pending') this.#pendingOf(row.webhook).add(row.id)
  }

  #setStatus(row: StoredDelivery, status: DeliveryStatus) {
    if (row.status === 'pending' && status !== 'pending') {
      const ids = this.#pending.get(row.webhook)
      ids?.delete(row.id)
      if (ids?.size === 0) this.#pending.delete(row.webhook)
    } else if (row.status !== 'pending' && status === 'pending') {
      this.#pendingOf(row.webhook).add(row.id)
    }
    row.status = status
  }

  #pendingOf(webhook: string): Set<string> {
    let ids = this.#pending.get(webhook)
    if (!ids) {
      ids = new Set()
      this.#pending.set(webhook, ids)
    }
    return ids
  }
}

/** When a pending delivery can next be leased: when due, and not before its lease ends. */
function dueAt(row: DeliveryRecord): number {
  return Math.max(row.nextAttemptAt ?? 0, row.leaseUntil ?? 0)
}

function byDue(a: StoredDelivery, b: StoredDelivery): number {
  return dueAt(a) - dueAt(b) || a.seq - b.seq
}

function sortedKeys(map: Map<string, string>): string[] {
  return [...map.keys()].sort(compareCodeUnits)
}

function sortedValues(map: Map<string, string>): string[] {
  return sortedKeys(map).map((key) => map.get(key)!)
}

/** Plain code-unit order, the same as SQLite's BINARY collation and PostgreSQL's "C". */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function toRecord(row: StoredDelivery): DeliveryRecord {
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
