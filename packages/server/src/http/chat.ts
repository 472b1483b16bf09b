import { ReplyRequest, StartRequest } from '@joon/core'
import { Hono, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { z } from 'zod'
import { replyToConversation, startConversation, type TurnDeps } from '../conversation.js'
import { getWholeConversation } from '../store/conversations.js'
import { jsonBody } from './body.js'
import { ApiError, notFound } from './errors.js'
import { describe } from './openapi.js'
import type { RateLimiter } from './rate-limit.js'
import { forRequest } from './request-log.js'
import { ConversationView, StartedConversation, Turn } from './schemas.js'
import { streamTurn, wantsEventStream } from './turn-stream.js'
import { conversationView } from './views.js'

export const CHAT_BODY_LIMIT = 64 * 1024

const STREAMED =
  'With `accept: text/event-stream` the answer is Server-Sent Events instead: `instruction` (each instruction as soon as it is known), `delta` (`{ text }` of a model answer being written), then `done` (`{ conversationId?, input, ended }`), or `error` (the error body) if the turn fails after instructions were sent.'

export interface ChatOptions {
  deps: TurnDeps
  /** Per client address (the contract's JOON_RATE_LIMIT). */
  addressLimiter: RateLimiter
  /** Per conversation, so one runaway client cannot hammer one conversation. */
  conversationLimiter: RateLimiter
  clientAddress: (request: Request, env: unknown) => string
}

const preflight = cors({ origin: '*', allowMethods: ['GET', 'POST'], maxAge: 86_400 })

/**
 * CORS for any site: `hono/cors` answers preflights; an ordinary request gets its one header
 * through `c.header`. `hono/cors` sets it on `c.res` before the handler runs, and the answer
 * that replaces that response then copies it, which takes @hono/node-server off its fast
 * path: a chat turn cost 185-266 µs of CPU through `hono/cors`, 113-129 µs this way
 * (`bench/http.mjs`, memory store, alternating runs).
 */
const anySite: MiddlewareHandler = (c, next) => {
  if (c.req.method === 'OPTIONS') return preflight(c, next)
  c.header('access-control-allow-origin', '*')
  return next()
}

/** The chat API the widget calls (contract §4), CORS-enabled for any site. */
export function chatRoutes({
  deps,
  addressLimiter,
  conversationLimiter,
  clientAddress,
}: ChatOptions) {
  const limit = (limiter: RateLimiter, key: string) => {
    const waitMs = limiter.take(key)
    if (waitMs > 0) {
      throw new ApiError(429, 'rate_limited', 'Too many requests; slow down.', undefined, {
        'retry-after': String(Math.ceil(waitMs / 1000)),
      })
    }
  }
  return new Hono()
    .use(anySite)
    .use(async (c, next) => {
      if (c.req.method !== 'OPTIONS') limit(addressLimiter, clientAddress(c.req.raw, c.env))
      await next()
    })
    .post(
      '/bots/:botId/conversations',
      describe(
        'Chat',
        'Start a conversation',
        { 201: StartedConversation },
        {
          description:
            'Runs the bot from its start block until it waits for the visitor. `variables` start the context (hidden fields). ' +
            STREAMED,
        },
      ),
      jsonBody(StartRequest, { maxBytes: CHAT_BODY_LIMIT, emptyAs: {} }),
      async (c) => {
        const { variables } = c.req.valid('json')
        const turnDeps = forRequest(deps, c)
        const botId = c.req.param('botId')
        if (wantsEventStream(c)) {
          return streamTurn(c, 201, turnDeps.log, (listener) =>
            startConversation(turnDeps, botId, variables, listener),
          )
        }
        const started: z.infer<typeof StartedConversation> = await startConversation(
          turnDeps,
          botId,
          variables,
        )
        return c.json(started, 201)
      },
    )
    .post(
      '/conversations/:id/replies',
      describe(
        'Chat',
        'Reply to the bot',
        { 200: Turn },
        {
          description:
            'An invalid answer is not an HTTP error: the responses carry the retry prompt and `input` asks again. 409 once the conversation has ended. ' +
            STREAMED,
        },
      ),
      async (c, next) => {
        limit(conversationLimiter, c.req.param('id'))
        await next()
      },
      jsonBody(ReplyRequest, { maxBytes: CHAT_BODY_LIMIT }),
      async (c) => {
        const { text } = c.req.valid('json')
        const turnDeps = forRequest(deps, c)
        const id = c.req.param('id')
        if (wantsEventStream(c)) {
          return streamTurn(c, 200, turnDeps.log, (listener) =>
            replyToConversation(turnDeps, id, text, listener),
          )
        }
        const turn: z.infer<typeof Turn> = await replyToConversation(turnDeps, id, text)
        return c.json(turn, 200)
      },
    )
    .get(
      '/conversations/:id',
      describe(
        'Chat',
        'Read a conversation',
        { 200: ConversationView },
        {
          description: 'Its messages and what to ask next; never its context.',
        },
      ),
      async (c) => {
        const id = c.req.param('id')
        const found = await getWholeConversation(deps.store, id)
        if (!found) throw notFound('Conversation', id)
        return c.json(conversationView(found.record, found.bot), 200)
      },
    )
}
