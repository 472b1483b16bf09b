import type { BotInput } from '@joon/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSender } from '../../src/delivery/send.js'
import { type Handler, json, makeApp, startReceiver } from '../helpers.js'

const orderBot: BotInput = {
  id: 'orders',
  start: 'ask',
  blocks: [
    {
      id: 'ask',
      type: 'question',
      answer: 'text',
      text: 'Your order number?',
      saveAnswerTo: 'order',
      next: 'check',
    },
    { id: 'check', type: 'webhook', webhook: 'orders-api', onError: 'sorry', next: 'status' },
    {
      id: 'status',
      type: 'text',
      text: 'Status: {{delivery_status}} ({{delivery_method}}) for {{order}}',
    },
    { id: 'sorry', type: 'text', text: 'Sorry, we cannot check orders right now.' },
  ],
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

async function setup(handler: Handler) {
  const receiver = await startReceiver(handler)
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/test' })
  closers.push(receiver.close, () => sender.close())
  const ctx = makeApp({ sender })
  await ctx.admin('PUT', '/webhooks/orders-api', { url: `${receiver.url}/hooks`, timeoutMs: 2000 })
  expect((await ctx.admin('PUT', '/bots/orders', orderBot)).status).toBe(201)
  const start = await ctx.call('POST', '/api/v1/bots/orders/conversations', {
    variables: { name: 'John' },
  })
  const id: string = start.json.conversationId
  const reply = (text: string) => ctx.call('POST', `/api/v1/conversations/${id}/replies`, { text })
  return { ...ctx, receiver, id, reply }
}

describe('synchronous webhooks', () => {
  it('shows the responses a webhook returns, in order, with their delays', async () => {
    const { reply, receiver, admin, id } = await setup((_req, _body, res) =>
      json(res, 200, {
        responses: [
          {
            type: 'text',
            delay: 2000,
            elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
          },
          { type: 'carousel', elements: [] },
          {
            type: 'text',
            delay: 2000,
            elements: [
              {
                label: 'Your order is on the way to your delivery pickup point',
                order: 1,
                placeholder: null,
              },
            ],
          },
        ],
        ignored: 'keys beside responses',
      }),
    )
    const result = await reply('A-1001')
    expect(result.status).toBe(200)
    expect(result.json.responses.slice(0, 2)).toEqual([
      {
        type: 'text',
        delay: 2000,
        elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
      },
      {
        type: 'text',
        delay: 2000,
        elements: [
          {
            label: 'Your order is on the way to your delivery pickup point',
            order: 1,
            placeholder: null,
          },
        ],
      },
    ])
    expect(receiver.requests).toHaveLength(1)
    const sent = receiver.requests[0]
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      name: 'John',
      order: 'A-1001',
      conversation: 'Bot: Your order number?\nUser: A-1001\n',
    })
    expect(sent?.headers['content-type']).toBe('application/json')
    expect(sent?.headers['user-agent']).toBe('joon/test')
    expect(sent?.headers['webhook-id']).toMatch(/^msg_/)

    const full = await admin('GET', `/conversations/${id}`)
    expect(full.json.transcript).toContain('Bot: Good morning John\nBot: Your order is on the way')
    expect(full.json.context).not.toHaveProperty('ignored')
    const log = await admin('GET', '/deliveries?webhook=orders-api')
    expect(log.json.deliveries[0]).toMatchObject({
      async: false,
      status: 'delivered',
      attempts: 1,
      lastStatus: 200,
    })
  })

  it('merges a reply object into the context for later blocks', async () => {
    const { reply } = await setup((_req, _body, res) =>
      json(res, 200, '{"delivery_status":"delivered","delivery_method":"eco"}'),
    )
    const result = await reply('A-1002')
    expect(result.json.ended).toBe(true)
    expect(
      result.json.responses.map((r: { elements: { label: string }[] }) => r.elements[0]?.label),
    ).toEqual(['Status: delivered (eco) for A-1002'])
  })

  it('stores and shows a lone surrogate from a reply as U+FFFD, so the transcript stays valid UTF-8', async () => {
    const { reply, admin, id } = await setup((_req, _body, res) =>
      json(res, 200, '{"delivery_status":"late \\ud800","delivery_method":"eco"}'),
    )
    const result = await reply('A-1002')
    expect(result.json.responses[0].elements[0].label).toBe('Status: late \ufffd (eco) for A-1002')
    const stored = await admin('GET', `/conversations/${id}`)
    expect(stored.json.context.delivery_status).toBe('late \ufffd')
    expect(stored.json.transcript).toContain('Bot: Status: late \ufffd (eco) for A-1002\n')
  })

  it('goes to onError on failure, leaves the context alone and keeps errors from the client', async () => {
    const { reply, admin, id } = await setup((_req, _body, res) =>
      json(res, 500, { secret: 'internal detail' }),
    )
    const result = await reply('A-1003')
    expect(result.status).toBe(200)
    expect(JSON.stringify(result.json)).not.toContain('internal detail')
    expect(result.json.responses[0].elements[0].label).toBe(
      'Sorry, we cannot check orders right now.',
    )
    const full = await admin('GET', `/conversations/${id}`)
    expect(Object.keys(full.json.context)).toEqual(['name', 'order'])
    const log = await admin('GET', '/deliveries?webhook=orders-api&status=failed')
    expect(log.json.deliveries[0]).toMatchObject({
      async: false,
      status: 'failed',
      lastStatus: 500,
    })
    expect(log.json.deliveries[0].lastError).toBeTruthy()
  })

  it('applies one of two racing replies and answers 409 conflict to the other', async () => {
    const { reply, call, id } = await setup((_req, _body, res) => {
      setTimeout(() => json(res, 200, { delivery_status: 'late', delivery_method: 'slow' }), 150)
    })
    const [a, b] = await Promise.all([reply('first'), reply('second')])
    expect([a.status, b.status].sort()).toEqual([200, 409])
    const loser = a.status === 409 ? a : b
    expect(loser.json.error.code).toBe('conflict')
    const view = await call('GET', `/api/v1/conversations/${id}`)
    expect(view.json.messages.filter((m: { from: string }) => m.from === 'user')).toHaveLength(1)
  })
})
