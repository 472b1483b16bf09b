import { Webhook } from 'standardwebhooks'
import { describe, expect, it, vi } from 'vitest'
import {
  isValidWebhookSecret,
  signWebhook,
  verifyWebhook,
  Webhook as WebhookSchema,
} from '../src/index.js'
import * as withNodeCrypto from '../src/signature.js'

/** The module as a runtime without `node:crypto` (browsers, workers) loads it: WebCrypto only. */
async function loadWithoutNodeCrypto(): Promise<typeof withNodeCrypto> {
  vi.resetModules()
  const host = process as { getBuiltinModule?: unknown }
  const getBuiltinModule = host.getBuiltinModule
  host.getBuiltinModule = undefined
  try {
    return await import('../src/signature.js')
  } finally {
    host.getBuiltinModule = getBuiltinModule
  }
}
const withWebCryptoOnly = await loadWithoutNodeCrypto()

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const timestamp = 1614265330
const body = '{"test": 2432232314}'

describe.each([
  ['node:crypto', withNodeCrypto],
  ['WebCrypto only', withWebCryptoOnly],
])('signWebhook with %s', (runtime, { signWebhook }) => {
  it('signs text of any script the same way, through the runtime it says', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign')
    const text = '{"name":"Zoë 😀 ناصر","note":"\\ud800"}'
    const expected = new Webhook(secret).sign(id, new Date(timestamp * 1000), text)
    expect(await signWebhook({ id, timestamp, body: text, secret })).toBe(expected)
    expect(sign).toHaveBeenCalledTimes(runtime === 'WebCrypto only' ? 1 : 0)
    sign.mockRestore()
  })

  it('matches the Standard Webhooks reference vector', async () => {
    // The example from the Standard Webhooks specification.
    expect(await signWebhook({ id, timestamp, body, secret })).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    )
  })

  it('signs exactly as the standardwebhooks package, with or without the whsec_ prefix', async () => {
    const reference = new Webhook(secret)
    const expected = reference.sign(id, new Date(timestamp * 1000), body)
    expect(await signWebhook({ id, timestamp, body, secret })).toBe(expected)
    expect(await signWebhook({ id, timestamp, body, secret: secret.slice(6) })).toBe(expected)
  })

  it('derives the same key as standardwebhooks from lenient base64 (no padding, odd length)', async () => {
    for (const lenient of ['whsec_abcdef', 'whsec_abcdefg', 'whsec_abcdefghi', 'YQ==', 'YWJj']) {
      const expected = new Webhook(lenient).sign(id, new Date(timestamp * 1000), body)
      expect(await signWebhook({ id, timestamp, body, secret: lenient })).toBe(expected)
    }
  })

  it('refuses a secret that is not base64, like standardwebhooks does', async () => {
    for (const bad of ['my-secret!', 'whsec_', 'ab', 'abc====', '']) {
      expect(() => new Webhook(bad)).toThrow()
      await expect(signWebhook({ id, timestamp, body, secret: bad })).rejects.toThrow(TypeError)
      expect(isValidWebhookSecret(bad)).toBe(false)
    }
    expect(isValidWebhookSecret(secret)).toBe(true)
  })

  it('is checked when a webhook is registered', () => {
    const hook = { name: 'crm', url: 'https://api.example.com/hooks' }
    expect(WebhookSchema.safeParse({ ...hook, secret }).success).toBe(true)
    const bad = WebhookSchema.safeParse({ ...hook, secret: 'not base64!' })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.message).toBe(
      'must be "whsec_" followed by base64, as Standard Webhooks secrets are',
    )
  })
})

describe('verifyWebhook', () => {
  const now = timestamp + 10
  const headersFor = (signature: string) => ({
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  })

  it('accepts what the standardwebhooks package signs', async () => {
    const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), body)
    expect(
      await verifyWebhook({ headers: headersFor(signature), body, secret, nowSeconds: now }),
    ).toBe(true)
  })

  it('signs what the standardwebhooks package verifies', async () => {
    const nowTimestamp = Math.floor(Date.now() / 1000)
    const signature = await signWebhook({ id, timestamp: nowTimestamp, body, secret })
    const headers = { ...headersFor(signature), 'webhook-timestamp': String(nowTimestamp) }
    expect(new Webhook(secret).verify(body, headers)).toEqual({ test: 2432232314 })
  })

  it('reads a Headers object and any header case, and finds v1 among several signatures', async () => {
    const signature = await signWebhook({ id, timestamp, body, secret })
    const headers = new Headers({
      'Webhook-Id': id,
      'Webhook-Timestamp': String(timestamp),
      'Webhook-Signature': `v2,abc v1,bm90IGl0 ${signature}`,
    })
    expect(await verifyWebhook({ headers, body, secret, nowSeconds: now })).toBe(true)
    expect(
      await verifyWebhook({
        headers: {
          'WEBHOOK-ID': id,
          'Webhook-Timestamp': String(timestamp),
          'webhook-signature': [signature],
        },
        body,
        secret,
        nowSeconds: now,
      }),
    ).toBe(true)
  })

  it('rejects a changed body, another secret, a stale or future timestamp, missing headers', async () => {
    const signature = await signWebhook({ id, timestamp, body, secret })
    const headers = headersFor(signature)
    const verify = (changes: Partial<Parameters<typeof verifyWebhook>[0]>) =>
      verifyWebhook({ headers, body, secret, nowSeconds: now, ...changes })
    expect(await verify({})).toBe(true)
    expect(await verify({ body: `${body} ` })).toBe(false)
    expect(await verify({ secret: 'whsec_c2VjcmV0LXR3bw==' })).toBe(false)
    expect(await verify({ nowSeconds: timestamp + 301 })).toBe(false)
    expect(await verify({ nowSeconds: timestamp - 301 })).toBe(false)
    expect(await verify({ nowSeconds: timestamp + 301, toleranceSeconds: 600 })).toBe(true)
    expect(await verify({ headers: { ...headers, 'webhook-id': 'other' } })).toBe(false)
    expect(await verify({ headers: { ...headers, 'webhook-timestamp': 'soon' } })).toBe(false)
    expect(
      await verify({ headers: { ...headers, 'webhook-signature': signature.replace('v1', 'v2') } }),
    ).toBe(false)
    expect(await verify({ headers: { 'webhook-id': id } })).toBe(false)
  })
})
