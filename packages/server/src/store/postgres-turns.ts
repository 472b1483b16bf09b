import { type ConversationState, type MessagesApart, setMessagesApart } from '@joon/core'
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  liveBlockOf,
  reachedText,
} from './conversations.js'
import { INSERT_COLUMNS } from './deliveries.js'
import { Batches } from './postgres-batches.js'
import { COMPLETE, completeParams } from './postgres-health.js'
import { INSERT_TYPES, outboxParams } from './postgres-sql.js'
import type { Statements } from './postgres-statements.js'
import type * as T from './types.js'

/** A conversation's row with the version of the bot it runs on (null: that bot is gone). */
export type TurnRow = ConversationRow & { bot_at: number | null }

/** A bot's latest version, with its text unless it is the version the caller has cached. */
export interface LatestBotRow {
  version: number
  data: string | null
}

type Write<W> = { conversation: W; outbox: readonly T.NewDelivery[] }

/**
 * What turns read and write, each call batched with the calls of the same event-loop turn
 * (postgres-batches.ts says why): a bot's latest version for a start, a conversation with its
 * bot's version for a reply, a conversation's write with its outbox, and attempt outcomes.
 */
export class TurnStatements {
  readonly latestBot: Batches<{ id: string; cached: number }, LatestBotRow | null>
  readonly conversation: Batches<string, TurnRow | null>
  readonly create: Batches<Write<T.NewConversation>, void>
  readonly update: Batches<Write<T.ConversationUpdate>, boolean>
  readonly complete: Batches<T.AttemptCompletion, boolean>

  constructor(db: Statements) {
    this.latestBot = new Batches<{ id: string; cached: number }, LatestBotRow | null>(
      async (items) => {
        const { rows } = await db.query<LatestBotRow & { i: number }>(
          'get-latest-bots',
          LATEST_BOTS,
          [items.map((item) => item.id), items.map((item) => item.cached)],
        )
        return inOrder(items, rows)
      },
    )
    this.conversation = new Batches<string, TurnRow | null>(async (ids) => {
      const { rows } = await db.query<TurnRow & { i: number }>('get-conversations', CONVERSATIONS, [
        ids,
      ])
      return inOrder(ids, rows)
    })
    this.create = new Batches<Write<T.NewConversation>, void>(async (items) => {
      const apart = items.map(({ conversation }) => setMessagesApart(conversation.state))
      const values = [
        items.map(({ conversation }) => conversation.id),
        items.map(({ conversation }) => conversation.botId),
        apart.map(({ state }) => JSON.stringify(state)),
        items.map(({ conversation }) => conversation.now),
        items.map(({ conversation }) => conversation.botVersion ?? null),
        items.map(({ conversation }) => liveBlockOf(conversation.state)),
        items.map(({ conversation }) => reachedText(conversation.reached) ?? '[]'),
      ]
      await db.write('create-conversations', CREATE, [
        ...values,
        ...outboxOf(items),
        ...messagesOf(items, apart),
      ])
      return items.map(() => undefined)
    })
    this.update = new Batches(
      async (items) => {
        const apart = items.map(({ conversation }) => setMessagesApart(conversation.state))
        const values = [
          items.map(({ conversation }) => conversation.id),
          items.map(({ conversation }) => conversation.expectedVersion),
          apart.map(({ state }) => JSON.stringify(state)),
          items.map(({ conversation }) => conversation.now),
          items.map(({ conversation }) => liveBlockOf(conversation.state)),
          items.map(({ conversation }) => reachedText(conversation.reached)),
        ]
        const { rows } = await db.write<{ id: string }>('update-conversations', UPDATE, [
          ...values,
          ...outboxOf(items),
          ...messagesOf(items, apart),
        ])
        const saved = new Set(rows.map((row) => row.id))
        return items.map(({ conversation }) => saved.has(conversation.id))
      },
      ({ conversation }) => conversation.id,
    )
    this.complete = new Batches(
      async (completions) => {
        const { rows } = await db.write<{ id: string }>(
          'complete',
          COMPLETE,
          completeParams(completions),
        )
        const recorded = new Set(rows.map((row) => row.id))
        return completions.map((completion) => recorded.has(completion.id))
      },
      (completion) => completion.id,
      // The worker's slot is free while its outcome is written, so the outcome can wait.
      { oneAtATime: true },
    )
  }
}

/** The rows of a batched read (each numbered `i` by its item, from 1) in the items' order. */
function inOrder<R extends { i: number }>(items: readonly unknown[], rows: R[]): (R | null)[] {
  const answers: (R | null)[] = items.map(() => null)
  for (const row of rows) answers[row.i - 1] = row
  return answers
}

/** The writes' outboxes as parallel arrays, each delivery led by its conversation's id. */
function outboxOf(items: readonly Write<{ id: string }>[]): unknown[][] {
  const owners = items.flatMap(({ conversation, outbox }) => outbox.map(() => conversation.id))
  return [owners, ...outboxParams(items.flatMap((item) => item.outbox))]
}

/**
 * What each write moves apart, as parallel arrays (conversation, position, messages as JSON),
 * then the conversations whose writes replace every kept message (a state without `earlier`),
 * with how many rows of theirs stay (the one written, or none).
 */
function messagesOf(
  items: readonly Write<{ id: string; state: ConversationState }>[],
  apart: readonly MessagesApart[],
): unknown[][] {
  const moved: [string[], number[], string[]] = [[], [], []]
  const replaced: [string[], number[]] = [[], []]
  items.forEach(({ conversation }, i) => {
    const { from, messages } = apart[i] ?? { from: 0, messages: [] }
    if (messages.length > 0) {
      moved[0].push(conversation.id)
      moved[1].push(from)
      moved[2].push(JSON.stringify(messages))
    }
    if (conversation.state.earlier === undefined) {
      replaced[0].push(conversation.id)
      replaced[1].push(messages.length > 0 ? 1 : 0)
    }
  })
  return [...moved, ...replaced]
}

/**
 * The outbox and the new messages of each conversation `head` wrote, inserted by the same
 * atomic statement.
 */
function withOutbox(head: string, firstParam: number): string {
  const arrays = ['text', ...INSERT_TYPES].map((type, i) => `$${firstParam + i}::${type}[]`)
  const m = firstParam + arrays.length
  return `WITH ${head},
  inserted AS (
    INSERT INTO deliveries (${INSERT_COLUMNS})
    SELECT ${INSERT_COLUMNS} FROM unnest(${arrays.join(', ')})
      WITH ORDINALITY AS o (owner, ${INSERT_COLUMNS}, ord)
    WHERE o.owner IN (SELECT id FROM head)
    ORDER BY o.ord
  ),
  appended AS (
    INSERT INTO conversation_messages (conversation_id, seq, data)
    SELECT * FROM unnest($${m}::text[], $${m + 1}::integer[], $${m + 2}::text[])
      AS n (conversation_id, seq, data)
    WHERE n.conversation_id IN (SELECT id FROM head)
    ON CONFLICT (conversation_id, seq) DO UPDATE SET data = excluded.data
  ),
  cut AS (
    DELETE FROM conversation_messages k
    USING unnest($${m + 3}::text[], $${m + 4}::integer[]) AS r (id, kept)
    WHERE k.conversation_id = r.id AND k.seq >= r.kept AND r.id IN (SELECT id FROM head)
  )
  SELECT id FROM head`
}

const LATEST_BOTS = `
  SELECT q.i, b.version, CASE WHEN b.version = q.cached THEN NULL ELSE v.data END AS data
  FROM unnest($1::text[], $2::integer[]) WITH ORDINALITY AS q (id, cached, i)
  JOIN bots b ON b.id = q.id
  JOIN bot_versions v ON v.bot_id = b.id AND v.version = b.version`

/** A conversation not pinned to a version runs on its bot's latest. */
const CONVERSATIONS = `
  SELECT q.i, ${CONVERSATION_COLUMNS.split(', ')
    .map((column) => `c.${column}`)
    .join(', ')},
    v.version AS bot_at
  FROM unnest($1::text[]) WITH ORDINALITY AS q (id, i)
  JOIN conversations c ON c.id = q.id
  LEFT JOIN bots b ON c.bot_version IS NULL AND b.id = c.bot_id
  LEFT JOIN bot_versions v ON v.bot_id = c.bot_id AND v.version = coalesce(c.bot_version, b.version)`

const CREATE = withOutbox(
  `head AS (
    INSERT INTO conversations (id, bot_id, state, version, created_at, updated_at, bot_version,
      live_block, reached)
    SELECT id, bot_id, state, 1, now, now, bot_version, live_block, reached
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::integer[], $6::text[],
                $7::text[]) AS u (id, bot_id, state, now, bot_version, live_block, reached)
    RETURNING id
  )`,
  8,
)

const UPDATE = withOutbox(
  `head AS (
    UPDATE conversations c SET state = u.state, updated_at = u.now, version = c.version + 1,
      live_block = u.live_block, reached = coalesce(u.reached, c.reached)
    FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::text[], $6::text[])
      AS u (id, expected, state, now, live_block, reached)
    WHERE c.id = u.id AND c.version = u.expected
    RETURNING c.id
  )`,
  7,
)
