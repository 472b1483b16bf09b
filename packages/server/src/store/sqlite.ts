import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Bot, ConversationState, Webhook } from '@joon/core'
import { cleanAttempt, leaseLimits, ParsedBots, roundRobin } from './shared.js'
import {
  isBusy,
  isUniqueViolation,
  openSqliteDatabase,
  type SqliteDatabase,
  type SqliteDriverName,
  type SqliteStatement,
} from './sqlite-driver.js'
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

export interface SqliteStoreOptions {
  /**
   * `normal` (the default): a commit survives the process being killed at any instant
   * (SIGKILL, OOM, crash), because in WAL mode a commit is in the OS's file cache before it
   * returns; only an OS crash or power loss can drop the last commits, and never corrupts the
   * file. `full` also syncs the WAL to disk on every commit, which survives power loss and
   * costs an fsync per write.
   */
  synchronous?: 'normal' | 'full'
  /** How long a write waits for another connection's lock, in ms. Default 10,000. */
  busyTimeoutMs?: number
  /** Default: `node:sqlite` where Node has it (22.13+), else better-sqlite3 (Node 20). */
  driver?: SqliteDriverName
}

/**
 * Schema migrations, applied in order; `PRAGMA user_version` holds how many ran. Never edit
 * one that shipped: append a new one.
 *
 * `deliveries.due_at` is when a pending delivery can next be leased: `next_attempt_at`, or the
 * lease expiry while leased (a crashed worker's delivery becomes due again on its own). It is
 * NULL once delivered or failed, so the partial index on it only holds the live queue.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE bots (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
  );
  CREATE TABLE webhooks (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
  );
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    webhook TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    async INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    due_at INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_webhook_due ON deliveries (webhook, due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_created ON deliveries (created_at, seq);
  CREATE INDEX deliveries_webhook_created ON deliveries (webhook, created_at, seq);
  CREATE INDEX deliveries_status_created ON deliveries (status, created_at, seq);
  CREATE INDEX deliveries_conversation_created ON deliveries (conversation_id, created_at, seq);
  CREATE TABLE delivery_attempts (
    delivery_seq INTEGER NOT NULL REFERENCES deliveries (seq),
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    duration_ms REAL NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_seq, n)
  ) WITHOUT ROWID;
  `,
  // Conversation ids are random, so every outbox row landed on a random page of this index:
  // about a third of what an outbox row cost a group commit. No API lists a conversation's
  // deliveries; the store's conversationId filter scans instead.
  'DROP INDEX deliveries_conversation_created;',
  // Fewer b-trees on a delivery's way (a busy server writes its outbox row and its outcome on
  // the chat's thread): 4 index entries per outbox row instead of 7, and recording a delivered
  // attempt rewrites the row and drops one queue entry instead of 5 b-tree changes. Attempts
  // go into the row as a JSON array; listings go newest first by `seq` (the order stored),
  // through the webhook's index, the failed ones' or, for pending ones, the queue's.
  `
  ALTER TABLE deliveries ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
  UPDATE deliveries SET history = (
    SELECT json_group_array(
      json_object('at', at, 'status', status, 'durationMs', duration_ms, 'error', error) ORDER BY n)
    FROM delivery_attempts WHERE delivery_seq = deliveries.seq)
  WHERE seq IN (SELECT delivery_seq FROM delivery_attempts);
  DROP TABLE delivery_attempts;
  DROP INDEX deliveries_due;
  DROP INDEX deliveries_created;
  DROP INDEX deliveries_webhook_created;
  DROP INDEX deliveries_status_created;
  CREATE INDEX deliveries_webhook_seq ON deliveries (webhook, seq);
  CREATE INDEX deliveries_failed ON deliveries (seq) WHERE status = 'failed';
  `,
]

interface ConversationRow {
  bot_id: string
  state: string
  version: number
  created_at: number
  updated_at: number
}

interface DeliveryRow {
  seq: number
  id: string
  webhook: string
  conversation_id: string
  async: number
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

interface QueuedWrite {
  fn: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

const DELIVERY_COLUMNS = `seq, id, webhook, conversation_id, async, status, body, attempts,
  last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until`

type Statement<P extends unknown[], R = unknown> = SqliteStatement<P, R>

/**
 * The embedded default store: one SQLite file in WAL mode, safe to share between processes
 * on one machine (every write is a `BEGIN IMMEDIATE` transaction, so leases and versioned
 * updates are serialized by SQLite's write lock). Both drivers are synchronous: each method
 * runs its whole transaction without yielding, which also makes it atomic in-process.
 *
 * The writes on a busy server's path (conversations with their outbox, delivery records,
 * leases, attempts) are group-committed: those issued in the same turn of the event loop
 * share one transaction, each in its own savepoint (see `#grouped`).
 */
export class SqliteStore implements Store {
  readonly #db: SqliteDatabase
  readonly #sql: ReturnType<typeof prepareStatements>
  readonly #parsedBots = new ParsedBots()
  readonly #listStatements = new Map<string, Statement<(string | number)[], DeliveryRow>>()
  readonly #countStatements = new Map<string, Statement<string[], { n: number }>>()
  /** Writes waiting for this turn of the event loop's group commit. */
  #queued: QueuedWrite[] = []

  private constructor(db: SqliteDatabase) {
    this.#db = db
    this.#sql = prepareStatements(db)
  }

  /** Opens (creating directories and the file if needed) and migrates a database file. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    if (path !== ':memory:' && !path.startsWith('file:')) {
      mkdirSync(dirname(path), { recursive: true })
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000
    const db = openSqliteDatabase(path, options.driver)
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
      // Switching a new file to WAL while another process does the same can answer "database
      // is locked" at once, without waiting: SQLite does not call the busy handler there.
      retryWhileBusy(busyTimeoutMs, () => db.exec('PRAGMA journal_mode = WAL'))
      db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
      db.exec('PRAGMA foreign_keys = ON')
      // Keeps the WAL file from staying huge after a burst once it was checkpointed.
      db.exec('PRAGMA journal_size_limit = 67108864')
      retryWhileBusy(busyTimeoutMs, () => migrate(db))
      return new SqliteStore(db)
    } catch (error) {
      db.close()
      throw error
    }
  }

  async putBot(bot: Bot): Promise<PutResult> {
    return this.#write(() => {
      const created = this.#sql.botExists.get(bot.id) === undefined
      this.#sql.putBot.run(bot.id, JSON.stringify(bot))
      return { created }
    })
  }

  async getBot(id: string): Promise<Bot | null> {
    const row = this.#sql.getBot.get(id)
    return row ? this.#parsedBots.get(id, row.data) : null
  }

  async listBots(): Promise<Bot[]> {
    return this.#sql.listBots.all().map((row) => this.#parsedBots.get(row.id, row.data))
  }

  async deleteBot(id: string): Promise<boolean> {
    this.#parsedBots.delete(id)
    return this.#sql.deleteBot.run(id).changes > 0
  }

  async putWebhook(webhook: Webhook): Promise<PutResult> {
    return this.#write(() => {
      const created = this.#sql.webhookExists.get(webhook.name) === undefined
      this.#sql.putWebhook.run(webhook.name, JSON.stringify(webhook))
      return { created }
    })
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    const row = this.#sql.getWebhook.get(name)
    return row ? (JSON.parse(row.data) as Webhook) : null
  }

  async listWebhooks(): Promise<Webhook[]> {
    return this.#sql.listWebhooks.all().map((row) => JSON.parse(row.data) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    return this.#sql.deleteWebhook.run(name).changes > 0
  }

  async createConversation(
    conversation: NewConversation,
    outbox: readonly NewDelivery[] = [],
  ): Promise<void> {
    const state = JSON.stringify(conversation.state)
    return this.#grouped(() => {
      const { id, botId, now } = conversation
      this.#sql.insertConversation.run(id, botId, state, now, now)
      for (const delivery of outbox) this.#insertDelivery(delivery)
    })
  }

  async getConversation(id: string): Promise<ConversationRecord | null> {
    const row = this.#sql.getConversation.get(id)
    if (!row) return null
    return {
      id,
      botId: row.bot_id,
      state: JSON.parse(row.state) as ConversationState,
      version: row.version,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }
  }

  async updateConversation(
    update: ConversationUpdate,
    outbox: readonly NewDelivery[] = [],
  ): Promise<boolean> {
    const state = JSON.stringify(update.state)
    return this.#grouped(() => {
      const { id, expectedVersion, now } = update
      if (this.#sql.updateConversation.run(state, now, id, expectedVersion).changes === 0) {
        return false
      }
      for (const delivery of outbox) this.#insertDelivery(delivery)
      return true
    })
  }

  async recordDelivery(delivery: NewDelivery): Promise<void> {
    return this.#grouped(() => this.#insertDelivery(delivery))
  }

  async leaseDueDeliveries(options: LeaseOptions): Promise<DeliveryRecord[]> {
    const { total, perWebhook } = leaseLimits(options.limit, options.perWebhookLimit)
    if (total === 0 || perWebhook === 0) return []
    const { now, owner } = options
    const leaseUntil = now + options.leaseMs
    return this.#grouped(() => {
      const queues: DeliveryRow[][] = []
      const skip = new Set(options.skipWebhooks)
      let hook = this.#sql.firstPendingWebhook.get()
      while (hook) {
        const queue = skip.has(hook.name)
          ? []
          : this.#sql.dueOfWebhook.all(hook.name, now, perWebhook)
        if (queue.length > 0) queues.push(queue)
        hook = this.#sql.nextPendingWebhook.get(hook.name)
      }
      // Whoever has waited longest goes first in each round.
      queues.sort((a, b) => dueOf(a[0]!) - dueOf(b[0]!) || a[0]!.seq - b[0]!.seq)
      const picked = roundRobin(queues, total)
      for (const row of picked) {
        this.#sql.lease.run(owner, leaseUntil, leaseUntil, row.seq)
        row.lease_owner = owner
        row.lease_until = leaseUntil
      }
      return picked.map(toRecord)
    })
  }

  async completeAttempt(completion: AttemptCompletion): Promise<boolean> {
    return this.#grouped(() => this.#complete(completion))
  }

  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<boolean[]> {
    return this.#grouped(() => completions.map((completion) => this.#complete(completion)))
  }

  async releaseLeases(owner: string, ids: readonly string[]): Promise<number> {
    return this.#write(() => {
      let released = 0
      for (const id of ids) released += Number(this.#sql.release.run(id, owner).changes)
      return released
    })
  }

  #complete(completion: AttemptCompletion): boolean {
    const attempt = cleanAttempt(completion.attempt)
    const { outcome } = completion
    const next = outcome.status === 'pending' ? outcome.nextAttemptAt : null
    const { changes } = this.#sql.complete.run(
      outcome.status,
      attempt.status,
      attempt.error,
      next,
      next,
      JSON.stringify(attempt),
      completion.id,
      completion.owner,
    )
    return changes > 0
  }

  async getDelivery(id: string): Promise<DeliveryDetail | null> {
    const row = this.#sql.getDeliveryDetail.get(id)
    if (!row) return null
    return { ...toRecord(row), history: JSON.parse(row.history) as AttemptRecord[] }
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]> {
    const limit = Math.max(0, Math.floor(query.limit))
    const filters = deliveryFilters(query)
    let statement = this.#listStatements.get(filters.key)
    if (!statement) {
      // Pending ones through the queue's index, sorted: a scan of the table from its newest
      // end would walk every delivered row to reach the oldest pending one.
      const index = query.status === 'pending' ? 'INDEXED BY deliveries_webhook_due' : ''
      statement = this.#db.prepare<(string | number)[], DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries ${index} ${filters.where}
         ORDER BY seq DESC LIMIT ?`,
      )
      this.#listStatements.set(filters.key, statement)
    }
    return statement.all(...filters.values, limit).map(toRecord)
  }

  async retryDelivery(id: string, now: number): Promise<DeliveryRecord | null> {
    return this.#write(() => {
      const row = this.#sql.getDelivery.get(id)
      if (!row) return null
      if (row.status !== 'pending') {
        this.#sql.requeue.run(now, now, row.seq)
      } else if (row.lease_until === null || row.lease_until <= now) {
        const next = Math.min(row.next_attempt_at ?? now, now)
        this.#sql.bringForward.run(next, Math.max(next, row.lease_until ?? next), row.seq)
      }
      return toRecord(this.#sql.getDelivery.get(id)!)
    })
  }

  async nextDueAt(): Promise<number | null> {
    return this.#read(() => {
      let earliest: number | null = null
      for (let hook = this.#sql.firstPendingWebhook.get(); hook; ) {
        const due = this.#sql.firstDueOfWebhook.get(hook.name)?.due ?? null
        if (due !== null && (earliest === null || due < earliest)) earliest = due
        hook = this.#sql.nextPendingWebhook.get(hook.name)
      }
      return earliest
    })
  }

  async countDeliveries(query: DeliveryCountQuery = {}): Promise<number> {
    const filters = deliveryFilters(query)
    let statement = this.#countStatements.get(filters.key)
    if (!statement) {
      statement = this.#db.prepare<string[], { n: number }>(
        `SELECT count(*) AS n FROM deliveries ${filters.where}`,
      )
      this.#countStatements.set(filters.key, statement)
    }
    return statement.get(...filters.values)?.n ?? 0
  }

  async ping(): Promise<void> {
    this.#sql.ping.get()
  }

  async close(): Promise<void> {
    if (!this.#db.isOpen) return
    this.#flush()
    try {
      this.#db.exec('PRAGMA optimize')
    } finally {
      this.#db.close()
    }
  }

  /** Runs `fn` as one `BEGIN IMMEDIATE` transaction: it takes the write lock up front. */
  #write<T>(fn: () => T): T {
    try {
      return this.#db.transaction('immediate', fn)
    } catch (error) {
      if (isUniqueViolation(error)) throw new StoreConflictError(conflictMessage(error))
      throw error
    }
  }

  /**
   * Group commit. Under load many requests reach their write in the same turn of the event
   * loop, and a commit (WAL frames, locks) costs several times a small write: they share one
   * transaction, committed once the turn's other work is done (`setImmediate`). Each write
   * runs in its own savepoint, so a unique-key conflict undoes only its own rows and rejects
   * only its own caller. Any other failure, or a failed commit, leaves nothing of the batch
   * written; each write then runs again in a transaction of its own, so one bad write cannot
   * fail the others. Nobody is answered before the commit that holds their write.
   */
  #grouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      if (this.#queued.length === 1) setImmediate(() => this.#flush())
    })
  }

  #flush(): void {
    const batch = this.#queued
    if (batch.length === 0) return
    this.#queued = []
    if (batch.length > 1) {
      const outcomes: { value?: unknown; error?: unknown }[] = []
      try {
        this.#write(() => {
          for (const write of batch) {
            try {
              outcomes.push({ value: this.#db.transaction('immediate', write.fn) })
            } catch (error) {
              if (!isUniqueViolation(error)) throw error
              outcomes.push({ error: new StoreConflictError(conflictMessage(error)) })
            }
          }
        })
      } catch {
        outcomes.length = 0
      }
      if (outcomes.length === batch.length) {
        for (const [i, write] of batch.entries()) {
          const outcome = outcomes[i]!
          if ('error' in outcome) write.reject(outcome.error)
          else write.resolve(outcome.value)
        }
        return
      }
    }
    for (const write of batch) {
      try {
        write.resolve(this.#write(write.fn))
      } catch (error) {
        write.reject(error)
      }
    }
  }

  /** Several reads that must see one snapshot. */
  #read<T>(fn: () => T): T {
    return this.#db.transaction('deferred', fn)
  }

  #insertDelivery(delivery: NewDelivery) {
    const status = delivery.status ?? 'pending'
    const attempt = delivery.attempt ? cleanAttempt(delivery.attempt) : null
    const next = status === 'pending' ? (delivery.nextAttemptAt ?? delivery.createdAt) : null
    const lease = status === 'pending' ? delivery.lease : undefined
    this.#sql.insertDelivery.run(
      delivery.id,
      delivery.webhook,
      delivery.conversationId,
      delivery.async ? 1 : 0,
      status,
      delivery.body,
      attempt ? 1 : 0,
      attempt ? attempt.status : null,
      attempt ? attempt.error : null,
      delivery.createdAt,
      next,
      lease?.owner ?? null,
      lease?.until ?? null,
      lease?.until ?? next,
      attempt ? JSON.stringify([attempt]) : '[]',
    )
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    botExists: db.prepare<[string], { ok: number }>('SELECT 1 AS ok FROM bots WHERE id = ?'),
    putBot: db.prepare<[string, string]>(
      'INSERT INTO bots (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data',
    ),
    getBot: db.prepare<[string], { data: string }>('SELECT data FROM bots WHERE id = ?'),
    listBots: db.prepare<[], { id: string; data: string }>('SELECT id, data FROM bots ORDER BY id'),
    deleteBot: db.prepare<[string]>('DELETE FROM bots WHERE id = ?'),
    webhookExists: db.prepare<[string], { ok: number }>(
      'SELECT 1 AS ok FROM webhooks WHERE name = ?',
    ),
    putWebhook: db.prepare<[string, string]>(
      `INSERT INTO webhooks (name, data) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET data = excluded.data`,
    ),
    getWebhook: db.prepare<[string], { data: string }>('SELECT data FROM webhooks WHERE name = ?'),
    listWebhooks: db.prepare<[], { data: string }>('SELECT data FROM webhooks ORDER BY name'),
    deleteWebhook: db.prepare<[string]>('DELETE FROM webhooks WHERE name = ?'),
    insertConversation: db.prepare<[string, string, string, number, number]>(
      `INSERT INTO conversations (id, bot_id, state, version, created_at, updated_at)
       VALUES (?, ?, ?, 1, ?, ?)`,
    ),
    getConversation: db.prepare<[string], ConversationRow>(
      'SELECT bot_id, state, version, created_at, updated_at FROM conversations WHERE id = ?',
    ),
    updateConversation: db.prepare<[string, number, string, number]>(
      `UPDATE conversations SET state = ?, updated_at = ?, version = version + 1
       WHERE id = ? AND version = ?`,
    ),
    insertDelivery: db.prepare<
      [
        string,
        string,
        string,
        number,
        string,
        string,
        number,
        number | null,
        string | null,
        number,
        number | null,
        string | null,
        number | null,
        number | null,
        string,
      ]
    >(
      `INSERT INTO deliveries (id, webhook, conversation_id, async, status, body, attempts,
         last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until, due_at,
         history)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getDelivery: db.prepare<[string], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`,
    ),
    getDeliveryDetail: db.prepare<[string], DeliveryRow & { history: string }>(
      `SELECT ${DELIVERY_COLUMNS}, history FROM deliveries WHERE id = ?`,
    ),
    // Walks the distinct webhooks with pending deliveries, one index seek each (a loose index
    // scan). Pinned to the index: without a bound on webhook the planner prefers a sort.
    firstPendingWebhook: db.prepare<[], { name: string }>(
      `SELECT webhook AS name FROM deliveries INDEXED BY deliveries_webhook_due
       WHERE status = 'pending' AND webhook >= '' ORDER BY webhook LIMIT 1`,
    ),
    nextPendingWebhook: db.prepare<[string], { name: string }>(
      `SELECT webhook AS name FROM deliveries INDEXED BY deliveries_webhook_due
       WHERE status = 'pending' AND webhook > ? ORDER BY webhook LIMIT 1`,
    ),
    dueOfWebhook: db.prepare<[string, number, number], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries INDEXED BY deliveries_webhook_due
       WHERE status = 'pending' AND webhook = ? AND due_at <= ?
       ORDER BY due_at, seq LIMIT ?`,
    ),
    lease: db.prepare<[string, number, number, number]>(
      'UPDATE deliveries SET lease_owner = ?, lease_until = ?, due_at = ? WHERE seq = ?',
    ),
    complete: db.prepare<
      [
        DeliveryStatus,
        number | null,
        string | null,
        number | null,
        number | null,
        string,
        string,
        string,
      ]
    >(
      `UPDATE deliveries SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
         next_attempt_at = ?, due_at = ?, lease_owner = NULL, lease_until = NULL,
         history = json_insert(history, '$[#]', json(?))
       WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
    ),
    requeue: db.prepare<[number, number, number]>(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, due_at = ?,
         lease_owner = NULL, lease_until = NULL
       WHERE seq = ?`,
    ),
    release: db.prepare<[string, string]>(
      `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, due_at = next_attempt_at
       WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
    ),
    bringForward: db.prepare<[number, number, number]>(
      'UPDATE deliveries SET next_attempt_at = ?, due_at = ? WHERE seq = ?',
    ),
    firstDueOfWebhook: db.prepare<[string], { due: number | null }>(
      `SELECT due_at AS due FROM deliveries INDEXED BY deliveries_webhook_due
       WHERE status = 'pending' AND webhook = ? ORDER BY due_at LIMIT 1`,
    ),
  }
}

function migrate(db: SqliteDatabase) {
  db.transaction('immediate', () => {
    const version =
      db.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0
    if (version > MIGRATIONS.length) {
      throw new Error(
        `the database schema is at version ${version}, newer than this Joon knows ` +
          `(${MIGRATIONS.length}): upgrade Joon`,
      )
    }
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql)
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`)
  })
}

function retryWhileBusy(timeoutMs: number, fn: () => void) {
  const deadline = Date.now() + timeoutMs
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      return fn()
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error
      // open() is synchronous like the rest of better-sqlite3: sleep without a timer.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause)
    }
  }
}

/** Written out, not bound: only then can SQLite use the partial indexes on status. */
const STATUS_CLAUSES: Record<DeliveryStatus, string> = {
  pending: "status = 'pending'",
  delivered: "status = 'delivered'",
  failed: "status = 'failed'",
}

function deliveryFilters(query: { webhook?: string; status?: string; conversationId?: string }) {
  const clauses: string[] = []
  const values: string[] = []
  if (query.webhook !== undefined) {
    clauses.push('webhook = ?')
    values.push(query.webhook)
  }
  if (query.status !== undefined && Object.hasOwn(STATUS_CLAUSES, query.status)) {
    clauses.push(STATUS_CLAUSES[query.status as DeliveryStatus])
  } else if (query.status !== undefined) {
    clauses.push('status = ?')
    values.push(query.status)
  }
  if (query.conversationId !== undefined) {
    clauses.push('conversation_id = ?')
    values.push(query.conversationId)
  }
  return {
    key: clauses.join(' AND '),
    where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '',
    values,
  }
}

function dueOf(row: DeliveryRow): number {
  return Math.max(row.next_attempt_at ?? 0, row.lease_until ?? 0)
}

function toRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    webhook: row.webhook,
    conversationId: row.conversation_id,
    async: row.async === 1,
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

function conflictMessage(error: Error): string {
  return error.message.includes('deliveries')
    ? 'a delivery with this id already exists'
    : 'a conversation with this id already exists'
}
