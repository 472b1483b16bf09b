import { randomBytes } from 'node:crypto'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { createWebhookSender } from '../../src/delivery/send.js'
import { hook, type Receiver, type ReceiverHandler, sendJson, startReceiver } from './receiver.js'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

async function setup(handler: ReceiverHandler, options: { now?: () => number } = {}) {
  const receiver = await startReceiver(handler)
  const sender = createWebhookSender({ allowPrivate: true, userAgent: 'joon/9.9.9', ...options })
  closers.push(receiver.close, () => sender.close())
  return { receiver, sender }
}

const delivery = {
  id: 'msg_2b9s6Tq1',
  body: '{"email":"nicolas@joonbot.com","conversation":"Bot: Hi\\n"}',
}

describe('reply shapes (contract §3, synchronous)', () => {
  it('2xx with `responses`: the instructions, in order, other keys ignored', async () => {
    const { receiver, sender } = await setup((_req, res) =>
      sendJson(res, 200, {
        responses: [
          {
            type: 'text',
            delay: 2000,
            elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
          },
        ],
        ignored: true,
      }),
    )
    const result = await sender.send(hook(`${receiver.url}/hooks`), delivery)
    expect(result).toMatchObject({ status: 200, error: null, retryAfterMs: null })
    expect(result.outcome).toEqual({
      kind: 'responses',
      responses: [
        {
          type: 'text',
          delay: 2000,
          elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
        },
      ],
      skipped: 0,
    })
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('2xx with an object without `responses`: every key to merge', async () => {
    const { receiver, sender } = await setup((_req, res) =>
      sendJson(res, 201, { delivery_status: 'shipped', eta: { days: 2 } }),
    )
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({
      kind: 'merge',
      variables: [
        ['delivery_status', 'shipped'],
        ['eta', { days: 2 }],
      ],
    })
    expect(result.status).toBe(201)
  })

  it('2xx with an empty body, and 204: nothing to do', async () => {
    const { receiver, sender } = await setup((req, res) => {
      res.writeHead(req.url === '/204' ? 204 : 200).end()
    })
    for (const path of ['/200', '/204']) {
      const result = await sender.send(hook(receiver.url + path), delivery)
      expect(result.outcome).toEqual({ kind: 'none' })
      expect(result.error).toBeNull()
    }
  })

  it('500: a failure whose log excerpt starts with the reply, control characters removed', async () => {
    const { receiver, sender } = await setup((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`boom\u001b[31m\r\nstack: ${'x'.repeat(100_000)}`)
    })
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({ kind: 'failure', reason: 'HTTP 500' })
    expect(result.status).toBe(500)
    expect(result.error).toMatch(/^HTTP 500; reply: boom \[31m stack: xxxx/)
    expect(Buffer.byteLength(result.error ?? '')).toBeLessThanOrEqual(2048)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(result.error).not.toMatch(/[\u0000-\u001f\u007f]/)
  })

  it('non-JSON, a JSON array and JSON null are failures with an excerpt', async () => {
    const bodies: Record<string, string> = {
      '/text': 'hello <b>world</b>',
      '/array': '[1,2]',
      '/null': 'null',
    }
    const { receiver, sender } = await setup((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(bodies[req.url ?? ''])
    })
    const text = await sender.send(hook(`${receiver.url}/text`), delivery)
    expect(text.outcome).toEqual({ kind: 'failure', reason: 'invalid JSON' })
    expect(text.error).toBe('invalid JSON; reply: hello <b>world</b>')
    const array = await sender.send(hook(`${receiver.url}/array`), delivery)
    expect(array.outcome).toEqual({
      kind: 'failure',
      reason: 'reply is a JSON array, not an object',
    })
    expect(array.status).toBe(200)
    const nul = await sender.send(hook(`${receiver.url}/null`), delivery)
    expect(nul.outcome.kind).toBe('failure')
  })

  it('`__proto__`, `constructor` and `prototype` keys are dropped and pollute nothing', async () => {
    const { receiver, sender } = await setup((_req, res) => {
      res
        .writeHead(200)
        .end(
          '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":1,"ok":{"__proto__":{"polluted":"yes"},"a":1}}',
        )
    })
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome.kind).toBe('merge')
    if (result.outcome.kind !== 'merge') return
    expect(result.outcome.variables.map(([name]) => name)).toEqual(['ok'])
    expect(JSON.stringify(result.outcome.variables)).toBe('[["ok",{"a":1}]]')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('decodes gzip, deflate and br replies', async () => {
    const json = Buffer.from('{"decoded":true}')
    const encoded: Record<string, Buffer> = {
      gzip: gzipSync(json),
      deflate: deflateSync(json),
      br: brotliCompressSync(json),
      'gzip, br': brotliCompressSync(gzipSync(json)),
    }
    const { receiver, sender } = await setup((req, res) => {
      const coding = decodeURIComponent((req.url ?? '/').slice(1))
      res.writeHead(200, { 'content-encoding': coding }).end(encoded[coding])
    })
    for (const coding of Object.keys(encoded)) {
      const result = await sender.send(
        hook(`${receiver.url}/${encodeURIComponent(coding)}`),
        delivery,
      )
      expect(result.outcome, coding).toEqual({ kind: 'merge', variables: [['decoded', true]] })
    }
  })
})

describe('the request (contract §3, "Request")', () => {
  it('POSTs the body with configured headers, protocol headers and a signature Standard Webhooks verifies', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    const { receiver, sender } = await setup((_req, res) => res.writeHead(204).end())
    const webhook = hook(`${receiver.url}/hooks?source=joon#fragment`, {
      headers: { 'X-Api-Key': 'abc', Authorization: 'Bearer t0k3n' },
      secret,
    })
    const before = Math.floor(Date.now() / 1000)
    await sender.send(webhook, delivery)
    await sender.send(webhook, delivery)
    const after = Math.floor(Date.now() / 1000)

    expect(receiver.requests).toHaveLength(2)
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST')
      expect(request.url).toBe('/hooks?source=joon')
      expect(request.body).toBe(delivery.body)
      const { headers } = request
      expect(headers['x-api-key']).toBe('abc')
      expect(headers.authorization).toBe('Bearer t0k3n')
      expect(headers['content-type']).toBe('application/json')
      expect(headers['content-length']).toBe(String(Buffer.byteLength(delivery.body)))
      expect(headers['user-agent']).toBe('joon/9.9.9')
      expect(headers['webhook-id']).toBe(delivery.id)
      const timestamp = Number(headers['webhook-timestamp'])
      expect(timestamp).toBeGreaterThanOrEqual(before)
      expect(timestamp).toBeLessThanOrEqual(after)
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
      // The reference implementation accepts it (it throws otherwise).
      new StandardWebhook(secret).verify(request.body, {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      })
    }
  })

  it('stamps each attempt with a fresh timestamp and signature, the same webhook-id', async () => {
    let clock = 1_700_000_000_000
    const secret = `whsec_${randomBytes(24).toString('base64')}`
    const { receiver, sender } = await setup((_req, res) => res.writeHead(500).end(), {
      now: () => clock,
    })
    await sender.send(hook(receiver.url, { secret }), delivery)
    clock += 5_000
    await sender.send(hook(receiver.url, { secret }), delivery)
    const [first, second] = receiver.requests
    expect(first?.headers['webhook-id']).toBe(delivery.id)
    expect(second?.headers['webhook-id']).toBe(delivery.id)
    expect(first?.headers['webhook-timestamp']).toBe('1700000000')
    expect(second?.headers['webhook-timestamp']).toBe('1700000005')
    expect(first?.headers['webhook-signature']).not.toBe(second?.headers['webhook-signature'])
  })

  it('without a secret, sends no signature', async () => {
    const { receiver, sender } = await setup((_req, res) => res.writeHead(204).end())
    await sender.send(hook(receiver.url), delivery)
    expect(receiver.requests[0]?.headers).not.toHaveProperty('webhook-signature')
    expect(receiver.requests[0]?.headers['webhook-timestamp']).toMatch(/^\d+$/)
  })

  it('configured headers cannot override the protocol headers (they are dropped)', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`
    const { receiver, sender } = await setup((_req, res) => res.writeHead(204).end())
    const result = await sender.send(
      hook(receiver.url, {
        secret,
        headers: {
          'Content-Type': 'text/plain',
          'User-Agent': 'evil/1.0',
          'Webhook-Id': 'forged',
          'webhook-timestamp': '1',
          'WEBHOOK-SIGNATURE': 'v1,forged',
          Host: 'evil.example',
          'Content-Length': '1',
          'Transfer-Encoding': 'chunked',
          Connection: 'close',
          Expect: '100-continue',
          'X-Kept': 'yes',
        },
      }),
      delivery,
    )
    expect(result.outcome).toEqual({ kind: 'none' })
    const headers = receiver.requests[0]?.headers ?? {}
    expect(headers['content-type']).toBe('application/json')
    expect(headers['user-agent']).toBe('joon/9.9.9')
    expect(headers['webhook-id']).toBe(delivery.id)
    expect(headers['webhook-timestamp']).not.toBe('1')
    expect(headers['webhook-signature']).not.toContain('forged')
    expect(headers.host).toBe(`127.0.0.1:${receiver.port}`)
    expect(headers['x-kept']).toBe('yes')
    expect(receiver.requests[0]?.body).toBe(delivery.body)
  })

  it('sends URL credentials as Basic auth', async () => {
    const { receiver, sender } = await setup((_req, res) => res.writeHead(204).end())
    await sender.send(hook(`http://us%40er:p%3Ass@127.0.0.1:${receiver.port}/`), delivery)
    expect(receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
    )
  })
})

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', async () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT')
    const values: Record<string, string> = {
      '/seconds': '120',
      '/date': 'Sun, 06 Nov 1994 08:50:07 GMT',
      '/past': 'Sun, 06 Nov 1994 08:00:00 GMT',
      '/asctime': 'Sun Nov  6 08:49:47 1994',
      '/junk': 'soon',
    }
    const { receiver, sender } = await setup(
      (req, res) => res.writeHead(503, { 'retry-after': values[req.url ?? ''] ?? '' }).end(),
      { now: () => now },
    )
    const retryAfter = async (path: string) =>
      (await sender.send(hook(receiver.url + path), delivery)).retryAfterMs
    expect(await retryAfter('/seconds')).toBe(120_000)
    expect(await retryAfter('/date')).toBe(30_000)
    expect(await retryAfter('/past')).toBe(0)
    expect(await retryAfter('/asctime')).toBe(10_000)
    expect(await retryAfter('/junk')).toBeNull()
  })

  it('is reported with 429 as well, and absent gives null', async () => {
    const { receiver, sender } = await setup((req, res) =>
      req.url === '/429'
        ? res.writeHead(429, { 'retry-after': '7' }).end('slow down')
        : res.writeHead(503).end(),
    )
    const limited = await sender.send(hook(`${receiver.url}/429`), delivery)
    expect(limited).toMatchObject({
      status: 429,
      retryAfterMs: 7000,
      error: 'HTTP 429; reply: slow down',
    })
    expect((await sender.send(hook(`${receiver.url}/503`), delivery)).retryAfterMs).toBeNull()
  })
})

describe('redirects', () => {
  it('a 302 to 127.0.0.1 is a failure and the target never sees a connection', async () => {
    const target = await startReceiver((_req, res) => sendJson(res, 200, { stolen: true }))
    closers.push(target.close)
    const { receiver, sender } = await setup((_req, res) =>
      res.writeHead(302, { location: `${target.url}/latest/meta-data/` }).end(),
    )
    const result = await sender.send(hook(receiver.url), delivery)
    expect(result.outcome).toEqual({
      kind: 'failure',
      reason: 'HTTP 302 (redirects are not followed)',
    })
    expect(result.status).toBe(302)
    expect(result.error).toBe(
      `HTTP 302 (redirects are not followed); location: ${target.url}/latest/meta-data/`,
    )
    for (const status of [301, 303, 307, 308]) {
      const other = await setup((_req, res) =>
        res.writeHead(status, { location: target.url }).end(),
      )
      const reply = await other.sender.send(hook(other.receiver.url), delivery)
      expect(reply.outcome).toEqual({
        kind: 'failure',
        reason: `HTTP ${status} (redirects are not followed)`,
      })
    }
    expect(target.connections).toBe(0)
  })
})

describe('connections', () => {
  it('keeps connections alive: ten calls, one connection', async () => {
    const { receiver, sender } = await setup((_req, res) => sendJson(res, 200, { n: 1 }))
    for (let i = 0; i < 10; i++) {
      expect((await sender.send(hook(receiver.url), delivery)).outcome.kind).toBe('merge')
      // undici frees a connection for the next request on setImmediate; a call made in the same
      // tick as the previous reply ended opens a second one (still reused afterwards).
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(receiver.connections).toBe(1)
    for (let i = 0; i < 10; i++) await sender.send(hook(receiver.url), delivery)
    expect(receiver.connections).toBeLessThanOrEqual(2)
  })

  it('never throws: bad URLs, unusable secrets, refused connections, a closed sender', async () => {
    const { receiver, sender } = await setup((_req, res) => res.writeHead(204).end())
    const cases = [
      hook('not a url'),
      hook('ftp://127.0.0.1/'),
      hook(receiver.url, { secret: 'not base64!' }),
      hook(receiver.url, { headers: { 'bad header': 'x' } }),
    ]
    for (const webhook of cases) {
      const result = await sender.send(webhook, delivery)
      expect(result.outcome.kind, webhook.url).toBe('failure')
      expect(result.status).toBeNull()
      expect(result.error).toBeTruthy()
    }
    expect((await sender.send(hook('not a url'), delivery)).error).toBe('invalid URL')
    expect(
      (await sender.send(hook(receiver.url, { secret: 'not base64!' }), delivery)).error,
    ).toMatch(/^cannot sign the request: /)

    const gone: Receiver = await startReceiver(() => {})
    await gone.close()
    const refused = await sender.send(hook(gone.url), delivery)
    expect(refused).toMatchObject({ status: null, outcome: { kind: 'failure' } })
    expect(refused.error).toContain('ECONNREFUSED')

    await sender.close()
    const closed = await sender.send(hook(receiver.url), delivery)
    expect(closed.outcome.kind).toBe('failure')
  })
})
