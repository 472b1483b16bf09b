import type { Bot, ConversationState, Webhook } from '@joon/core'
import pg from 'pg'
import { cleanAttempt, leaseLimits, ParsedBots } from './shared.js'
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

export interface PostgresStoreOptions {
  /**
   * A schema to keep Joon's tables in (created if missing), instead of the connection's
   * default search path: several Joon installations, or test runs, can share one database.
   */
  schema?: string
  /** Connections in the pool. Default 10. */
  maxConnections?: number
}

/**
 * Schema migrations, applied in order under an advisory lock, each in the same transaction
 * as the bump of `joon_schema.version`. Never edit one that shipped: append a new one.
 * Columns compared or sorted as text use the "C" collation: byte order, as in SQLite and the
 * memory store, and index-friendly.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE bots (
    id text COLLATE "C" PRIMARY KEY,
    data text NOT NULL
  );
  CREATE TABLE webhooks (
    name text COLLATE "C" PRIMARY KEY,
    data text NOT NULL
  );
  CREATE TABLE conversations (
    id text PRIMARY KEY,
    bot_id text NOT NULL,
    state text NOT NULL,
    version integer NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE TABLE deliveries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    webhook text COLLATE "C" NOT NULL,
    conversation_id text NOT NULL,
    async boolean NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    body text NOT NULL,
    attempts integer NOT NULL,
    last_status integer,
    last_error text,
    created_at bigint NOT NULL,
    next_attempt_at bigint,
    lease_owner text,
    lease_until bigint,
    due_at bigint
  );
  CREATE INDEX deliveries_webhook_due ON deliveries (webhook, due_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_created ON deliveries (created_at, seq);
  CREATE INDEX deliveries_webhook_created ON deliveries (webhook, created_at, seq);
  CREATE INDEX deliveries_status_created ON deliveries (status, created_at, seq);
  CREATE INDEX deliveries_conversation_created ON deliveries (conversation_id, created_at, seq);
  CREATE TABLE delivery_attempts (
    delivery_seq bigint NOT NULL REFERENCES deliveries (seq),
    n integer NOT NULL,
    at bigint NOT NULL,
    status integer,
    duration_ms double precision NOT NULL,
    error text,
    PRIMARY KEY (delivery_seq, n)
  );
  `,
]

/** Any fixed number: every Joon instance on a database serializes its migrations on it. */
const MIGRATION_LOCK = 4_242_001

const INT8_OID = 20

interface DeliveryRow {
  seq: number
  id: string
  webhook: string
  conversation_id: string
  async: boolean
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

const DELIVERY_COLUMNS = `seq, id, webhook, conversation_id, async, status, body, attempts,
  last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until`

/**
 * Inserts an outbox (as parallel arrays, one statement whatever its size) and the attempts
 * that came with it, only if the CTE `head` (declared by the caller, written before) produced
 * a row. The whole WITH statement is one atomic write.
 */
function outboxStatement(head: string, firstParam: number): string {
  const p = (i: number) => `$${firstParam + i}`
  return `WITH ${head},
  inserted AS (
    INSERT INTO deliveries (id, webhook, conversation_id, async, status, body, attempts,
      last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until, due_at)
    SELECT u.id, u.webhook, u.conversation_id, u.async, u.status, u.body, u.attempts,
      u.last_status, u.last_error, u.created_at, u.next_attempt_at, u.lease_owner, u.lease_until,
      coalesce(u.lease_until, u.next_attempt_at)
    FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::boolean[],
      ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::integer[], ${p(7)}::integer[], ${p(8)}::text[],
      ${p(9)}::bigint[], ${p(10)}::bigint[], ${p(16)}::text[], ${p(17)}::bigint[])
      WITH ORDINALITY AS u (id, webhook, conversation_id, async, status, body, attempts,
        last_status, last_error, created_at, next_attempt_at, lease_owner, lease_until, ord)
    WHERE EXISTS (SELECT 1 FROM head)
    ORDER BY u.ord
    RETURNING seq, id
  ),
  attempted AS (
    INSERT INTO delivery_attempts (delivery_seq, n, at, status, duration_ms, error)
    SELECT inserted.seq, 1, a.at, a.status, a.duration_ms, a.error
    FROM unnest(${p(11)}::text[], ${p(12)}::bigint[], ${p(13)}::integer[],
      ${p(14)}::double precision[], ${p(15)}::text[]) AS a (id, at, status, duration_ms, error)
    JOIN inserted ON inserted.id = a.id
  )
  SELECT count(*)::integer AS n FROM head`
}

function outboxParams(outbox: readonly NewDelivery[]): unknown[] {
  const columns: unknown[][] = Array.from({ length: 18 }, () => [])
  for (const delivery of outbox) {
    const status = delivery.status ?? 'pending'
    const attempt = delivery.attempt ? cleanAttempt(delivery.attempt) : null
    const row = [
      delivery.id,
      delivery.webhook,
      delivery.conversationId,
      delivery.async,
      status,
      delivery.body,
      attempt ? 1 : 0,
      attempt ? attempt.status : null,
      attempt ? attempt.error : null,
      delivery.createdAt,
      status === 'pending' ? (delivery.nextAttemptAt ?? delivery.createdAt) : null,
    ]
    for (const [i, value] of row.entries()) columns[i]!.push(value)
    const lease = status === 'pending' ? delivery.lease : undefined
    columns[16]!.push(lease?.owner ?? null)
    columns[17]!.push(lease?.until ?? null)
    if (attempt) {
      const values = [delivery.id, attempt.at, attempt.status, attempt.durationMs, attempt.error]
      for (const [i, value] of values.entries()) columns[11 + i]!.push(value)
    }
  }
  return columns
}

const CREATE_CONVERSATION = outboxStatement(
  `head AS (
    INSERT INTO conversations (id, bot_id, state, version, created_at, updated_at)
    VALUES ($1, $2, $3, 1, $4, $4)
    RETURNING id
  )`,
  5,
)

const UPDATE_CONVERSATION = outboxStatement(
  `head AS (
    UPDATE conversations SET state = $1, updated_at = $2, version = version + 1
    WHERE id = $3 AND version = $4
    RETURNING id
  )`,
  5,
)

const RECORD_DELIVERY = outboxStatement('head AS (SELECT 1)', 1)

/**
 * Fair leasing in one statement. `hooks` lists the webhooks with pending deliveries by
 * skipping through the partial index (a loose index scan, one probe per webhook); each gives
 * up to $2 of its oldest due deliveries as candidates, ranked within their webhook; rank 1 of
 * every webhook goes before rank 2 of any (round-robin), the longest-waiting webhook first in
 * each round. Candidates are locked as they are read (`SKIP LOCKED`), so two instances leasing
 * at once take different heads of the same webhook instead of colliding on them (measured:
 * 60 % of racing leases came back empty before, under 1 % after). That locks at most $2 rows
 * per webhook for the statement's short life; the ones not taken are released at its end.
 */
const LEASE = `
  WITH RECURSIVE hooks (name) AS (
    (SELECT webhook FROM deliveries WHERE status = 'pending' ORDER BY webhook LIMIT 1)
    UNION ALL
    SELECT (SELECT webhook FROM deliveries WHERE status = 'pending' AND webhook > hooks.name
            ORDER BY webhook LIMIT 1)
    FROM hooks WHERE hooks.name IS NOT NULL
  ),
  candidates AS (
    SELECT c.seq,
      row_number() OVER (PARTITION BY c.webhook ORDER BY c.due_at, c.seq) AS rank,
      min(c.due_at) OVER (PARTITION BY c.webhook) AS head
    FROM hooks CROSS JOIN LATERAL (
      SELECT seq, webhook, due_at FROM deliveries
      WHERE status = 'pending' AND webhook = hooks.name AND due_at <= $1
      ORDER BY due_at, seq
      LIMIT $2
      -- Skip rows another instance is leasing right now: without this, two instances leasing
      -- at once rank the same head rows and one comes back empty with thousands due.
      FOR UPDATE SKIP LOCKED
    ) c
    WHERE hooks.name IS NOT NULL AND hooks.name <> ALL($6::text[])
  ),
  picked AS (
    SELECT d.seq, c.rank, c.head FROM candidates c JOIN deliveries d ON d.seq = c.seq
    WHERE d.status = 'pending' AND d.due_at <= $1
    ORDER BY c.rank, c.head, d.webhook
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
  )
  UPDATE deliveries d SET lease_owner = $4, lease_until = $5, due_at = $5
  FROM picked WHERE d.seq = picked.seq
  RETURNING ${DELIVERY_COLUMNS.split(',')
    .map((column) => `d.${column.trim()}`)
    .join(', ')}, picked.rank, picked.head`

const COMPLETE = `
  WITH done AS (
    UPDATE deliveries SET status = $1, attempts = attempts + 1, last_status = $2,
      last_error = $3, next_attempt_at = $4, due_at = $4, lease_owner = NULL, lease_until = NULL
    WHERE id = $5 AND status = 'pending' AND lease_owner = $6
    RETURNING seq, attempts
  )
  INSERT INTO delivery_attempts (delivery_seq, n, at, status, duration_ms, error)
  SELECT seq, attempts, $7, $2, $8, $3 FROM done
  RETURNING delivery_seq`

/**
 * Storage on PostgreSQL, for several Joon instances behind a load balancer. Every write is a
 * single statement (hence atomic, and one round trip) except the rare `retryDelivery`.
 */
export class PostgresStore implements Store {
  readonly #parsedBots = new ParsedBots()
  readonly #pool: pg.Pool

  private constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  /** Connects, and migrates the schema (safely when several instances start at once). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const schema = options.schema
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new Error(`invalid schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]*`)
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      // An unreachable server fails the call instead of hanging it (the worker retries).
      connectionTimeoutMillis: 10_000,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
      // bigint columns hold epoch milliseconds and counters: well within a double.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID && format !== 'binary'
            ? (value: string) => Number(value)
            : pg.types.getTypeParser(
                oid,
                format ?? 'text',
              )) as pg.CustomTypesConfig['getTypeParser'],
      },
    })
    // An idle connection that breaks is dropped by the pool; the next query reports the cause.
    pool.on('error', () => {})
    try {
      await migrate(pool, schema)
      return new PostgresStore(pool)
    } catch (error) {
      await pool.end()
      throw error
    }
  }

  async putBot(bot: Bot): Promise<PutResult> {
    return this.#put('bots', 'id', bot.id, JSON.stringify(bot))
  }

  async getBot(id: string): Promise<Bot | null> {
    if (!storable(id)) return null
    const { rows } = await this.#query<{ data: string }>(
      'get-bot',
      'SELECT data FROM bots WHERE id = $1',
      [id],
    )
    return rows[0] ? this.#parsedBots.get(id, rows[0].data) : null
  }

  async listBots(): Promise<Bot[]> {
    const { rows } = await this.#query<{ id: string; data: string }>(
      'list-bots',
      'SELECT id, data FROM bots ORDER BY id',
      [],
    )
    return rows.map((row) => this.#parsedBots.get(row.id, row.data))
  }

  async deleteBot(id: string): Promise<boolean> {
    this.#parsedBots.delete(id)
    if (!storable(id)) return false
    const result = await this.#query('delete-bot', 'DELETE FROM bots WHERE id = $1', [id])
    return (result.rowCount ?? 0) > 0
  }

  async putWebhook(webhook: Webhook): Promise<PutResult> {
    return this.#put('webhooks', 'name', webhook.name, JSON.stringify(webhook))
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    if (!storable(name)) return null
    const { rows } = await this.#query<{ data: string }>(
      'get-webhook',
      'SELECT data FROM webhooks WHERE name = $1',
      [name],
    )
    return rows[0] ? (JSON.parse(rows[0].data) as Webhook) : null
  }

  async listWebhooks(): Promise<Webhook[]> {
    const { rows } = await this.#query<{ data: string }>(
      'list-webhooks',
      'SELECT data FROM webhooks ORDER BY name',
      [],
    )
    return rows.map((row) => JSON.parse(row.data) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    if (!storable(name)) return false
    const result = await this.#query('delete-webhook', 'DELETE FROM webhooks WHERE name = $1', [
      name,
    ])
    return (result.rowCount ?? 0) > 0
  }

  async createConversation(
    conversation: NewConversation,
    outbox: readonly NewDelivery[] = [],
  ): Promise<void> {
    const { id, botId, state, now } = conversation
    await this.#write('create-conversation', CREATE_CONVERSATION, [
      id,
      botId,
      JSON.stringify(state),
      now,
      ...outboxParams(outbox),
    ])
  }

  async getConversation(id: string): Promise<ConversationRecord | null> {
    if (!storable(id)) return null
    const { rows } = await this.#query<{
      bot_id: string
      state: string
      version: number
      created_at: number
      updated_at: number
    }>(
      'get-conversation',
      'SELECT bot_id, state, version, created_at, updated_at FROM conversations WHERE id = $1',
      [id],
    )
    const row = rows[0]
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
    if (!storable(update.id)) return false
    const { rows } = await this.#write<{ n: number }>('update-conversation', UPDATE_CONVERSATION, [
      JSON.stringify(update.state),
      update.now,
      update.id,
      update.expectedVersion,
      ...outboxParams(outbox),
    ])
    return rows[0]?.n === 1
  }

  async recordDelivery(delivery: NewDelivery): Promise<void> {
    await this.#write('record-delivery', RECORD_DELIVERY, outboxParams([delivery]))
  }

  async leaseDueDeliveries(options: LeaseOptions): Promise<DeliveryRecord[]> {
    const { total, perWebhook } = leaseLimits(options.limit, options.perWebhookLimit)
    if (total === 0 || perWebhook === 0) return []
    const { rows } = await this.#query<DeliveryRow & { rank: number; head: number }>(
      'lease',
      LEASE,
      [
        options.now,
        perWebhook,
        total,
        options.owner,
        options.now + options.leaseMs,
        options.skipWebhooks ?? [],
      ],
    )
    rows.sort((a, b) => a.rank - b.rank || a.head - b.head || compare(a.webhook, b.webhook))
    return rows.map(toRecord)
  }

  async completeAttempt(completion: AttemptCompletion): Promise<boolean> {
    if (!storable(completion.id)) return false
    const attempt = cleanAttempt(completion.attempt)
    const { outcome } = completion
    const { rowCount } = await this.#query('complete', COMPLETE, [
      outcome.status,
      attempt.status,
      attempt.error,
      outcome.status === 'pending' ? outcome.nextAttemptAt : null,
      completion.id,
      completion.owner,
      attempt.at,
      attempt.durationMs,
    ])
    return rowCount === 1
  }

  async releaseLeases(owner: string, ids: readonly string[]): Promise<number> {
    const storableIds = ids.filter(storable)
    if (storableIds.length === 0) return 0
    const { rowCount } = await this.#query(
      'release-leases',
      `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, due_at = next_attempt_at
       WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`,
      [storableIds, owner],
    )
    return rowCount ?? 0
  }

  /** One round trip each: PostgreSQL commits are not what an attempt costs there. */
  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<boolean[]> {
    const results: boolean[] = []
    for (const completion of completions) results.push(await this.completeAttempt(completion))
    return results
  }

  async getDelivery(id: string): Promise<DeliveryDetail | null> {
    if (!storable(id)) return null
    // One statement, so the record and its history come from one snapshot.
    const { rows } = await this.#query<DeliveryRow & { history: string }>(
      'get-delivery',
      `SELECT ${DELIVERY_COLUMNS}, (
         SELECT coalesce(json_agg(json_build_object('at', at, 'status', status,
           'durationMs', duration_ms, 'error', error) ORDER BY n), '[]')::text
         FROM delivery_attempts WHERE delivery_seq = deliveries.seq
       ) AS history
       FROM deliveries WHERE id = $1`,
      [id],
    )
    const row = rows[0]
    if (!row) return null
    const history = (JSON.parse(row.history) as AttemptRecord[]).map(cleanAttempt)
    return { ...toRecord(row), history }
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]> {
    const limit = Math.max(0, Math.floor(query.limit))
    if (!filtersStorable(query)) return []
    const filters = deliveryFilters(query)
    const { rows } = await this.#query<DeliveryRow>(
      `list-deliveries:${filters.key}`,
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries ${filters.where}
       ORDER BY created_at DESC, seq DESC LIMIT $${filters.values.length + 1}`,
      [...filters.values, limit],
    )
    return rows.map(toRecord)
  }

  async retryDelivery(id: string, now: number): Promise<DeliveryRecord | null> {
    if (!storable(id)) return null
    return this.#transaction(async (client) => {
      const { rows } = await client.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 FOR UPDATE`,
        [id],
      )
      const row = rows[0]
      if (!row) return null
      let updated: DeliveryRow = row
      if (row.status !== 'pending') {
        updated = { ...row, status: 'pending', next_attempt_at: now }
        updated.lease_owner = null
        updated.lease_until = null
      } else if (row.lease_until === null || row.lease_until <= now) {
        updated = { ...row, next_attempt_at: Math.min(row.next_attempt_at ?? now, now) }
      } else {
        return toRecord(row)
      }
      await client.query(
        `UPDATE deliveries SET status = $1, next_attempt_at = $2, due_at = $3, lease_owner = $4,
           lease_until = $5 WHERE seq = $6`,
        [
          updated.status,
          updated.next_attempt_at,
          Math.max(updated.next_attempt_at ?? now, updated.lease_until ?? 0),
          updated.lease_owner,
          updated.lease_until,
          row.seq,
        ],
      )
      return toRecord(updated)
    })
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.#query<{ due: number | null }>(
      'next-due-at',
      `SELECT min(due_at) AS due FROM deliveries WHERE status = 'pending'`,
      [],
    )
    return rows[0]?.due ?? null
  }

  async countDeliveries(query: DeliveryCountQuery = {}): Promise<number> {
    if (!filtersStorable(query)) return 0
    const filters = deliveryFilters(query)
    const { rows } = await this.#query<{ n: number }>(
      `count-deliveries:${filters.key}`,
      `SELECT count(*) AS n FROM deliveries ${filters.where}`,
      filters.values,
    )
    return rows[0]?.n ?? 0
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1')
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end()
  }

  /** A named (prepared once per connection, then reused) statement. */
  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>({ name, text, values })
  }

  /** A write whose unique violations mean "this id already exists". */
  async #write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#query<R>(name, text, values)
    } catch (error) {
      if (error instanceof pg.DatabaseError && error.code === '23505') {
        const what = error.constraint?.startsWith('deliveries') ? 'a delivery' : 'a conversation'
        throw new StoreConflictError(`${what} with this id already exists`)
      }
      throw error
    }
  }

  async #put(table: 'bots' | 'webhooks', key: 'id' | 'name', id: string, data: string) {
    // xmax is 0 on a row version this statement inserted, and set when it updated one.
    const { rows } = await this.#query<{ created: boolean }>(
      `put-${table}`,
      `INSERT INTO ${table} (${key}, data) VALUES ($1, $2)
       ON CONFLICT (${key}) DO UPDATE SET data = excluded.data
       RETURNING (xmax = 0) AS created`,
      [id, data],
    )
    return { created: rows[0]?.created === true }
  }

  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      client.release()
      return result
    } catch (error) {
      // A connection that cannot even roll back is destroyed rather than reused.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      )
      throw error
    }
  }
}

async function migrate(pool: pg.Pool, schema: string | undefined) {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    // Held until COMMIT: an instance starting at the same moment waits here, then finds the
    // schema up to date.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await client.query('CREATE TABLE IF NOT EXISTS joon_schema (version integer NOT NULL)')
    const { rows } = await client.query<{ version: number }>('SELECT version FROM joon_schema')
    const version = rows[0]?.version ?? 0
    if (version > MIGRATIONS.length) {
      throw new Error(
        `the database schema is at version ${version}, newer than this Joon knows ` +
          `(${MIGRATIONS.length}): upgrade Joon`,
      )
    }
    for (const sql of MIGRATIONS.slice(version)) await client.query(sql)
    if (rows.length === 0) {
      await client.query('INSERT INTO joon_schema (version) VALUES ($1)', [MIGRATIONS.length])
    } else {
      await client.query('UPDATE joon_schema SET version = $1', [MIGRATIONS.length])
    }
    await client.query('COMMIT')
    client.release()
  } catch (error) {
    await client.query('ROLLBACK').then(
      () => client.release(),
      (rollbackError: Error) => client.release(rollbackError),
    )
    throw error
  }
}

/** PostgreSQL text cannot hold NUL, so no stored id contains one: such lookups find nothing. */
function storable(id: string): boolean {
  return !id.includes('\0')
}

function filtersStorable(query: { webhook?: string; conversationId?: string }): boolean {
  return (
    (query.webhook === undefined || storable(query.webhook)) &&
    (query.conversationId === undefined || storable(query.conversationId))
  )
}

function deliveryFilters(query: { webhook?: string; status?: string; conversationId?: string }) {
  const clauses: string[] = []
  const values: string[] = []
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return
    values.push(value)
    clauses.push(`${column} = $${values.length}`)
  }
  add('webhook', query.webhook)
  add('status', query.status)
  add('conversation_id', query.conversationId)
  return {
    key: clauses.map((clause) => clause.split(' ')[0]).join('+') || 'all',
    where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '',
    values,
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function toRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    webhook: row.webhook,
    conversationId: row.conversation_id,
    async: row.async,
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
