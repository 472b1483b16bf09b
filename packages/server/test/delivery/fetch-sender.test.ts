import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { createFetchSender } from '../../src/delivery/fetch-sender.js'
import { hook, type ReceiverHandler, sendJson, startReceiver } from './receiver.js'

// The edge sender, run here on Node's own fetch against a real receiver.

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

const delivery = { id: 'msg_fetch', body: '{"email":"a@b.c"}' }

async function setup(handler: ReceiverHandler) {
  const receiver = await startReceiver(handler)
  closers.push(receiver.close)
  const sender = createFetchSender(fetch, { userAgent: 'joon/edge-test', allowPrivate: true })
  return { receiver, sender }
}

describe('createFetchSender', () => {
  it('sends the same protocol: headers, body, a verifiable signature; reads each reply shape', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    const { receiver, sender } = await setup((req, res) => {
      if (req.url === '/merge') sendJson(res, 200, { plan: 'pro' })
      else if (req.url === '/responses')
        sendJson(res, 200, { responses: [{ type: 'text', elements: [{ label: 'Hi' }] }] })
      else if (req.url === '/500') res.writeHead(500).end('nope')
      else res.writeHead(204).end()
    })
    const call = (path: string) =>
      sender.send(
        hook(receiver.url + path, {
          secret,
          headers: { 'X-Api-Key': 'abc', 'User-Agent': 'evil' },
        }),
        delivery,
      )

    expect((await call('/merge')).outcome).toEqual({ kind: 'merge', variables: [['plan', 'pro']] })
    expect((await call('/responses')).outcome).toEqual({
      kind: 'responses',
      responses: [
        { type: 'text', delay: 0, elements: [{ label: 'Hi', order: 1, placeholder: null }] },
      ],
      skipped: 0,
    })
    expect((await call('/empty')).outcome).toEqual({ kind: 'none' })
    expect(await call('/500')).toMatchObject({
      status: 500,
      outcome: { kind: 'failure', reason: 'HTTP 500' },
      error: 'HTTP 500; reply: nope',
    })

    const { headers, body } = receiver.requests[0]!
    expect(body).toBe(delivery.body)
    expect(headers['x-api-key']).toBe('abc')
    expect(headers['user-agent']).toBe('joon/edge-test')
    expect(headers['content-type']).toBe('application/json')
    expect(headers['webhook-id']).toBe(delivery.id)
    new StandardWebhook(secret).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    })
  })

  it('does not follow redirects', async () => {
    const target = await startReceiver((_req, res) => sendJson(res, 200, { stolen: true }))
    closers.push(target.close)
    const { receiver, sender } = await setup((_req, res) =>
      res.writeHead(302, { location: target.url }).end(),
    )
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome.kind).toBe('failure')
    expect(result.error).toMatch(/redirects are not followed/)
    expect(target.connections).toBe(0)
  })

  it('caps the decoded reply at 1 MiB (fetch decodes gzip itself)', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
    const { receiver, sender } = await setup((_req, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb),
    )
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'reply larger than 1 MiB (decoded)' })
  })

  it('holds one deadline over a dripping reply', async () => {
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(200)
      const timer = setInterval(() => res.write(' '), 100)
      res.on('close', () => clearInterval(timer))
    })
    const result = await sender.send(hook(receiver.url, { timeoutMs: 500 }), delivery)
    expect(result.outcome).toEqual({
      kind: 'failure',
      reason: 'timed out after 500 ms reading the reply',
    })
    expect(result.durationMs).toBeLessThan(1200)
  })

  it('refuses literal private addresses unless allowPrivate', async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(204).end())
    closers.push(receiver.close)
    const sender = createFetchSender(fetch, { userAgent: 'joon/edge-test' })
    for (const url of [
      receiver.url,
      `http://127.1:${receiver.port}/`,
      `http://2130706433:${receiver.port}/`,
      `http://[::ffff:7f00:1]:${receiver.port}/`,
      `http://localhost:${receiver.port}/`,
      'http://169.254.169.254/',
      'http://[fd00::1]/',
    ]) {
      const result = await sender.send(hook(url), delivery)
      expect(result.outcome.kind, url).toBe('failure')
      expect(result.error, url).toMatch(
        /^address \S+ is not allowed \(.+\); set JOON_ALLOW_PRIVATE_URLS=1/,
      )
    }
    expect(receiver.connections).toBe(0)
  })
})
