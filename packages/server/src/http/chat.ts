import { ReplyRequest, StartRequest } from '@joon/core'
import { Hono } from 'hono'
import { replyToConversation, startConversation, type TurnDeps } from '../conversation.js'
import { readJson } from './body.js'
import { openCors } from './cors.js'
import { ApiError, notFound } from './errors.js'
import type { RateLimiter } from './rate-limit.js'
import { conversationView } from './views.js'

export const CHAT_BODY_LIMIT = 64 * 1024

export interface ChatOptions {
  deps: TurnDeps
  /** Per client address (the contract's JOON_RATE_LIMIT). */
  addressLimiter: RateLimiter
  /** Per conversation, so one runaway client cannot hammer one conversation. */
  conversationLimiter: RateLimiter
  clientAddress: (request: Request, env: unknown) => string
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
    .use(openCors({ methods: ['GET', 'POST'], maxAgeSeconds: 86_400 }))
    .use(async (c, next) => {
      if (c.req.method !== 'OPTIONS') limit(addressLimiter, clientAddress(c.req.raw, c.env))
      await next()
    })
    .post('/bots/:botId/conversations', async (c) => {
      const body = await readJson(c, StartRequest, { maxBytes: CHAT_BODY_LIMIT, emptyAs: {} })
      const started = await startConversation(deps, c.req.param('botId'), body.variables)
      return c.json(started, 201)
    })
    .post('/conversations/:id/replies', async (c) => {
      const id = c.req.param('id')
      limit(conversationLimiter, id)
      const body = await readJson(c, ReplyRequest, { maxBytes: CHAT_BODY_LIMIT })
      return c.json(await replyToConversation(deps, id, body.text), 200)
    })
    .get('/conversations/:id', async (c) => {
      const id = c.req.param('id')
      const record = await deps.store.getConversation(id)
      if (!record) throw notFound('Conversation', id)
      const bot = await deps.store.getBot(record.botId)
      return c.json(conversationView(record, bot), 200)
    })
}
