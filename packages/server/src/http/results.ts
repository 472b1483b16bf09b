import { Name } from '@joon/core'
import { Hono } from 'hono'
import * as z from 'zod'
import type { TurnDeps } from '../conversation.js'
import { erase } from '../results/erasure.js'
import { exportStream } from '../results/export.js'
import type { ConversationCursor, ConversationRecord } from '../store/types.js'
import { jsonBody } from './body.js'
import { ApiError, notFound } from './errors.js'
import { describe } from './openapi.js'
import { validQuery } from './query.js'
import { logFor } from './request-log.js'
import { type ConversationSummary, Erasure, Funnel, ResultsPage } from './schemas.js'

/**
 * Results (contract §9): the conversations listing, exports, the funnel, deletion and
 * erasure. Mounted beside the rest of the admin API, behind the same token.
 */

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** An ISO 8601 date or instant, as epoch ms. */
const Instant = z.string().transform((text, ctx) => {
  const ms = ISO_INSTANT.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not an ISO 8601 date or instant (e.g. 2025-01-31 or 2025-01-31T08:00:00Z)`,
    })
    return z.NEVER
  }
  return ms
})

const Bool = z.enum(['true', 'false']).transform((text) => text === 'true')

const Range = {
  since: Instant.optional(),
  until: Instant.optional(),
}

const ListQuery = z.strictObject({
  bot: Name.optional(),
  ended: Bool.optional(),
  ...Range,
  q: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(1000).optional(),
})

const ExportQuery = z.strictObject({
  format: z.enum(['csv', 'ndjson']).default('csv'),
  ended: Bool.optional(),
  ...Range,
})

const FunnelQuery = z.strictObject(Range)

const ErasureQuery = z.strictObject({ dryRun: Bool.optional() })

const ErasureBody = z.strictObject({
  variable: Name,
  value: z.union([z.string().trim().min(1).max(10_000), z.number(), z.boolean()]),
})

function checkRange(range: { since?: number | undefined; until?: number | undefined }) {
  if (range.since !== undefined && range.until !== undefined && range.since > range.until) {
    throw new ApiError(400, 'invalid_query', '"since" is after "until".')
  }
}

/** The opaque cursor: base64url of `[startedAt ms, conversation id]`. */
export function encodeCursor(cursor: ConversationCursor): string {
  return btoa(JSON.stringify([cursor.createdAt, cursor.id]))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')
}

function decodeCursor(text: string): ConversationCursor {
  try {
    const json = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
    const value: unknown = JSON.parse(json)
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      !value[1].includes('\0')
    ) {
      return { createdAt: value[0], id: value[1] }
    }
  } catch {
    // Not base64 or not JSON: refused below.
  }
  throw new ApiError(
    400,
    'invalid_cursor',
    'The cursor is not valid: pass the "nextCursor" of the previous page as it was.',
  )
}

const iso = (ms: number) => new Date(ms).toISOString()

function variablesOf(record: ConversationRecord): Record<string, unknown> {
  // Null prototype: a stored name can never reach Object.prototype, whatever it is.
  const variables: Record<string, unknown> = Object.create(null)
  for (const [name, value] of record.state.context) variables[name] = value
  return variables
}

export function conversationSummary(
  record: ConversationRecord,
): z.infer<typeof ConversationSummary> {
  return {
    conversationId: record.id,
    botId: record.botId,
    startedAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    ended: record.state.ended,
    variables: variablesOf(record),
    messages: record.state.messages.length,
  }
}

/** Drops undefined fields (the store's query types are exact). */
function defined<T extends Record<string, unknown>>(value: T) {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>
  }
}

export function resultsRoutes({ deps }: { deps: TurnDeps }) {
  const { store } = deps
  const botParam = (value: string) => {
    if (!Name.safeParse(value).success) throw notFound('Bot', value)
    return value
  }
  return new Hono()
    .get(
      '/conversations',
      describe(
        'Results',
        'List conversations, newest first',
        { 200: ResultsPage },
        {
          description:
            '`q` searches variables and transcripts, case-insensitively. Page with `cursor`.',
        },
      ),
      validQuery(ListQuery),
      async (c) => {
        const query = c.req.valid('query')
        checkRange(query)
        const page = await store.listConversations(
          defined({
            botId: query.bot,
            ended: query.ended,
            since: query.since,
            until: query.until,
            q: query.q === '' ? undefined : query.q,
            limit: query.limit,
            after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
          }),
        )
        return c.json(
          {
            conversations: page.conversations.map(conversationSummary),
            nextCursor: page.next ? encodeCursor(page.next) : null,
          },
          200,
        )
      },
    )
    .delete(
      '/conversations/:id',
      describe('Results', 'Delete a conversation', {
        204: { description: 'Deleted, with its transcript and deliveries' },
      }),
      async (c) => {
        const id = c.req.param('id')
        if (!(await store.deleteConversation(id))) throw notFound('Conversation', id)
        logFor(deps.log, c)?.('conversation.deleted', { conversationId: id })
        return c.body(null, 204)
      },
    )
    .post(
      '/erasure',
      describe(
        'Results',
        'Erase every conversation holding a value',
        { 200: Erasure },
        {
          description: 'With `dryRun=true`, counts them (`wouldErase`) and deletes nothing.',
        },
      ),
      validQuery(ErasureQuery),
      jsonBody(ErasureBody, { maxBytes: 64 * 1024 }),
      async (c) => {
        const { dryRun } = c.req.valid('query')
        const body = c.req.valid('json')
        const erased = await erase(store, { ...body, dryRun: dryRun ?? false })
        if (dryRun) return c.json({ wouldErase: erased }, 200)
        // Never the value: the log must not keep what was erased.
        logFor(deps.log, c)?.('erasure.done', { variable: body.variable, erased })
        return c.json({ erased }, 200)
      },
    )
    .get(
      '/bots/:botId/results',
      describe('Results', "Export a bot's results", {
        200: {
          description:
            'CSV (RFC 4180, formula cells neutralised) or NDJSON, streamed as an attachment',
          media: 'text/csv',
        },
      }),
      validQuery(ExportQuery),
      async (c) => {
        const botId = botParam(c.req.param('botId'))
        const query = c.req.valid('query')
        checkRange(query)
        const bot = await store.getBot(botId)
        if (!bot) throw notFound('Bot', botId)
        const body = exportStream(
          store,
          bot,
          query.format,
          defined({ botId, ended: query.ended, since: query.since, until: query.until }),
        )
        const csv = query.format === 'csv'
        return c.body(body, 200, {
          'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="${botId}-results.${csv ? 'csv' : 'ndjson'}"`,
          // Streamed as read: not buffered by the compression middleware, never cached.
          'cache-control': 'no-store, no-transform',
        })
      },
    )
    .get(
      '/bots/:botId/funnel',
      describe('Results', 'Count, per block, who reached it and who stopped there', {
        200: Funnel,
      }),
      validQuery(FunnelQuery),
      async (c) => {
        const botId = botParam(c.req.param('botId'))
        const query = c.req.valid('query')
        checkRange(query)
        const bot = await store.getBot(botId)
        if (!bot) throw notFound('Bot', botId)
        const counts = await store.funnel(
          botId,
          defined({ since: query.since, until: query.until }),
        )
        return c.json(
          {
            conversations: counts.conversations,
            blocks: bot.blocks.map((block) => ({
              id: block.id,
              type: block.type,
              reached: counts.reached[block.id] ?? 0,
              stoppedHere: counts.stoppedHere[block.id] ?? 0,
            })),
          },
          200,
        )
      },
    )
}
