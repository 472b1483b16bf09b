import type { Bot, ConversationState, Message, Model, Webhook } from '@joon/core'

/**
 * The storage every Joon server runs on: bots, webhooks, conversations and the delivery log
 * (which doubles as the outbox of asynchronous webhooks). Implemented in memory, on SQLite and
 * on PostgreSQL; `test/store/conformance.ts` holds all three to the same behaviour.
 *
 * All times are epoch milliseconds, passed in by the caller (the store never reads a clock,
 * so tests control time). Everything is async so a networked database fits the same shape.
 *
 * Data is stored as JSON, faithfully: the store never interprets keys, so a `__proto__` key
 * (which core filters out long before) would come back as a plain own property and never
 * reach `Object.prototype`. Values are copied in and out: mutating what you passed or what
 * you got back never changes what is stored. Bots are the exception on the way out: read on
 * every turn, they are parsed once while unchanged and handed out deep-frozen and shared.
 */
export interface Store {
  /**
   * Saves `bot` as its id's new latest version: 1 for a new id, then 2, 3… Versions are
   * immutable and all kept. Numbers are never reused, not even after `deleteBot`, so a
   * conversation pinned to a deleted bot's version never runs a later bot of the same id.
   * `version.savedAt` defaults to the current time (the one place a store reads the clock).
   */
  putBot(bot: Bot, version?: BotVersionInput): Promise<PutBotResult>
  /** The latest version. */
  getBot(id: string): Promise<Bot | null>
  /** The latest version and its number (what a new conversation is pinned to). */
  getLatestBot(id: string): Promise<VersionedBot | null>
  /** One version of a bot, or null (unknown bot or version, or the bot was deleted). */
  getBotVersion(id: string, version: number): Promise<Bot | null>
  /** A bot's versions, newest first; empty for an unknown (or deleted) bot. */
  listBotVersions(id: string): Promise<BotVersionInfo[]>
  /** The bot's live (not ended) conversations, by version and by the block each waits on. */
  countLiveConversations(botId: string): Promise<LiveConversations>
  /** Every bot, ordered by id. */
  listBots(): Promise<Bot[]>
  /**
   * Whether there was a bot to delete. Its versions go with it; its conversations are kept
   * (a live one's next reply tells the visitor the chat has ended).
   */
  deleteBot(id: string): Promise<boolean>

  /** Creates or replaces a webhook (by `webhook.name`). */
  putWebhook(webhook: Webhook): Promise<PutResult>
  getWebhook(name: string): Promise<Webhook | null>
  /** Every webhook, ordered by name. */
  listWebhooks(): Promise<Webhook[]>
  /** Whether there was a webhook to delete. Its deliveries are kept; its health goes. */
  deleteWebhook(name: string): Promise<boolean>
  /**
   * Every registered webhook's health (`WebhookHealth`), ordered by name: one read whatever
   * their number. A webhook's health is kept from the outcomes `completeAttempt` and
   * `recordDelivery` record while it is registered.
   */
  listWebhookHealth(): Promise<WebhookHealth[]>
  /** One webhook's health; null when it is not registered. */
  getWebhookHealth(name: string): Promise<WebhookHealth | null>

  /** Creates or replaces a language model (by `model.name`), its API key included. */
  putModel(model: Model): Promise<PutResult>
  getModel(name: string): Promise<Model | null>
  /** Every model, ordered by name. */
  listModels(): Promise<Model[]>
  deleteModel(name: string): Promise<boolean>

  /**
   * Saves a new conversation at version 1 together with `outbox`, in one atomic write.
   * Throws `StoreConflictError` when the conversation id (or a delivery id) already exists,
   * and then nothing is written. The state is stored as `setMessagesApart` makes it, so a
   * long conversation's turn stays cheap: the messages it moves go after the `state.earlier`
   * ones kept (in their place, for a state without `earlier`).
   */
  createConversation(conversation: NewConversation, outbox?: readonly NewDelivery[]): Promise<void>
  /** A conversation with every message in its state (no `earlier`). */
  getConversation(id: string): Promise<ConversationRecord | null>
  /**
   * What a reply reads, in one round trip: a conversation with the bot version it runs on (null
   * when gone), its state counting the messages kept apart (`earlier`; see `getMessages`).
   */
  getConversationWithBot(id: string): Promise<ConversationWithBot | null>
  /** The messages of a conversation kept apart from its state, in order ([] if none). */
  getMessages(id: string): Promise<Message[]>
  /**
   * Replaces the state if the stored version is still `expectedVersion` (then it becomes
   * `expectedVersion + 1`), keeping messages apart as `createConversation` does, and
   * inserting `outbox` in the same atomic write. Returns false, and writes nothing at all,
   * when the version moved (the caller answers 409) or the conversation does not exist.
   */
  updateConversation(update: ConversationUpdate, outbox?: readonly NewDelivery[]): Promise<boolean>

  /**
   * Conversations newest first (by `createdAt`, then id, descending), filtered, in pages:
   * `after` is the previous page's `next`. Keyset paging on fields that never change, so
   * paging never repeats or skips a conversation that existed when the first page was read.
   * `q` keeps those whose variable values or message texts contain it, case-insensitively
   * (`matchesSearch`).
   */
  listConversations(query: ConversationQuery): Promise<ConversationPage>
  /**
   * A bot's conversations (started in `[since, until)`), how many reached each block (showed
   * or ran it at least once) and how many wait on each block (not ended).
   */
  funnel(botId: string, range?: TimeRange): Promise<FunnelCounts>
  /**
   * Deletes a conversation and every delivery record of it, pending ones included (cancelled:
   * never attempted again). Whether it existed.
   */
  deleteConversation(id: string): Promise<boolean>
  /**
   * Retention: deletes up to `limit` conversations not updated since before `before`, the
   * earliest started first, with their delivery records except pending ones (they go at a
   * later call once delivered). Returns how many conversations went.
   */
  deleteStaleConversations(before: number, limit: number): Promise<number>
  /** Delivery records retention left behind while pending (erasure searches them too). */
  listRetainedDeliveries(): Promise<DeliveryDetail[]>
  /** Deletes delivery records by id; how many went. */
  deleteDeliveries(ids: readonly string[]): Promise<number>

  /**
   * Records one delivery outside a conversation write (a step's `outbox` may carry finished
   * ones too). Throws `StoreConflictError` when the id already exists. A finished delivery
   * counts in its webhook's health, and `alerts` are written with it (as `completeAttempt`).
   */
  recordDelivery(delivery: NewDelivery, alerts?: OutcomeAlerts): Promise<void>

  /**
   * Atomically claims up to `limit` pending deliveries that are due (`nextAttemptAt <= now`,
   * no lease or an expired one) for `owner` until `now + leaseMs`. Safe across processes:
   * two concurrent calls never return the same delivery while a lease holds.
   *
   * Fair across webhooks: deliveries are taken round-robin, one per webhook per round (oldest
   * due first within a webhook), at most `perWebhookLimit` (default: `limit`) per webhook, so a
   * dead endpoint with a huge backlog never starves the others.
   *
   * A call racing other leases may return fewer than it could (rows being claimed by
   * another instance are skipped, not waited for): an empty result means "nothing free right
   * now", and `nextDueAt` says when to look again.
   */
  leaseDueDeliveries(options: LeaseOptions): Promise<DeliveryRecord[]>
  /**
   * Records an attempt and its outcome, if `owner` still holds the lease (an expired lease
   * that nobody took over still counts): appends to the history, bumps `attempts`, sets
   * `lastStatus`/`lastError` from the attempt (the error cut to 2 KB), clears the lease, and
   * counts the attempt in its webhook's health, all in one atomic write with the completion's
   * `alerts` (`alerts.failed` when the outcome is `failed`, `alerts.recovered` when a success
   * follows deliveries that failed for good). Returns false, writing nothing, when the lease
   * was lost or the delivery is not pending.
   */
  completeAttempt(completion: AttemptCompletion): Promise<boolean>

  /**
   * Gives back leases `owner` holds on pending deliveries it will not attempt (a worker
   * stopping with deliveries still waiting for a slot): they are due again at their
   * `nextAttemptAt` instead of when the lease would have run out. Ids that are not pending,
   * or leased by someone else, are left alone. Returns how many were released. Optional: a
   * store without it leaves them until their lease runs out.
   */
  releaseLeases?(owner: string, ids: readonly string[]): Promise<number>

  getDelivery(id: string): Promise<DeliveryDetail | null>
  /** Newest first: the latest stored first (`createdAt` is not consulted). */
  listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]>
  /**
   * Makes a delivery due now: a failed or delivered one goes back to pending (its history is
   * kept); a pending one that is not leased is brought forward to `now`; one in flight is
   * left as it is. Returns the record after the change, or null for an unknown id.
   */
  retryDelivery(id: string, now: number): Promise<DeliveryRecord | null>
  /**
   * The earliest time a pending delivery can be leased (its `nextAttemptAt`, or its lease
   * expiry while leased), or null when nothing is pending: the worker sleeps until then.
   */
  nextDueAt(): Promise<number | null>
  countDeliveries(query?: DeliveryCountQuery): Promise<number>

  /** Resolves when the store can serve (for `/healthz`); rejects otherwise. */
  ping(): Promise<void>
  /** Releases connections and file handles. The store is unusable afterwards. */
  close(): Promise<void>
}

export interface PutResult {
  /** True when the record did not exist before (the API answers 201, else 200). */
  created: boolean
}

export type BotSource = 'console' | 'api' | 'file'

export interface BotVersionInput {
  source: BotSource
  /** Default: now. */
  savedAt?: number
  /** The file a `source: 'file'` version was read from, as the operator named it. */
  file?: string
}

export interface VersionedBot {
  bot: Bot
  version: number
}

export interface PutBotResult extends PutResult {
  version: number
}

export interface BotVersionInfo {
  version: number
  savedAt: number
  source: BotSource
  /** Set on versions read from a file. */
  file: string | null
  /** How many blocks the version has. */
  blocks: number
}

export interface LiveConversations {
  live: number
  /** Live conversations by the block each waits on (keys in byte order). */
  byBlock: Record<string, number>
  /** Live conversations by the bot version each runs on (keys ascending). */
  byVersion: Record<string, number>
}

export interface NewConversation {
  id: string
  botId: string
  /** The bot version the conversation runs on until it ends; omitted: not pinned (null). */
  botVersion?: number
  state: ConversationState
  now: number
  /** The blocks it showed or ran (the funnel's "reached"); default none. */
  reached?: readonly string[]
}

export interface ConversationUpdate {
  id: string
  expectedVersion: number
  state: ConversationState
  now: number
  /** Every block it showed or ran so far (replaces the stored set); omitted: unchanged. */
  reached?: readonly string[]
}

export interface TimeRange {
  /** Started at or after (epoch ms). */
  since?: number
  /** Started before (epoch ms). */
  until?: number
}

export interface ConversationQuery extends TimeRange {
  botId?: string
  ended?: boolean
  q?: string
  /** At most this many (1..1000). */
  limit: number
  after?: ConversationCursor
}

/** Where a page ended: the last conversation's start time and id. */
export interface ConversationCursor {
  createdAt: number
  id: string
}

export interface ConversationPage {
  conversations: ConversationRecord[]
  /** Null on the last page. */
  next: ConversationCursor | null
}

export interface FunnelCounts {
  conversations: number
  /** Conversations that showed or ran each block, by block id. */
  reached: Record<string, number>
  /** Conversations not ended waiting on each block, by block id. */
  stoppedHere: Record<string, number>
}

export interface ConversationRecord {
  id: string
  botId: string
  /** The bot version it runs on; null when created without one (then: the latest). */
  botVersion: number | null
  /** Every message in `messages`, except from `getConversationWithBot` (see there). */
  state: ConversationState
  /** 1 when created, +1 on each update. */
  version: number
  createdAt: number
  updatedAt: number
  /** The blocks it showed or ran, in the order first reached. */
  reached: string[]
}

export interface ConversationWithBot {
  record: ConversationRecord
  bot: Bot | null
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

/** One HTTP attempt of a delivery. */
export interface AttemptRecord {
  at: number
  /** HTTP status, or null when no response came (timeout, refused, network error). */
  status: number | null
  durationMs: number
  /** An excerpt of at most 2 KB (UTF-8); longer text is cut by the store. */
  error: string | null
}

/**
 * A delivery to insert. An asynchronous one usually starts `pending` without an attempt and
 * is due at `nextAttemptAt` (default `createdAt`). A synchronous call is recorded already
 * finished: `status: 'delivered' | 'failed'` with its single `attempt`.
 */
export interface NewDelivery {
  /** Unique; sent as `webhook-id` on every attempt. */
  id: string
  webhook: string
  conversationId: string
  async: boolean
  /** The exact JSON text to POST. */
  body: string
  createdAt: number
  /** Default 'pending'. */
  status?: DeliveryStatus
  /** An attempt already made (a synchronous call's only one). */
  attempt?: AttemptRecord
  /** Only for pending deliveries; default `createdAt`. */
  nextAttemptAt?: number
}

export interface DeliveryRecord {
  id: string
  webhook: string
  conversationId: string
  async: boolean
  status: DeliveryStatus
  body: string
  /** How many attempts were made. */
  attempts: number
  lastStatus: number | null
  lastError: string | null
  createdAt: number
  /** When a pending delivery is next due; null once delivered or failed. */
  nextAttemptAt: number | null
  leaseOwner: string | null
  leaseUntil: number | null
}

export interface DeliveryDetail extends DeliveryRecord {
  /** Every attempt, oldest first. */
  history: AttemptRecord[]
}

export interface LeaseOptions {
  now: number
  limit: number
  leaseMs: number
  /** Unique per worker (process and instance): `completeAttempt` checks it. */
  owner: string
  /** Default `limit`. */
  perWebhookLimit?: number
  /**
   * Webhooks left out of this lease: the caller has no room for more of theirs (the delivery
   * worker caps the calls in flight per webhook), so taking them would only hold them leased.
   */
  skipWebhooks?: readonly string[]
}

export type AttemptOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: number }
  | { status: 'failed' }

export interface AttemptCompletion {
  id: string
  owner: string
  attempt: AttemptRecord
  outcome: AttemptOutcome
  /** The delivery as leased: what an alert about it describes (src/alerts/). */
  delivery?: DeliveryRecord
  alerts?: OutcomeAlerts
}

/**
 * How a webhook is doing, from the outcomes recorded for it (attempts of asynchronous
 * deliveries and synchronous calls alike). A success resets the run of failures.
 */
export interface WebhookHealth {
  webhook: string
  /**
   * When the latest successful call started. While nothing fails, it is rewritten at most once
   * a second (`HEALTH_SUCCESS_RESOLUTION_MS`): a busy webhook costs no extra write per call.
   */
  lastSuccessAt: number | null
  lastFailureAt: number | null
  /** Failed calls since the last success (each attempt of a delivery counts). */
  consecutiveFailures: number
  /** When the first of those failed calls started; null while there are none. */
  failingSince: number | null
  /** Deliveries that failed for good (retries exhausted, or a failed synchronous call) since the last success. */
  failedDeliveries: number
  /** The latest failure's error (kept after a success, with `lastFailureAt`). */
  lastError: string | null
}

/**
 * Alert deliveries (`JOON_ALERT_WEBHOOK`, src/alerts/) an outcome may bring, written by the
 * same atomic write that records the outcome, so a crash never separates them.
 */
export interface OutcomeAlerts {
  /** Written when the outcome fails the delivery for good. */
  failed?: NewDelivery
  /** Written when the outcome is a success after deliveries that failed for good. */
  recovered?: RecoveryAlert
}

/** A `webhook.recovered` alert, its numbers filled in by the store that knows them. */
export interface RecoveryAlert {
  id: string
  /** The alert webhook. */
  webhook: string
  createdAt: number
  /**
   * The body around its two numbers: `body[0]` + the deliveries that had failed for good +
   * `body[1]` + the failed calls before the success + `body[2]`.
   */
  body: readonly [string, string, string]
}

export interface DeliveryQuery {
  webhook?: string
  status?: DeliveryStatus
  conversationId?: string
  /** At most this many, newest first (the latest stored first). */
  limit: number
}

export interface DeliveryCountQuery {
  webhook?: string
  status?: DeliveryStatus
}

/** A write refused because an id already exists (a conversation or a delivery). */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError'
}
