import type pg from 'pg'
import { DELIVERY_COLUMNS, INSERT_COLUMNS, insertValues } from './deliveries.js'
import { migrationsToRun } from './migrations.js'
import { requireOptional } from './optional-dependency.js'
import type { PostgresStoreOptions } from './options.js'
import {
  botVersionTables,
  conversationMessagesTable,
  firstTables,
  LEAN_DELIVERY_INDEXES,
  modelTable,
  POSTGRES,
  webhookHealthTable,
} from './schema.js'
import type { NewDelivery } from './types.js'

/**
 * PostgresStore's SQL: connecting, the schema and its migrations, and the statements that do
 * a whole write in one round trip.
 */

const INT8_OID = 20

/** Connects, and migrates the schema (safely when several instances start at once). */
export async function connect(url: string, options: PostgresStoreOptions): Promise<pg.Pool> {
  const schema = options.schema
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use [a-z_][a-z0-9_]*`)
  }
  const { Pool, types } = requireOptional<typeof pg>('pg', 'PostgreSQL (JOON_DATABASE_URL)')
  const pool = new Pool({
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
          : types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
    },
  })
  // An idle connection that breaks is dropped by the pool; the next query reports the cause.
  pool.on('error', () => {})
  try {
    await inTransaction(pool, (client) => migrate(client, schema))
    return pool
  } catch (error) {
    await pool.end()
    throw error
  }
}

/** Runs `fn` in a transaction on one pooled connection. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect()
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

/**
 * Schema migrations, applied in order under an advisory lock, each in the same transaction
 * as the bump of `joon_schema.version`. Never edit one that shipped: append a new one.
 * The tables SQLite has too are written once, in `schema.ts`. Exported for the upgrade tests.
 */
export const MIGRATIONS: readonly string[] = [
  `${firstTables(POSTGRES)}
  CREATE INDEX deliveries_webhook_due ON deliveries (webhook, due_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_created ON deliveries (created_at, seq);
  CREATE INDEX deliveries_webhook_created ON deliveries (webhook, created_at, seq);
  CREATE INDEX deliveries_status_created ON deliveries (status, created_at, seq);
  CREATE INDEX deliveries_conversation_created ON deliveries (conversation_id, created_at, seq);
  `,
  // Bot versions: every put is a new immutable version; `bots` points at the latest;
  // `bot_counters` outlives a delete so a number is never reused. Conversations are pinned to
  // the version they started on, and `live_block` (the block a conversation waits on, NULL
  // once ended) feeds a partial index that counts live conversations by bot cheaply.
  // Existing bots become version 1 (source 'api'), existing conversations run on it.
  `${botVersionTables(POSTGRES)}
  INSERT INTO bot_versions (bot_id, version, data, source, file, saved_at, blocks)
    SELECT id, 1, data, 'api', NULL, (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
      CASE json_typeof(data::json -> 'blocks')
        WHEN 'array' THEN json_array_length(data::json -> 'blocks') ELSE 0 END
    FROM bots;
  INSERT INTO bot_counters (bot_id, last_version) SELECT id, 1 FROM bots;
  ALTER TABLE bots ADD COLUMN version integer NOT NULL DEFAULT 1;
  ALTER TABLE bots DROP COLUMN data;
  ALTER TABLE conversations ADD COLUMN bot_version integer, ADD COLUMN live_block text;
  UPDATE conversations SET bot_version = 1,
    live_block = CASE WHEN (state::json ->> 'ended')::boolean THEN NULL
                      ELSE coalesce(state::json ->> 'at', '') END;
  CREATE INDEX conversations_live ON conversations (bot_id, bot_version, live_block)
    WHERE live_block IS NOT NULL;
  `, // The lean delivery design SQLite has had since its third migration: attempts as a JSON
  // array in the delivery row (one row written per attempt, not two), listings newest first
  // by seq through the webhook's index, the failed ones' or the queue's, and 2 fewer index
  // entries per outbox row. Existing attempts move into their delivery's row.
  `
  ALTER TABLE deliveries ADD COLUMN history text NOT NULL DEFAULT '[]';
  UPDATE deliveries d SET history = a.history
  FROM (
    SELECT delivery_seq, json_agg(json_build_object('at', at, 'status', status,
      'durationMs', duration_ms, 'error', error) ORDER BY n)::text AS history
    FROM delivery_attempts GROUP BY delivery_seq
  ) a
  WHERE a.delivery_seq = d.seq;
  DROP INDEX deliveries_conversation_created;${LEAN_DELIVERY_INDEXES}
  `,
  // Results (issue 15), as SQLite's fifth migration: listings newest first (per bot or all,
  // ids in byte order), retention by start time (no index on updated_at for steps to
  // rewrite), a conversation's deliveries found for deletion and erasure, and the blocks
  // each conversation reached, kept in the row by the step's own write (conversations from
  // before know only the block they wait on).
  `
  ALTER TABLE conversations ADD COLUMN reached text NOT NULL DEFAULT '[]';
  UPDATE conversations SET reached = json_build_array(live_block)::text
    WHERE live_block IS NOT NULL AND live_block <> '';
  CREATE INDEX conversations_bot_started ON conversations (bot_id, created_at, id COLLATE "C");
  CREATE INDEX conversations_started ON conversations (created_at, id COLLATE "C");
  CREATE INDEX deliveries_conversation ON deliveries (conversation_id);
  CREATE TABLE retained_deliveries (id text PRIMARY KEY);
  `,
  modelTable(POSTGRES),
  // Webhook health, plus `recovered_*`: the numbers of a recovery, handed to the alert written
  // by the same statement (postgres-health.ts).
  webhookHealthTable(
    POSTGRES,
    `,
    recovered_deliveries integer NOT NULL DEFAULT 0,
    recovered_failures integer NOT NULL DEFAULT 0`,
  ),
  conversationMessagesTable(POSTGRES),
]

/** Any fixed number: every Joon instance on a database serializes its migrations on it. */
const MIGRATION_LOCK = 4_242_001

async function migrate(client: pg.PoolClient, schema: string | undefined) {
  // Held until COMMIT: an instance starting at the same moment waits here, then finds the
  // schema up to date.
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
  if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  await client.query('CREATE TABLE IF NOT EXISTS joon_schema (version integer NOT NULL)')
  const { rows } = await client.query<{ version: number }>('SELECT version FROM joon_schema')
  for (const sql of migrationsToRun(rows[0]?.version ?? 0, MIGRATIONS)) await client.query(sql)
  if (rows.length === 0) {
    await client.query('INSERT INTO joon_schema (version) VALUES ($1)', [MIGRATIONS.length])
  } else {
    await client.query('UPDATE joon_schema SET version = $1', [MIGRATIONS.length])
  }
}

/** The types of `INSERT_COLUMNS`, for inserting an outbox as parallel arrays. */
export const INSERT_TYPES =
  'text text text boolean text text integer integer text bigint bigint text bigint bigint text'.split(
    ' ',
  )

/**
 * Inserts an outbox (as parallel arrays, one statement whatever its size) only if the CTE
 * `head` (declared by the caller, written before) produced a row. The whole WITH statement
 * is one atomic write.
 */
function outboxStatement(head: string, firstParam: number): string {
  const arrays = INSERT_TYPES.map((type, i) => `$${firstParam + i}::${type}[]`).join(', ')
  return `WITH ${head},
  inserted AS (
    INSERT INTO deliveries (${INSERT_COLUMNS})
    SELECT ${INSERT_COLUMNS} FROM unnest(${arrays}) WITH ORDINALITY AS u (${INSERT_COLUMNS}, ord)
    WHERE EXISTS (SELECT 1 FROM head)
    ORDER BY u.ord
  )
  SELECT count(*)::integer AS n FROM head`
}

/** An outbox as the parallel arrays `outboxStatement` takes. */
export function outboxParams(outbox: readonly NewDelivery[]): unknown[][] {
  const columns = INSERT_TYPES.map((): unknown[] => [])
  for (const delivery of outbox) {
    for (const [i, value] of insertValues(delivery, (b) => b).entries()) columns[i]!.push(value)
  }
  return columns
}

/** A conversation and all its delivery records, in one statement. */
export const DELETE_CONVERSATION = `
  WITH gone AS (DELETE FROM conversations WHERE id = $1 RETURNING id),
  deliveries AS (DELETE FROM deliveries WHERE conversation_id IN (SELECT id FROM gone))
  SELECT count(*)::integer AS n FROM gone`

/**
 * One retention batch in one statement: first the retained deliveries that finished since
 * (every sub-statement sees the same snapshot, hence the explicit `purged`), then up to $2
 * conversations last updated before $1 (walked by start time, which is before it) with their
 * finished deliveries; their pending ones are remembered in `retained_deliveries`.
 */
export const DELETE_STALE = `
  WITH purged AS (
    DELETE FROM deliveries WHERE id IN (SELECT id FROM retained_deliveries)
      AND status <> 'pending' RETURNING id
  ),
  forgotten AS (
    DELETE FROM retained_deliveries r WHERE r.id IN (SELECT id FROM purged)
      OR NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.id)
  ),
  stale AS (
    SELECT id FROM conversations WHERE created_at < $1 AND updated_at < $1
    ORDER BY created_at LIMIT $2
    FOR UPDATE SKIP LOCKED
  ),
  kept AS (
    INSERT INTO retained_deliveries (id)
    SELECT id FROM deliveries WHERE conversation_id IN (SELECT id FROM stale)
      AND status = 'pending'
    ON CONFLICT DO NOTHING
  ),
  finished AS (
    DELETE FROM deliveries WHERE conversation_id IN (SELECT id FROM stale)
      AND status <> 'pending'
  ),
  gone AS (DELETE FROM conversations WHERE id IN (SELECT id FROM stale) RETURNING id)
  SELECT count(*)::integer AS n FROM gone`

const FUNNEL_RANGE = 'bot_id = $1 AND created_at >= $2 AND created_at < $3'

export const FUNNEL_COUNT = `SELECT count(*)::integer AS n FROM conversations WHERE ${FUNNEL_RANGE}`

export const FUNNEL_REACHED = `
  SELECT j.block, count(*)::integer AS n
  FROM conversations CROSS JOIN LATERAL json_array_elements_text(reached::json) AS j (block)
  WHERE ${FUNNEL_RANGE}
  GROUP BY j.block`

export const FUNNEL_LIVE = `
  SELECT live_block AS block, count(*)::integer AS n FROM conversations
  WHERE ${FUNNEL_RANGE} AND live_block IS NOT NULL
  GROUP BY live_block`

export const RECORD_DELIVERY = outboxStatement('head AS (SELECT 1)', 1)

/**
 * A new version in one statement: the counter's row lock orders concurrent puts of one bot,
 * and survives a delete, so numbers are never reused.
 */
export const PUT_BOT = `
  WITH n AS (
    INSERT INTO bot_counters (bot_id, last_version) VALUES ($1, 1)
    ON CONFLICT (bot_id) DO UPDATE SET last_version = bot_counters.last_version + 1
    RETURNING last_version AS version
  ),
  v AS (
    INSERT INTO bot_versions (bot_id, version, data, source, file, saved_at, blocks)
    SELECT $1, n.version, $2, $3, $4, $5, $6 FROM n
  ),
  b AS (
    INSERT INTO bots (id, version) SELECT $1, n.version FROM n
    ON CONFLICT (id) DO UPDATE SET version = excluded.version
    RETURNING (xmax = 0) AS created
  )
  SELECT n.version, b.created FROM n, b`

/**
 * The webhooks with pending deliveries, found by skipping through the partial queue index (a
 * loose index scan, one probe per webhook), as a recursive CTE named `hooks`.
 */
const HOOKS = `hooks (name) AS (
    (SELECT webhook FROM deliveries WHERE status = 'pending' ORDER BY webhook, due_at LIMIT 1)
    UNION ALL
    SELECT (SELECT webhook FROM deliveries WHERE status = 'pending' AND webhook > hooks.name
            ORDER BY webhook, due_at LIMIT 1)
    FROM hooks WHERE hooks.name IS NOT NULL
  )`

/**
 * Fair leasing in one statement. Each webhook in `hooks` gives up to $2 of its oldest due
 * deliveries as candidates, ranked within their webhook; rank 1 of
 * every webhook goes before rank 2 of any (round-robin), the longest-waiting webhook first in
 * each round. Candidates are locked as they are read (`SKIP LOCKED`), so two instances leasing
 * at once take different heads of the same webhook instead of colliding on them (measured:
 * 60 % of racing leases came back empty before, under 1 % after). That locks at most $2 rows
 * per webhook for the statement's short life; the ones not taken are released at its end.
 * The locked candidates are picked and updated by primary key without being joined to the
 * table again: the join read every pending delivery (3.6 ms a lease with 10,000 pending,
 * against 0.4 ms).
 */
export const LEASE = `
  WITH RECURSIVE ${HOOKS},
  candidates AS (
    SELECT c.seq, c.webhook,
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
    SELECT seq, rank, head FROM candidates ORDER BY rank, head, webhook LIMIT $3
  ),
  leased AS (
    UPDATE deliveries SET lease_owner = $4, lease_until = $5, due_at = $5
    WHERE seq = ANY (ARRAY(SELECT seq FROM picked))
    RETURNING ${DELIVERY_COLUMNS}
  )
  SELECT leased.*, picked.rank, picked.head FROM leased JOIN picked USING (seq)`

/** The earliest due time: one probe per webhook with pending deliveries. */
export const NEXT_DUE = `
  WITH RECURSIVE ${HOOKS}
  SELECT min((SELECT due_at FROM deliveries WHERE status = 'pending' AND webhook = hooks.name
              ORDER BY due_at LIMIT 1)) AS due
  FROM hooks WHERE hooks.name IS NOT NULL`
