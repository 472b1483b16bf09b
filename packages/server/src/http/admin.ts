import { type Bot, formatBotIssues, Name, validateBot, Webhook } from '@joon/core'
import { Hono } from 'hono'
import * as z from 'zod'
import type { TurnDeps } from '../conversation.js'
import { refusedUrlHost } from '../net/address-guard.js'
import { getWholeConversation } from '../store/conversations.js'
import type { BotSource, Store } from '../store/types.js'
import { jsonBody } from './body.js'
import { ApiError, invalidInput, notFound } from './errors.js'
import { asSent, newWebhookSecret, unmaskedBody } from './masking.js'
import { nameToCreate } from './names.js'
import { describe } from './openapi.js'
import { validQuery } from './query.js'
import { logFor } from './request-log.js'
import {
  AdminConversationView,
  Bots,
  BotVersions,
  BotView,
  Deliveries,
  DeliveryDetail,
  DeliveryView,
  LiveConversations,
  SavedWebhook,
  WebhookHeaders,
  WebhookSecret,
  Webhooks,
  WebhookTest,
  WebhookView,
} from './schemas.js'
import { adminConversationView, deliveryView, webhookView } from './views.js'

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

/** A webhook or a bot as sent: checked whole (with its name or id from the URL) by the route. */
const AnyObject = z.record(z.string(), z.unknown())

/** Set on every save of a bot (PUT, restore): the version number it was stored as. */
export const BOT_VERSION_HEADER = 'x-joon-bot-version'

/** `x-joon-source: console` marks a save made in the console; any other save is the API's. */
function sourceOf(request: Request): BotSource {
  return request.headers.get('x-joon-source')?.trim().toLowerCase() === 'console'
    ? 'console'
    : 'api'
}

/** A bot as stored, or 400 listing every problem (webhooks checked against the registered ones). */
async function validBot(store: Store, input: unknown): Promise<Bot> {
  const webhooks = (await store.listWebhooks()).map((webhook) => webhook.name)
  const models = (await store.listModels()).map((model) => model.name)
  const result = validateBot(input, { webhooks, models })
  if (!result.ok) {
    throw new ApiError(400, 'invalid_bot', formatBotIssues(result.issues), result.issues)
  }
  return result.bot
}

/** A version number in a URL: 1, 2, 3… */
function versionParam(value: string): number {
  const version = /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : Number.NaN
  if (!(version <= 2_147_483_647)) {
    throw new ApiError(
      400,
      'invalid_version',
      `"${value}" is not a version number: versions are whole numbers from 1.`,
    )
  }
  return version
}

const versionNotFound = (id: string, version: number) =>
  new ApiError(404, 'not_found', `Bot "${id}" has no version ${version}`)

/** The admin API (contract §4); mounted behind the bearer-token check. */
export function adminRoutes({
  deps,
  allowPrivateUrls,
}: {
  deps: TurnDeps
  allowPrivateUrls: boolean
}) {
  const { store } = deps
  // A GET or DELETE of a name that cannot exist finds nothing (404), as for any unknown name;
  // a PUT would create it, so there the invalid name is the client's mistake (400, nameToCreate).
  const param = (value: string, what: string) => {
    if (!Name.safeParse(value).success) throw notFound(what, value)
    return value
  }
  const existingWebhook = async (value: string) => {
    const name = param(value, 'Webhook')
    const webhook = await store.getWebhook(name)
    if (!webhook) throw notFound('Webhook', name)
    return webhook
  }
  return new Hono()
    .get(
      '/webhooks',
      describe(
        'Webhooks',
        'List the webhooks',
        { 200: Webhooks },
        { description: 'Each with its health; secrets and header values masked.' },
      ),
      async (c) => {
        const [webhooks, health] = await Promise.all([
          store.listWebhooks(),
          store.listWebhookHealth(),
        ])
        const byName = new Map(health.map((h) => [h.webhook, h]))
        return c.json(
          { webhooks: webhooks.map((webhook) => webhookView(webhook, byName.get(webhook.name))) },
          200,
        )
      },
    )
    .get(
      '/webhooks/:name',
      describe(
        'Webhooks',
        'Read a webhook',
        { 200: WebhookView },
        { description: 'With its health; the secret and header values masked.' },
      ),
      async (c) => {
        const name = param(c.req.param('name'), 'Webhook')
        const [webhook, health] = await Promise.all([
          store.getWebhook(name),
          store.getWebhookHealth(name),
        ])
        if (!webhook) throw notFound('Webhook', name)
        return c.json(webhookView(webhook, health ?? undefined), 200)
      },
    )
    .put(
      '/webhooks/:name',
      describe('Webhooks', 'Register or replace a webhook', {
        200: SavedWebhook,
        201: { description: 'Created', schema: SavedWebhook },
      }),
      nameToCreate('name'),
      jsonBody(AnyObject, { maxBytes: ADMIN_BODY_LIMIT }),
      async (c) => {
        const name = param(c.req.param('name'), 'Webhook')
        const body = c.req.valid('json')
        if (body.name !== undefined && body.name !== name) {
          throw new ApiError(
            400,
            'invalid_body',
            `The body's name "${String(body.name)}" differs from the URL's "${name}".`,
          )
        }
        // Masked values sent back (read, changed elsewhere, written) keep what is stored.
        const parsed = Webhook.safeParse({
          ...unmaskedBody(body, await store.getWebhook(name)),
          name,
        })
        if (!parsed.success) {
          throw invalidInput('invalid_body', 'The webhook is not valid.', parsed.error)
        }
        const { created } = await store.putWebhook(parsed.data)
        // Saved all the same (the setting may change), but said now rather than at delivery.
        const refusal = allowPrivateUrls ? null : refusedUrlHost(new URL(parsed.data.url).hostname)
        const warnings = refusal ? [`Calls to this URL will fail: ${refusal}`] : undefined
        // Echoes what was sent: a masked value stays masked, nothing is revealed.
        const saved: z.infer<typeof SavedWebhook> = {
          ...asSent(parsed.data, body),
          ...(warnings ? { warnings } : {}),
        }
        return c.json(saved, created ? 201 : 200)
      },
    )
    .delete(
      '/webhooks/:name',
      describe(
        'Webhooks',
        'Delete a webhook',
        { 204: { description: 'Deleted' } },
        { description: '409 webhook_in_use while a bot calls it.' },
      ),
      async (c) => {
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
      },
    )
    .post(
      '/webhooks/:name/secret/reveal',
      describe(
        'Webhooks',
        'Reveal the signing secret',
        { 200: WebhookSecret },
        { description: 'In clear, logged (without the secret) as webhook.secret_revealed.' },
      ),
      async (c) => {
        const webhook = await existingWebhook(c.req.param('name'))
        logFor(deps.log, c)?.('webhook.secret_revealed', { webhook: webhook.name })
        c.header('cache-control', 'no-store')
        return c.json({ secret: webhook.secret ?? null }, 200)
      },
    )
    .post(
      '/webhooks/:name/secret/rotate',
      describe(
        'Webhooks',
        'Replace the signing secret with a new one',
        { 200: WebhookSecret },
        {
          description:
            'Generates whsec_ + 24 random bytes, stores it and answers it in clear, once. Calls from then on are signed with it.',
        },
      ),
      async (c) => {
        const webhook = await existingWebhook(c.req.param('name'))
        const secret = newWebhookSecret()
        await store.putWebhook({ ...webhook, secret })
        logFor(deps.log, c)?.('webhook.secret_rotated', { webhook: webhook.name })
        c.header('cache-control', 'no-store')
        return c.json({ secret }, 200)
      },
    )
    .post(
      '/webhooks/:name/headers/reveal',
      describe(
        'Webhooks',
        'Reveal the header values',
        { 200: WebhookHeaders },
        { description: 'In clear, logged (without the values) as webhook.headers_revealed.' },
      ),
      async (c) => {
        const webhook = await existingWebhook(c.req.param('name'))
        logFor(deps.log, c)?.('webhook.headers_revealed', { webhook: webhook.name })
        c.header('cache-control', 'no-store')
        return c.json({ headers: webhook.headers ?? {} }, 200)
      },
    )
    .post(
      '/webhooks/:name/test',
      describe(
        'Webhooks',
        'Send a test call',
        { 200: WebhookTest },
        {
          description:
            'Posts a sample payload marked `joon_test: true` and tells how the receiver answered.',
        },
      ),
      async (c) => {
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
      },
    )
    .get('/bots', describe('Bots', 'List the bots', { 200: Bots }), async (c) =>
      c.json({ bots: await store.listBots() }, 200),
    )
    .get('/bots/:botId', describe('Bots', 'Read a bot', { 200: BotView }), async (c) => {
      const id = param(c.req.param('botId'), 'Bot')
      const bot = await store.getBot(id)
      if (!bot) throw notFound('Bot', id)
      return c.json(bot, 200)
    })
    .put(
      '/bots/:botId',
      describe(
        'Bots',
        'Create or replace a bot',
        { 200: BotView, 201: { description: 'Created', schema: BotView } },
        {
          description:
            'Saved as a new version (header x-joon-bot-version); live conversations finish on the version they started on. 400 invalid_bot lists every problem.',
        },
      ),
      nameToCreate('botId'),
      jsonBody(AnyObject, { maxBytes: ADMIN_BODY_LIMIT }),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        const body = c.req.valid('json')
        if (body.id !== undefined && body.id !== id) {
          throw new ApiError(
            400,
            'invalid_body',
            `The bot's id "${String(body.id)}" differs from the URL's "${id}".`,
          )
        }
        const bot = await validBot(store, { ...body, id })
        const { created, version } = await store.putBot(bot, { source: sourceOf(c.req.raw) })
        c.header(BOT_VERSION_HEADER, String(version))
        return c.json(bot, created ? 201 : 200)
      },
    )
    .delete(
      '/bots/:botId',
      describe('Bots', 'Delete a bot and its versions', { 204: { description: 'Deleted' } }),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        if (!(await store.deleteBot(id))) throw notFound('Bot', id)
        return c.body(null, 204)
      },
    )
    .get(
      '/bots/:botId/versions',
      describe('Bots', "List a bot's saved versions", { 200: BotVersions }),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        const [versions, live] = await Promise.all([
          store.listBotVersions(id),
          store.countLiveConversations(id),
        ])
        if (versions.length === 0) throw notFound('Bot', id)
        const file = versions.find((version) => version.file !== null)?.file ?? null
        return c.json(
          {
            versions: versions.map((version) => ({
              version: version.version,
              savedAt: new Date(version.savedAt).toISOString(),
              source: version.source,
              blocks: version.blocks,
              live: live.byVersion[String(version.version)] ?? 0,
            })),
            file: file === null ? null : { path: file },
          },
          200,
        )
      },
    )
    .get(
      '/bots/:botId/versions/:version',
      describe('Bots', 'Read a saved version', { 200: BotView }),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        const version = versionParam(c.req.param('version'))
        const bot = await store.getBotVersion(id, version)
        if (!bot) throw versionNotFound(id, version)
        return c.json(bot, 200)
      },
    )
    .post(
      '/bots/:botId/versions/:version/restore',
      describe(
        'Bots',
        'Restore a saved version',
        { 200: BotView },
        { description: 'Saves it again as the newest version.' },
      ),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        const version = versionParam(c.req.param('version'))
        const old = await store.getBotVersion(id, version)
        if (!old) throw versionNotFound(id, version)
        // Checked again: a webhook it calls may have been deleted since.
        const bot = await validBot(store, old)
        const saved = await store.putBot(bot, { source: sourceOf(c.req.raw) })
        c.header(BOT_VERSION_HEADER, String(saved.version))
        return c.json(bot, 200)
      },
    )
    .get(
      '/bots/:botId/live',
      describe(
        'Bots',
        'Count the live conversations',
        { 200: LiveConversations },
        {
          description:
            'By the block each waits on and by the version each runs on: what an edit would affect.',
        },
      ),
      async (c) => {
        const id = param(c.req.param('botId'), 'Bot')
        const [bot, live] = await Promise.all([store.getBot(id), store.countLiveConversations(id)])
        if (!bot) throw notFound('Bot', id)
        return c.json(live, 200)
      },
    )
    .get(
      '/deliveries',
      describe('Deliveries', 'List deliveries, newest first', { 200: Deliveries }),
      validQuery(DeliveryQuery),
      async (c) => {
        const { webhook, status, limit } = c.req.valid('query')
        const deliveries = await store.listDeliveries({
          limit,
          ...(webhook ? { webhook } : {}),
          ...(status ? { status } : {}),
        })
        return c.json({ deliveries: deliveries.map(deliveryView) }, 200)
      },
    )
    .get(
      '/deliveries/:id',
      describe('Deliveries', 'Read a delivery with its attempts', { 200: DeliveryDetail }),
      async (c) => {
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
      },
    )
    .post(
      '/deliveries/:id/retry',
      describe(
        'Deliveries',
        'Send a delivery again',
        { 200: DeliveryView },
        { description: 'Makes it pending and due now, whatever its status.' },
      ),
      async (c) => {
        const id = c.req.param('id')
        const delivery = await store.retryDelivery(id, deps.now())
        if (!delivery) throw notFound('Delivery', id)
        deps.onDeliveriesQueued?.()
        return c.json(deliveryView(delivery), 200)
      },
    )
    .get(
      '/conversations/:id',
      describe('Results', 'Read a conversation with its context and transcript', {
        200: AdminConversationView,
      }),
      async (c) => {
        const id = c.req.param('id')
        const found = await getWholeConversation(store, id)
        if (!found) throw notFound('Conversation', id)
        return c.json(adminConversationView(found.record, found.bot), 200)
      },
    )
}
