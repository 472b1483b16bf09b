import type { Bot, Message } from '@joon/core'
import type pg from 'pg'
import {
  type BotVersionRow,
  compareCodeUnits,
  isVersionNumber,
  LIST_BOTS,
  ParsedBots,
  toVersionInfo,
} from './bots.js'
import * as conversations from './conversations.js'
import {
  DELIVERY_COLUMNS,
  type DeliveryRow,
  deliveryFilters,
  leaseLimits,
  retried,
  toDetail,
  toRecord,
} from './deliveries.js'
import type { PostgresStoreOptions } from './options.js'
import { PostgresCatalog } from './postgres-catalog.js'
import { RECORD_FINISHED, recordFinishedParams } from './postgres-health.js'
import { messagesOf, withAllMessages } from './postgres-messages.js'
import {
  connect,
  DELETE_CONVERSATION,
  DELETE_STALE,
  FUNNEL_COUNT,
  FUNNEL_LIVE,
  FUNNEL_REACHED,
  LEASE,
  NEXT_DUE,
  outboxParams,
  PUT_BOT,
  RECORD_DELIVERY,
} from './postgres-sql.js'
import { filtersStorable, Statements, storable } from './postgres-statements.js'
import { TurnStatements } from './postgres-turns.js'
import type * as T from './types.js'

type PutBotRow = { version: number; created: boolean }

export type { PostgresStoreOptions } from './options.js'

/**
 * Storage on PostgreSQL, for several Joon instances behind a load balancer. Every write is a
 * single statement (hence atomic, and one round trip) except the rare `retryDelivery`.
 */
export class PostgresStore extends PostgresCatalog implements T.Store {
  readonly #parsedBots = new ParsedBots()
  /** The latest version last seen per bot: `getLatestBot` skips the text when it still is. */
  readonly #latest = new Map<string, number>()
  readonly #db: Statements
  readonly #turns: TurnStatements

  private constructor(pool: pg.Pool) {
    const db = new Statements(pool)
    super(db)
    this.#db = db
    this.#turns = new TurnStatements(db)
  }

  /** Connects, and migrates the schema (safely when several instances start at once). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    return new PostgresStore(await connect(url, options))
  }

  async putBot(bot: Bot, input: T.BotVersionInput = { source: 'api' }): Promise<T.PutBotResult> {
    const { source, file = null, savedAt = Date.now() } = input
    const values = [bot.id, JSON.stringify(bot), source, file, savedAt, bot.blocks.length]
    const { rows } = await this.#db.query<PutBotRow>('put-bot', PUT_BOT, values)
    const row = rows[0]!
    return { created: row.created, version: row.version }
  }

  async getBot(id: string): Promise<Bot | null> {
    return (await this.getLatestBot(id))?.bot ?? null
  }

  async getLatestBot(id: string): Promise<T.VersionedBot | null> {
    if (!storable(id)) return null
    // The text only when the latest version is not the one cached as latest.
    const hint = this.#latest.get(id) ?? 0
    const cached = hint > 0 ? this.#parsedBots.get(id, hint) : undefined
    const row = await this.#turns.latestBot.add({ id, cached: cached ? hint : 0 })
    if (!row) return null
    const bot = row.data === null ? cached! : this.#parsedBots.parse(id, row.version, row.data)
    if (this.#latest.size >= 10_000 && !this.#latest.has(id)) this.#latest.clear()
    this.#latest.set(id, row.version)
    return { bot, version: row.version }
  }

  async getBotVersion(id: string, version: number): Promise<Bot | null> {
    if (!storable(id) || !isVersionNumber(version)) return null
    const cached = this.#parsedBots.get(id, version)
    // One round trip either way; the text only when it is not cached. The lookup also sees a
    // delete made by another instance, which the cache cannot.
    const { rows } = await this.#db.query<{ data: string | null }>(
      'get-bot-version',
      `SELECT CASE WHEN $3::boolean THEN NULL ELSE data END AS data FROM bot_versions
       WHERE bot_id = $1 AND version = $2`,
      [id, version, cached !== undefined],
    )
    const row = rows[0]
    if (!row) return null
    return cached ?? this.#parsedBots.parse(id, version, row.data!)
  }

  async listBotVersions(id: string): Promise<T.BotVersionInfo[]> {
    if (!storable(id)) return []
    const { rows } = await this.#db.query<BotVersionRow>(
      'list-bot-versions',
      'SELECT version, saved_at, source, file, blocks FROM bot_versions WHERE bot_id = $1 ORDER BY version DESC',
      [id],
    )
    return rows.map(toVersionInfo)
  }

  async countLiveConversations(botId: string): Promise<T.LiveConversations> {
    if (!storable(botId)) return conversations.tallyLive([])
    const { rows } = await this.#db.query<{ version: number | null; block: string; n: number }>(
      'count-live',
      `SELECT bot_version AS version, live_block AS block, count(*)::integer AS n
       FROM conversations WHERE bot_id = $1 AND live_block IS NOT NULL
       GROUP BY bot_version, live_block`,
      [botId],
    )
    return conversations.tallyLive(rows)
  }

  async listBots(): Promise<Bot[]> {
    const { rows } = await this.#db.query<{ id: string; version: number; data: string }>(
      'list-bots',
      LIST_BOTS,
      [],
    )
    return rows.map((row) => this.#parsedBots.parse(row.id, row.version, row.data))
  }

  async deleteBot(id: string): Promise<boolean> {
    this.#parsedBots.delete(id)
    if (!storable(id)) return false
    const { rows } = await this.#db.query<{ n: number }>(
      'delete-bot',
      `WITH gone AS (DELETE FROM bots WHERE id = $1 RETURNING id),
       versions AS (DELETE FROM bot_versions WHERE bot_id IN (SELECT id FROM gone))
       SELECT count(*)::integer AS n FROM gone`,
      [id],
    )
    return rows[0]?.n === 1
  }

  async createConversation(
    conversation: T.NewConversation,
    outbox: readonly T.NewDelivery[] = [],
  ): Promise<void> {
    await this.#turns.create.add({ conversation, outbox })
  }

  async getConversation(id: string): Promise<T.ConversationRecord | null> {
    if (!storable(id)) return null
    const row = await this.#turns.conversation.add(id)
    if (!row) return null
    const [record] = await withAllMessages(this.#db, [conversations.toConversation(id, row)])
    return record ?? null
  }

  async getMessages(id: string): Promise<Message[]> {
    return storable(id) ? messagesOf(this.#db, id) : []
  }

  async getConversationWithBot(id: string): Promise<T.ConversationWithBot | null> {
    if (!storable(id)) return null
    const row = await this.#turns.conversation.add(id)
    if (!row) return null
    const record = conversations.toConversation(id, row)
    if (row.bot_at === null) return { record, bot: null }
    const cached = this.#parsedBots.get(record.botId, row.bot_at)
    return { record, bot: cached ?? (await this.getBotVersion(record.botId, row.bot_at)) }
  }

  async updateConversation(
    update: T.ConversationUpdate,
    outbox: readonly T.NewDelivery[] = [],
  ): Promise<boolean> {
    if (!storable(update.id)) return false
    return this.#turns.update.add({ conversation: update, outbox })
  }

  async listConversations(query: T.ConversationQuery): Promise<T.ConversationPage> {
    const strings = [query.botId, query.after?.id].filter((v) => v !== undefined)
    if (!strings.every(storable)) return { conversations: [], next: null }
    return conversations.collectPage(query, async (after, count) => {
      const filters = conversations.conversationFilters(query, after, {
        placeholder: (n) => `$${n}`,
        id: 'id COLLATE "C"',
        contains: (column, p) => `strpos(lower(${column}), ${p}) > 0`,
      })
      const { rows } = await this.#db.query<conversations.ConversationRow & { id: string }>(
        `list-conversations:${filters.key}`,
        `SELECT id, ${conversations.CONVERSATION_COLUMNS} FROM conversations ${filters.where}
         ${filters.order} LIMIT $${filters.values.length + 1}`,
        [...filters.values, count],
      )
      return withAllMessages(
        this.#db,
        rows.map((row) => conversations.toConversation(row.id, row)),
      )
    })
  }

  async funnel(botId: string, range: T.TimeRange = {}): Promise<T.FunnelCounts> {
    if (!storable(botId)) return conversations.tallyFunnel(0, [], [])
    const args = [botId, range.since ?? conversations.EARLIEST, range.until ?? conversations.LATEST]
    type Tally = { block: string; n: number }
    const [count, reached, live] = await Promise.all([
      this.#db.query<{ n: number }>('funnel-count', FUNNEL_COUNT, args),
      this.#db.query<Tally>('funnel-reached', FUNNEL_REACHED, args),
      this.#db.query<Tally>('funnel-live', FUNNEL_LIVE, args),
    ])
    return conversations.tallyFunnel(count.rows[0]?.n ?? 0, reached.rows, live.rows)
  }

  async deleteConversation(id: string): Promise<boolean> {
    if (!storable(id)) return false
    const { rows } = await this.#db.query<{ n: number }>(
      'delete-conversation',
      DELETE_CONVERSATION,
      [id],
    )
    return rows[0]?.n === 1
  }

  async deleteStaleConversations(before: number, limit: number): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>('delete-stale', DELETE_STALE, [
      before,
      Math.max(0, Math.floor(limit)),
    ])
    return rows[0]?.n ?? 0
  }

  async listRetainedDeliveries(): Promise<T.DeliveryDetail[]> {
    const { rows } = await this.#db.query<DeliveryRow & { history: string }>(
      'list-retained',
      `SELECT ${DELIVERY_COLUMNS}, history FROM deliveries
       WHERE id IN (SELECT id FROM retained_deliveries) ORDER BY seq`,
      [],
    )
    return rows.map(toDetail)
  }

  async deleteDeliveries(ids: readonly string[]): Promise<number> {
    const storableIds = ids.filter(storable)
    if (storableIds.length === 0) return 0
    const { rowCount } = await this.#db.query(
      'delete-deliveries',
      'DELETE FROM deliveries WHERE id = ANY($1::text[])',
      [storableIds],
    )
    return rowCount ?? 0
  }

  async recordDelivery(delivery: T.NewDelivery, alerts?: T.OutcomeAlerts): Promise<void> {
    const finished = recordFinishedParams(delivery, alerts)
    if (finished) await this.#db.write('record-finished', RECORD_FINISHED, finished)
    else await this.#db.write('record-delivery', RECORD_DELIVERY, outboxParams([delivery]))
  }

  async leaseDueDeliveries(options: T.LeaseOptions): Promise<T.DeliveryRecord[]> {
    const { total, perWebhook } = leaseLimits(options.limit, options.perWebhookLimit)
    if (total === 0 || perWebhook === 0) return []
    const { rows } = await this.#db.query<DeliveryRow & { rank: number; head: number }>(
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
    rows.sort(
      (a, b) => a.rank - b.rank || a.head - b.head || compareCodeUnits(a.webhook, b.webhook),
    )
    return rows.map(toRecord)
  }

  async completeAttempt(completion: T.AttemptCompletion): Promise<boolean> {
    if (!storable(completion.id)) return false
    return this.#turns.complete.add(completion)
  }

  async releaseLeases(owner: string, ids: readonly string[]): Promise<number> {
    const storableIds = ids.filter(storable)
    if (storableIds.length === 0) return 0
    const { rowCount } = await this.#db.query(
      'release-leases',
      `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, due_at = next_attempt_at
       WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`,
      [storableIds, owner],
    )
    return rowCount ?? 0
  }

  async getDelivery(id: string): Promise<T.DeliveryDetail | null> {
    if (!storable(id)) return null
    const { rows } = await this.#db.query<DeliveryRow & { history: string }>(
      'get-delivery',
      `SELECT ${DELIVERY_COLUMNS}, history FROM deliveries WHERE id = $1`,
      [id],
    )
    return rows[0] ? toDetail(rows[0]) : null
  }

  async listDeliveries(query: T.DeliveryQuery): Promise<T.DeliveryRecord[]> {
    const limit = Math.max(0, Math.floor(query.limit))
    if (!filtersStorable(query)) return []
    const filters = deliveryFilters(query, (n) => `$${n}`)
    const { rows } = await this.#db.query<DeliveryRow>(
      `list-deliveries:${filters.key}`,
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries ${filters.where}
       ORDER BY seq DESC LIMIT $${filters.values.length + 1}`,
      [...filters.values, limit],
    )
    return rows.map(toRecord)
  }

  async retryDelivery(id: string, now: number): Promise<T.DeliveryRecord | null> {
    if (!storable(id)) return null
    return this.#db.transaction(async (client) => {
      const { rows } = await client.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1 FOR UPDATE`,
        [id],
      )
      const record = rows[0] ? toRecord(rows[0]) : null
      const change = record && retried(record, now)
      if (!record || !change) return record
      await client.query(
        `UPDATE deliveries SET status = $1, next_attempt_at = $2, due_at = $3, lease_owner = $4,
           lease_until = $5 WHERE id = $6`,
        [
          change.status,
          change.nextAttemptAt,
          change.dueAt,
          change.leaseOwner,
          change.leaseUntil,
          id,
        ],
      )
      const { dueAt: _internal, ...fields } = change
      return { ...record, ...fields }
    })
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.#db.query<{ due: number | null }>('next-due-at', NEXT_DUE, [])
    return rows[0]?.due ?? null
  }

  async countDeliveries(query: T.DeliveryCountQuery = {}): Promise<number> {
    if (!filtersStorable(query)) return 0
    const filters = deliveryFilters(query, (n) => `$${n}`)
    const { rows } = await this.#db.query<{ n: number }>(
      `count-deliveries:${filters.key}`,
      `SELECT count(*) AS n FROM deliveries ${filters.where}`,
      filters.values,
    )
    return rows[0]?.n ?? 0
  }

  async ping(): Promise<void> {
    await this.#db.ping()
  }

  async close(): Promise<void> {
    await this.#db.end()
  }
}
