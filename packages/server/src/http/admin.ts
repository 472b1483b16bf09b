import { formatBotIssues, Name, validateBot, Webhook } from '@joon/core'
import { Hono } from 'hono'
import * as z from 'zod'
import type { TurnDeps } from '../conversation.js'
import { readJson } from './body.js'
import { ApiError, invalidInput, notFound } from './errors.js'
import { adminConversationView, deliveryView } from './views.js'

export const ADMIN_BODY_LIMIT = 5 * 1024 * 1024

/** What "send test" posts: the shape of a real call, clearly marked as a test. */
const TEST_PAYLOAD = JSON.stringify({
  email: 'test@example.com',
  joon_test: true,
  conversation: 'Bot: This is a test call from Joon.\nUser: Hello!\n',
})

const DeliveryQuery = z.strictObject({
  webhook: Name.optional(),
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

/** The admin API (contract §4); mounted behind the bearer-token check. */
export function adminRoutes({ deps }: { deps: TurnDeps }) {
  const { store } = deps
  const param = (value: string, what: string) => {
    if (!Name.safeParse(value).success) throw notFound(what, value)
    return value
  }
  return new Hono()
    .get('/webhooks', async (c) => c.json({ webhooks: await store.listWebhooks() }, 200))
    .get('/webhooks/:name', async (c) => {
      const name = param(c.req.param('name'), 'Webhook')
      const webhook = await store.getWebhook(name)
      if (!webhook) throw notFound('Webhook', name)
      return c.json(webhook, 200)
    })
    .put('/webhooks/:name', async (c) => {
      const name = param(c.req.param('name'), 'Webhook')
      const body = await readJson(c, z.record(z.string(), z.unknown()), {
        maxBytes: ADMIN_BODY_LIMIT,
      })
      if (body.name !== undefined && body.name !== name) {
        throw new ApiError(
          400,
          'invalid_body',
          `The body's name "${String(body.name)}" differs from the URL's "${name}".`,
        )
      }
      const parsed = Webhook.safeParse({ ...body, name })
      if (!parsed.success) {
        throw invalidInput('invalid_body', 'The webhook is not valid.', parsed.error)
      }
      const { created } = await store.putWebhook(parsed.data)
      return c.json(parsed.data, created ? 201 : 200)
    })
    .delete('/webhooks/:name', async (c) => {
      const name = param(c.req.param('name'), 'Webhook')
      const users = (await store.listBots())
        .filter((bot) =>
          bot.blocks.some((block) => block.type === 'webhook' && block.webhook === name),
        )
        .map((bot) => bot.id)
      if (users.length > 0) {
        throw new ApiError(
          409,
          'webhook_in_use',
          `Webhook "${name}" is used by ${users.length === 1 ? 'bot' : 'bots'} ${users.map((id) => `"${id}"`).join(', ')}; remove it from them first.`,
        )
      }
      if (!(await store.deleteWebhook(name))) throw notFound('Webhook', name)
      return c.body(null, 204)
    })
    .post('/webhooks/:name/test', async (c) => {
      const name = param(c.req.param('name'), 'Webhook')
      const webhook = await store.getWebhook(name)
      if (!webhook) throw notFound('Webhook', name)
      if (!deps.sender) {
        throw new ApiError(501, 'not_available', 'This runtime cannot send webhooks.')
      }
      const result = await deps.sender.send(webhook, {
        id: deps.newId('msg_test_'),
        body: TEST_PAYLOAD,
      })
      return c.json(
        {
          status: result.status,
          durationMs: result.durationMs,
          outcome: result.outcome,
          error: result.error,
          body: TEST_PAYLOAD,
        },
        200,
      )
    })
    .get('/bots', async (c) => c.json({ bots: await store.listBots() }, 200))
    .get('/bots/:botId', async (c) => {
      const id = param(c.req.param('botId'), 'Bot')
      const bot = await store.getBot(id)
      if (!bot) throw notFound('Bot', id)
      return c.json(bot, 200)
    })
    .put('/bots/:botId', async (c) => {
      const id = param(c.req.param('botId'), 'Bot')
      const body = await readJson(c, z.record(z.string(), z.unknown()), {
        maxBytes: ADMIN_BODY_LIMIT,
      })
      if (body.id !== undefined && body.id !== id) {
        throw new ApiError(
          400,
          'invalid_body',
          `The bot's id "${String(body.id)}" differs from the URL's "${id}".`,
        )
      }
      const webhooks = (await store.listWebhooks()).map((webhook) => webhook.name)
      const result = validateBot({ ...body, id }, { webhooks })
      if (!result.ok) {
        throw new ApiError(400, 'invalid_bot', formatBotIssues(result.issues), result.issues)
      }
      const { created } = await store.putBot(result.bot)
      return c.json(result.bot, created ? 201 : 200)
    })
    .delete('/bots/:botId', async (c) => {
      const id = param(c.req.param('botId'), 'Bot')
      if (!(await store.deleteBot(id))) throw notFound('Bot', id)
      return c.body(null, 204)
    })
    .get('/deliveries', async (c) => {
      const query = DeliveryQuery.safeParse(c.req.query())
      if (!query.success) {
        throw invalidInput('invalid_query', 'The query is not valid.', query.error)
      }
      const { webhook, status, limit } = query.data
      const deliveries = await store.listDeliveries({
        limit,
        ...(webhook ? { webhook } : {}),
        ...(status ? { status } : {}),
      })
      return c.json({ deliveries: deliveries.map(deliveryView) }, 200)
    })
    .get('/deliveries/:id', async (c) => {
      const id = c.req.param('id')
      const delivery = await store.getDelivery(id)
      if (!delivery) throw notFound('Delivery', id)
      return c.json(
        {
          ...deliveryView(delivery),
          body: delivery.body,
          history: delivery.history.map((attempt) => ({
            ...attempt,
            at: new Date(attempt.at).toISOString(),
          })),
        },
        200,
      )
    })
    .post('/deliveries/:id/retry', async (c) => {
      const id = c.req.param('id')
      const delivery = await store.retryDelivery(id, deps.now())
      if (!delivery) throw notFound('Delivery', id)
      deps.onDeliveriesQueued?.()
      return c.json(deliveryView(delivery), 200)
    })
    .get('/conversations/:id', async (c) => {
      const id = c.req.param('id')
      const record = await store.getConversation(id)
      if (!record) throw notFound('Conversation', id)
      return c.json(adminConversationView(record, await store.getBot(record.botId)), 200)
    })
}
