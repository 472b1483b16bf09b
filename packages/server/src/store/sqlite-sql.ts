import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { type BotVersionRow, LIST_BOTS } from './bots.js'
import { CONVERSATION_COLUMNS, type ConversationRow } from './conversations.js'
import { DELIVERY_COLUMNS, type DeliveryRow, INSERT_COLUMNS } from './deliveries.js'
import { migrationsToRun } from './migrations.js'
import type { SqliteStoreOptions } from './options.js'
import {
  botVersionTables,
  conversationMessagesTable,
  firstTables,
  LEAN_DELIVERY_INDEXES,
  modelTable,
  SQLITE,
  webhookHealthTable,
} from './schema.js'
import { isBusy, openSqliteDatabase, type SqliteDatabase } from './sqlite-driver.js'
import type { BotSource } from './types.js'
import { HEALTH_COLUMNS, type HealthRow } from './webhook-health.js'

/** SqliteStore's SQL: the schema, its migrations, and every statement it prepares. */

/**
 * Schema migrations, applied in order; `PRAGMA user_version` holds how many ran. Never edit
 * one that shipped: append a new one. `deliveries.due_at` is `StoredDelivery.dueAt`. The
 * tables PostgreSQL has too are written once, in `schema.ts`.
 */
export const MIGRATIONS: readonly string[] = [
  `${firstTables(SQLITE)}
  CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_webhook_due ON deliveries (webhook, due_at) WHERE status = 'pending';
  CREATE INDEX deliveries_created ON deliveries (created_at, seq);
  CREATE INDEX deliveries_webhook_created ON deliveries (webhook, created_at, seq);
  CREATE INDEX deliveries_status_created ON deliveries (status, created_at, seq);
  CREATE INDEX deliveries_conversation_created ON deliveries (conversation_id, created_at, seq);
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
  WHERE seq IN (SELECT delivery_seq FROM delivery_attempts);${LEAN_DELIVERY_INDEXES}
  `,
  // Bot versions: every put is a new immutable version; `bots` points at the latest;
  // `bot_counters` outlives a delete so a number is never reused. Conversations are pinned to
  // the version they started on, and `live_block` (the block a conversation waits on, NULL
  // once ended) feeds a partial index that counts live conversations by bot cheaply.
  // Existing bots become version 1 (source 'api'), existing conversations run on it.
  `${botVersionTables(SQLITE)}
  INSERT INTO bot_versions (bot_id, version, data, source, file, saved_at, blocks)
    SELECT id, 1, data, 'api', NULL, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
      coalesce(json_array_length(data, '$.blocks'), 0)
    FROM bots;
  INSERT INTO bot_counters (bot_id, last_version) SELECT id, 1 FROM bots;
  ALTER TABLE bots ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE bots DROP COLUMN data;
  ALTER TABLE conversations ADD COLUMN bot_version INTEGER;
  ALTER TABLE conversations ADD COLUMN live_block TEXT;
  UPDATE conversations SET bot_version = 1,
    live_block = CASE WHEN json_extract(state, '$.ended') THEN NULL
                      ELSE coalesce(json_extract(state, '$.at'), '') END;
  CREATE INDEX conversations_live ON conversations (bot_id, bot_version, live_block)
    WHERE live_block IS NOT NULL;
  `,
  // Results (issue 15): listings newest first (per bot or all) and retention by start time,
  // a conversation's deliveries found for deletion and erasure, and the blocks each
  // conversation reached (the funnel), kept in the row by the step's own write. Conversations
  // from before know only the block they wait on. `retained_deliveries` lists pending
  // deliveries retention left behind, deleted once finished.
  `
  ALTER TABLE conversations ADD COLUMN reached TEXT NOT NULL DEFAULT '[]';
  UPDATE conversations SET reached = json_array(live_block)
    WHERE live_block IS NOT NULL AND live_block <> '';
  CREATE INDEX conversations_bot_started ON conversations (bot_id, created_at, id);
  CREATE INDEX conversations_started ON conversations (created_at, id);
  CREATE INDEX deliveries_conversation ON deliveries (conversation_id);
  CREATE TABLE retained_deliveries (id TEXT PRIMARY KEY) WITHOUT ROWID;
  `,
  modelTable(SQLITE),
  webhookHealthTable(SQLITE),
  conversationMessagesTable(SQLITE),
]

/** Opens (creating directories and the file if needed) and migrates a database file. */
export function openMigrated(path: string, options: SqliteStoreOptions): SqliteDatabase {
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
    // Deleted rows (erasure, retention, a step's old state) are zeroed in their pages rather
    // than left readable in the file; FAST does it only where no extra I/O is needed.
    db.exec('PRAGMA secure_delete = FAST')
    // Keeps the WAL file from staying huge after a burst once it was checkpointed.
    db.exec('PRAGMA journal_size_limit = 67108864')
    retryWhileBusy(busyTimeoutMs, () => migrate(db))
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

function migrate(db: SqliteDatabase) {
  db.transaction('immediate', () => {
    const version =
      db.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0
    for (const sql of migrationsToRun(version, MIGRATIONS)) db.exec(sql)
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

export function prepareStatements(db: SqliteDatabase) {
  return {
    ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    botExists: db.prepare<[string], { ok: number }>('SELECT 1 AS ok FROM bots WHERE id = ?'),
    lastVersion: db.prepare<[string], { last_version: number }>(
      'SELECT last_version FROM bot_counters WHERE bot_id = ?',
    ),
    putCounter: db.prepare<[string, number]>(
      `INSERT INTO bot_counters (bot_id, last_version) VALUES (?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET last_version = excluded.last_version`,
    ),
    insertVersion: db.prepare<[string, number, string, BotSource, string | null, number, number]>(
      `INSERT INTO bot_versions (bot_id, version, data, source, file, saved_at, blocks)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    putBot: db.prepare<[string, number]>(
      `INSERT INTO bots (id, version) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
    ),
    getBot: db.prepare<[string], { version: number }>('SELECT version FROM bots WHERE id = ?'),
    versionExists: db.prepare<[string, number], { ok: number }>(
      'SELECT 1 AS ok FROM bot_versions WHERE bot_id = ? AND version = ?',
    ),
    getVersion: db.prepare<[string, number], { data: string }>(
      'SELECT data FROM bot_versions WHERE bot_id = ? AND version = ?',
    ),
    listVersions: db.prepare<[string], BotVersionRow>(
      'SELECT version, saved_at, source, file, blocks FROM bot_versions WHERE bot_id = ? ORDER BY version DESC',
    ),
    listBots: db.prepare<[], { id: string; version: number; data: string }>(LIST_BOTS),
    deleteBot: db.prepare<[string]>('DELETE FROM bots WHERE id = ?'),
    deleteVersions: db.prepare<[string]>('DELETE FROM bot_versions WHERE bot_id = ?'),
    countLive: db.prepare<[string], { version: number | null; block: string; n: number }>(
      `SELECT bot_version AS version, live_block AS block, count(*) AS n
       FROM conversations INDEXED BY conversations_live
       WHERE bot_id = ? AND live_block IS NOT NULL
       GROUP BY bot_version, live_block`,
    ),
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
    addHealth: db.prepare<[string]>(
      'INSERT INTO webhook_health (webhook) VALUES (?) ON CONFLICT (webhook) DO NOTHING',
    ),
    getHealth: db.prepare<[string], HealthRow>(
      `SELECT ${HEALTH_COLUMNS} FROM webhook_health WHERE webhook = ?`,
    ),
    listHealth: db.prepare<[], HealthRow>(
      `SELECT ${HEALTH_COLUMNS} FROM webhook_health ORDER BY webhook`,
    ),
    setHealth: db.prepare<unknown[]>(
      `UPDATE webhook_health SET last_success_at = ?, last_failure_at = ?,
         consecutive_failures = ?, failing_since = ?, failed_deliveries = ?, last_error = ?
       WHERE webhook = ?`,
    ),
    deleteHealth: db.prepare<[string]>('DELETE FROM webhook_health WHERE webhook = ?'),
    modelExists: db.prepare<[string], { ok: number }>('SELECT 1 AS ok FROM models WHERE name = ?'),
    putModel: db.prepare<[string, string]>(
      `INSERT INTO models (name, data) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET data = excluded.data`,
    ),
    getModel: db.prepare<[string], { data: string }>('SELECT data FROM models WHERE name = ?'),
    listModels: db.prepare<[], { data: string }>('SELECT data FROM models ORDER BY name'),
    deleteModel: db.prepare<[string]>('DELETE FROM models WHERE name = ?'),
    insertConversation: db.prepare<
      [string, string, number | null, string, number, number, string | null, string]
    >(
      `INSERT INTO conversations (id, bot_id, bot_version, state, version, created_at, updated_at,
         live_block, reached)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)`,
    ),
    getConversation: db.prepare<[string], ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = ?`,
    ),
    updateConversation: db.prepare<[string, string | null, number, string | null, string, number]>(
      `UPDATE conversations SET state = ?, live_block = ?, updated_at = ?, version = version + 1,
         reached = coalesce(?, reached)
       WHERE id = ? AND version = ?`,
    ),
    deleteConversation: db.prepare<[string]>('DELETE FROM conversations WHERE id = ?'),
    deleteDeliveriesOf: db.prepare<[string]>('DELETE FROM deliveries WHERE conversation_id = ?'),
    staleConversations: db.prepare<[number, number, number], { id: string }>(
      // A stale conversation started before the cutoff too: walked by start time, so no index
      // on updated_at (which every step would rewrite) is needed.
      `SELECT id FROM conversations INDEXED BY conversations_started
       WHERE created_at < ? AND updated_at < ? ORDER BY created_at LIMIT ?`,
    ),
    retainPending: db.prepare<[string]>(
      `INSERT OR IGNORE INTO retained_deliveries (id)
       SELECT id FROM deliveries WHERE conversation_id = ? AND status = 'pending'`,
    ),
    deleteFinishedOf: db.prepare<[string]>(
      "DELETE FROM deliveries WHERE conversation_id = ? AND status <> 'pending'",
    ),
    purgeRetained: db.prepare<[]>(
      `DELETE FROM deliveries WHERE id IN (SELECT id FROM retained_deliveries)
       AND status <> 'pending'`,
    ),
    forgetRetained: db.prepare<[]>(
      'DELETE FROM retained_deliveries WHERE id NOT IN (SELECT id FROM deliveries)',
    ),
    listRetained: db.prepare<[], DeliveryRow & { history: string }>(
      `SELECT ${DELIVERY_COLUMNS}, history FROM deliveries
       WHERE id IN (SELECT id FROM retained_deliveries) ORDER BY seq`,
    ),
    deleteDelivery: db.prepare<[string]>('DELETE FROM deliveries WHERE id = ?'),
    funnelCount: db.prepare<[string, number, number], { n: number }>(
      `SELECT count(*) AS n FROM conversations
       WHERE bot_id = ? AND created_at >= ? AND created_at < ?`,
    ),
    funnelReached: db.prepare<[string, number, number], { block: string; n: number }>(
      `SELECT j.value AS block, count(*) AS n
       FROM conversations c, json_each(c.reached) j
       WHERE c.bot_id = ? AND c.created_at >= ? AND c.created_at < ?
       GROUP BY j.value`,
    ),
    // Without a time range, counted from the live index alone (no row read).
    funnelLiveAll: db.prepare<[string], { block: string; n: number }>(
      `SELECT live_block AS block, count(*) AS n FROM conversations INDEXED BY conversations_live
       WHERE bot_id = ? AND live_block IS NOT NULL GROUP BY live_block`,
    ),
    funnelLive: db.prepare<[string, number, number], { block: string; n: number }>(
      `SELECT live_block AS block, count(*) AS n FROM conversations INDEXED BY conversations_live
       WHERE bot_id = ? AND live_block IS NOT NULL AND created_at >= ? AND created_at < ?
       GROUP BY live_block`,
    ),
    insertDelivery: db.prepare<unknown[]>(
      `INSERT INTO deliveries (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    complete: db.prepare<unknown[], { webhook: string }>(
      `UPDATE deliveries SET status = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
         next_attempt_at = ?, due_at = ?, lease_owner = NULL, lease_until = NULL,
         history = json_insert(history, '$[#]', json(?))
       WHERE id = ? AND status = 'pending' AND lease_owner = ?
       RETURNING webhook`,
    ),
    retry: db.prepare<unknown[]>(
      `UPDATE deliveries SET status = ?, next_attempt_at = ?, due_at = ?, lease_owner = ?,
         lease_until = ? WHERE seq = ?`,
    ),
    release: db.prepare<[string, string]>(
      `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, due_at = next_attempt_at
       WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
    ),
    firstDueOfWebhook: db.prepare<[string], { due: number | null }>(
      `SELECT due_at AS due FROM deliveries INDEXED BY deliveries_webhook_due
       WHERE status = 'pending' AND webhook = ? ORDER BY due_at LIMIT 1`,
    ),
  }
}
