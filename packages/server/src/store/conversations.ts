import type { Bot, ConversationState, Message } from '@joon/core'
import type {
  ConversationCursor,
  ConversationPage,
  ConversationQuery,
  ConversationRecord,
  ConversationWithBot,
  FunnelCounts,
  LiveConversations,
  Store,
} from './types.js'

/** What the stores share about conversations: their SQL row, and live counts. */

/** The bot version a conversation runs on (the latest for one not pinned), or null. */
export function botOf(store: Store, record: ConversationRecord): Promise<Bot | null> {
  return record.botVersion === null
    ? store.getBot(record.botId)
    : store.getBotVersion(record.botId, record.botVersion)
}

/** `getConversationWithBot` for a store whose reads are local: the two reads in turn. */
export async function withBot(
  store: Store,
  record: ConversationRecord | null,
): Promise<ConversationWithBot | null> {
  return record && { record, bot: await botOf(store, record) }
}

/** A conversation row of the SQL stores. */
export interface ConversationRow {
  bot_id: string
  bot_version: number | null
  state: string
  version: number
  created_at: number
  updated_at: number
  /** JSON array of block ids. */
  reached: string
}

export const CONVERSATION_COLUMNS =
  'bot_id, bot_version, state, version, created_at, updated_at, reached'

export function toConversation(id: string, row: ConversationRow): ConversationRecord {
  return {
    id,
    botId: row.bot_id,
    botVersion: row.bot_version,
    state: JSON.parse(row.state) as ConversationState,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    reached: JSON.parse(row.reached) as string[],
  }
}

/**
 * A state with the messages kept apart put back before its own: every message, no `earlier`
 * (a state without `earlier` holds them all already). Only the first `earlier.messages` of
 * `kept` belong to this state: any after them were kept since it was read.
 */
export function withMessages(
  state: ConversationState,
  kept: readonly Message[],
): ConversationState {
  if (state.earlier === undefined) return state
  const { earlier, ...rest } = state
  return { ...rest, messages: [...kept.slice(0, earlier.messages), ...state.messages] }
}

/** `getConversationWithBot` with every message in the state, for views. */
export async function getWholeConversation(
  store: Store,
  id: string,
): Promise<ConversationWithBot | null> {
  const found = await store.getConversationWithBot(id)
  if (!found) return null
  const state = withMessages(found.record.state, await store.getMessages(id))
  return { ...found, record: { ...found.record, state } }
}

/**
 * Messages kept apart as the SQL stores hold them: one row per move (`setMessagesApart` moves
 * dozens at once), `data` being the messages as a JSON array, which any text survives
 * (PostgreSQL's text refuses U+0000) and `q` searches as it searches states.
 */
export interface MessageRow {
  conversation_id: string
  data: string
}

/** Kept messages by conversation, from rows in order. */
export function messagesByConversation(rows: Iterable<MessageRow>): Map<string, Message[]> {
  const byConversation = new Map<string, Message[]>()
  for (const row of rows) {
    const moved = JSON.parse(row.data) as Message[]
    const messages = byConversation.get(row.conversation_id)
    if (messages) messages.push(...moved)
    else byConversation.set(row.conversation_id, moved)
  }
  return byConversation
}

/** The `reached` column's text; null (keep the stored one) when not given. */
export function reachedText(reached: readonly string[] | undefined): string | null {
  return reached === undefined ? null : JSON.stringify(reached)
}

/**
 * Whether a conversation matches a listing's `q`: one of its variable values (text as is,
 * anything else as JSON) or one of its messages contains `q`, case-insensitively.
 */
export function matchesSearch(state: ConversationState, q: string): boolean {
  const needle = q.toLowerCase()
  for (const [, value] of state.context) {
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    if (text.toLowerCase().includes(needle)) return true
  }
  return state.messages.some((message) => message.text.toLowerCase().includes(needle))
}

/**
 * Lower-cased text that every state matching `q` holds in its stored JSON, for the SQL stores
 * to narrow a search before `matchesSearch` decides; null when no such text is safe to use:
 * JSON escapes quotes, backslashes and control characters, and SQL's lower() may fold
 * non-ASCII letters differently from JavaScript's.
 */
export function searchPrefilter(q: string): string | null {
  return /^[\x20-\x7e]+$/.test(q) && !/["\\]/.test(q) ? q.toLowerCase() : null
}

/** Rows the SQL stores read per round while a search fills a page. */
export const SEARCH_BATCH = 500

/**
 * Fills a page from `fetch` (rows newest first after a cursor, already filtered by
 * everything but `q`): asks for one more than the page so `next` is null on the last page,
 * and with `q` keeps reading batches until the page is full or the rows run out.
 */
export async function collectPage(
  query: ConversationQuery,
  fetch: (
    after: ConversationCursor | undefined,
    count: number,
  ) => ConversationRecord[] | Promise<ConversationRecord[]>,
): Promise<ConversationPage> {
  const limit = Math.max(0, Math.floor(query.limit))
  const found: ConversationRecord[] = []
  let after = query.after
  for (;;) {
    const count = query.q === undefined ? limit + 1 - found.length : SEARCH_BATCH
    const rows = await fetch(after, count)
    for (const row of rows) {
      if (query.q === undefined || matchesSearch(row.state, query.q)) found.push(row)
      if (found.length > limit) break
    }
    const last = rows.at(-1)
    if (found.length > limit || rows.length < count || !last) break
    after = { createdAt: last.createdAt, id: last.id }
  }
  const conversations = found.slice(0, limit)
  const end = conversations.at(-1)
  return {
    conversations,
    next: found.length > limit && end ? { createdAt: end.createdAt, id: end.id } : null,
  }
}

/** Newest first: by start time, then id, both descending (code-unit order). */
export function compareNewestFirst(
  a: { createdAt: number; id: string },
  b: { createdAt: number; id: string },
): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** Tallies the funnel from `(block, n)` rows of reached blocks and of live ones. */
export function tallyFunnel(
  conversations: number,
  reached: Iterable<{ block: string; n: number }>,
  live: Iterable<{ block: string; n: number }>,
): FunnelCounts {
  const counts = (rows: Iterable<{ block: string; n: number }>) => {
    const out: Record<string, number> = Object.create(null)
    for (const { block, n } of rows) out[block] = (out[block] ?? 0) + Number(n)
    return out
  }
  return {
    conversations: Number(conversations),
    reached: counts(reached),
    stoppedHere: counts(live),
  }
}

/** The block a live conversation waits on, or null once it ended (the live index's key). */
export function liveBlockOf(state: ConversationState): string | null {
  return state.ended ? null : (state.at ?? '')
}

/** Tallies `(version, block, count)` rows into the API's shape, keys in a stable order. */
export function tallyLive(
  rows: Iterable<{ version: number | null; block: string; n: number }>,
): LiveConversations {
  let live = 0
  const byBlock = new Map<string, number>()
  const byVersion = new Map<number, number>()
  for (const { version, block, n } of rows) {
    live += n
    byBlock.set(block, (byBlock.get(block) ?? 0) + n)
    if (version !== null) byVersion.set(version, (byVersion.get(version) ?? 0) + n)
  }
  return {
    live,
    byBlock: Object.fromEntries([...byBlock].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    byVersion: Object.fromEntries(
      [...byVersion].sort(([a], [b]) => a - b).map(([v, n]) => [String(v), n]),
    ),
  }
}

/** Bounds for an open time range, as the SQL stores bind them. */
export const EARLIEST = -8.64e15
export const LATEST = 8.64e15

/**
 * A listing's WHERE clause (everything but `q` itself) and its values for the SQL stores.
 * `placeholder(n)` writes the n-th bound value; `id` is how the engine compares ids in code
 * unit order; `contains(column, p)` tests the search prefilter. `key` names the shape.
 */
export function conversationFilters(
  query: ConversationQuery,
  after: ConversationCursor | undefined,
  sql: {
    placeholder: (n: number) => string
    id: string
    contains: (column: string, placeholder: string) => string
    /** The bound value `contains` tests for, from the lower-cased prefilter text. */
    pattern?: (text: string) => string
  },
) {
  const clauses: string[] = []
  const values: (string | number)[] = []
  const bind = (value: string | number) => {
    values.push(value)
    return sql.placeholder(values.length)
  }
  const shape: string[] = []
  if (query.botId !== undefined) {
    clauses.push(`bot_id = ${bind(query.botId)}`)
    shape.push('bot')
  }
  if (query.ended !== undefined) {
    clauses.push(query.ended ? 'live_block IS NULL' : 'live_block IS NOT NULL')
    shape.push(query.ended ? 'ended' : 'live')
  }
  if (query.since !== undefined) {
    clauses.push(`created_at >= ${bind(query.since)}`)
    shape.push('since')
  }
  if (query.until !== undefined) {
    clauses.push(`created_at < ${bind(query.until)}`)
    shape.push('until')
  }
  if (after !== undefined) {
    clauses.push(`(created_at, ${sql.id}) < (${bind(after.createdAt)}, ${bind(after.id)})`)
    shape.push('after')
  }
  const prefilter = query.q === undefined ? null : searchPrefilter(query.q)
  if (prefilter !== null) {
    const pattern = sql.pattern ? sql.pattern(prefilter) : prefilter
    // The messages are searched in one pass (the engines build the id set once per statement)
    // rather than probed conversation by conversation.
    clauses.push(
      `(${sql.contains('state', bind(pattern))} OR id IN (SELECT conversation_id
        FROM conversation_messages WHERE ${sql.contains('data', bind(pattern))}))`,
    )
    shape.push('q')
  }
  return {
    key: shape.join(',') || 'all',
    where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '',
    order: `ORDER BY created_at DESC, ${sql.id} DESC`,
    values,
  }
}
