/**
 * The tables both SQL stores create, written once: each engine's migrations (`sqlite-sql.ts`,
 * `postgres-sql.ts`) call these with its own spelling of the column types, and keep to
 * themselves only what is the engine's own (indexes, data moved by an upgrade). These texts
 * are parts of migrations that shipped: never edit one, add a new function for a new table.
 */

/** How an engine spells the schema's column types. */
export interface Dialect {
  text: string
  /** Text compared or sorted as a key: byte order, as in the memory store. */
  key: string
  integer: string
  /** Epoch milliseconds and sequence numbers. */
  bigint: string
  boolean: string
  real: string
  /** A sequence number the database assigns, the table's primary key. */
  serial: string
  /** Ends a table read only through its primary key (SQLite's WITHOUT ROWID). */
  keyed: string
}

export const SQLITE: Dialect = {
  text: 'TEXT',
  key: 'TEXT',
  integer: 'INTEGER',
  bigint: 'INTEGER',
  boolean: 'INTEGER',
  real: 'REAL',
  serial: 'INTEGER PRIMARY KEY',
  keyed: ' WITHOUT ROWID',
}

/** Keys use the "C" collation: byte order, as in SQLite and the memory store, and index-friendly. */
export const POSTGRES: Dialect = {
  text: 'text',
  key: 'text COLLATE "C"',
  integer: 'integer',
  bigint: 'bigint',
  boolean: 'boolean',
  real: 'double precision',
  serial: 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  keyed: '',
}

/** The first schema's tables (each engine's first migration adds its indexes). */
export function firstTables(d: Dialect): string {
  return `
  CREATE TABLE bots (
    id ${d.key} PRIMARY KEY,
    data ${d.text} NOT NULL
  );
  CREATE TABLE webhooks (
    name ${d.key} PRIMARY KEY,
    data ${d.text} NOT NULL
  );
  CREATE TABLE conversations (
    id ${d.text} PRIMARY KEY,
    bot_id ${d.text} NOT NULL,
    state ${d.text} NOT NULL,
    version ${d.integer} NOT NULL,
    created_at ${d.bigint} NOT NULL,
    updated_at ${d.bigint} NOT NULL
  );
  CREATE TABLE deliveries (
    seq ${d.serial},
    id ${d.text} NOT NULL UNIQUE,
    webhook ${d.key} NOT NULL,
    conversation_id ${d.text} NOT NULL,
    async ${d.boolean} NOT NULL,
    status ${d.text} NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    body ${d.text} NOT NULL,
    attempts ${d.integer} NOT NULL,
    last_status ${d.integer},
    last_error ${d.text},
    created_at ${d.bigint} NOT NULL,
    next_attempt_at ${d.bigint},
    lease_owner ${d.text},
    lease_until ${d.bigint},
    due_at ${d.bigint}
  );
  CREATE TABLE delivery_attempts (
    delivery_seq ${d.bigint} NOT NULL REFERENCES deliveries (seq),
    n ${d.integer} NOT NULL,
    at ${d.bigint} NOT NULL,
    status ${d.integer},
    duration_ms ${d.real} NOT NULL,
    error ${d.text},
    PRIMARY KEY (delivery_seq, n)
  )${d.keyed};`
}

/**
 * Bot versions: every put is a new immutable version; `bots` points at the latest;
 * `bot_counters` outlives a delete so a number is never reused.
 */
export function botVersionTables(d: Dialect): string {
  return `
  CREATE TABLE bot_versions (
    bot_id ${d.key} NOT NULL,
    version ${d.integer} NOT NULL,
    data ${d.text} NOT NULL,
    source ${d.text} NOT NULL CHECK (source IN ('console', 'api', 'file')),
    file ${d.text},
    saved_at ${d.bigint} NOT NULL,
    blocks ${d.integer} NOT NULL,
    PRIMARY KEY (bot_id, version)
  );
  CREATE TABLE bot_counters (
    bot_id ${d.key} PRIMARY KEY,
    last_version ${d.integer} NOT NULL
  );`
}

/** Language models for ai blocks, kept like webhooks. */
export function modelTable(d: Dialect): string {
  return `
  CREATE TABLE models (
    name ${d.key} PRIMARY KEY,
    data ${d.text} NOT NULL
  );`
}

/**
 * Webhook health: one small row per registered webhook, kept by the writes that record
 * outcomes (webhook-health.ts). Webhooks registered before start from nothing.
 */
export function webhookHealthTable(d: Dialect, moreColumns = ''): string {
  return `
  CREATE TABLE webhook_health (
    webhook ${d.key} PRIMARY KEY,
    last_success_at ${d.bigint},
    last_failure_at ${d.bigint},
    consecutive_failures ${d.integer} NOT NULL DEFAULT 0,
    failing_since ${d.bigint},
    failed_deliveries ${d.integer} NOT NULL DEFAULT 0,
    last_error ${d.text}${moreColumns}
  )${d.keyed};
  INSERT INTO webhook_health (webhook) SELECT name FROM webhooks;`
}

/**
 * Messages moved apart from a long conversation's state (`setMessagesApart`), so a turn
 * never rewrites a whole long transcript: one row per move, the messages as a JSON array.
 */
export function conversationMessagesTable(d: Dialect): string {
  return `
  CREATE TABLE conversation_messages (
    conversation_id ${d.text} NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq ${d.integer} NOT NULL,
    data ${d.text} NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  );`
}

/**
 * The lean delivery design, once attempts moved into the delivery row: their table goes, and
 * listings newest first by `seq` go through the webhook's index, the failed ones' or, for
 * pending ones, the queue's.
 */
export const LEAN_DELIVERY_INDEXES = `
  DROP TABLE delivery_attempts;
  DROP INDEX deliveries_due;
  DROP INDEX deliveries_created;
  DROP INDEX deliveries_webhook_created;
  DROP INDEX deliveries_status_created;
  CREATE INDEX deliveries_webhook_seq ON deliveries (webhook, seq);
  CREATE INDEX deliveries_failed ON deliveries (seq) WHERE status = 'failed';`
