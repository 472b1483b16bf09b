import { randomBytes, randomInt } from 'node:crypto'
import { signWebhook } from '@joon/core'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'

// Both senders sign with `signWebhook` from @joon/core: Standard Webhooks receivers verify it.

describe('signWebhook, as the Node sender signs', () => {
  it('verifies with the standardwebhooks package over random secrets, ids and bodies', async () => {
    for (let i = 0; i < 200; i++) {
      const secret = `whsec_${randomBytes(randomInt(1, 65)).toString('base64')}`
      const id = `msg_${randomBytes(8).toString('hex')}`
      const timestamp = Math.floor(Date.now() / 1000)
      const body = JSON.stringify({ n: i, text: `héllo ✓ 🎉 ${randomBytes(8).toString('hex')}` })
      const signature = await signWebhook({ secret, id, timestamp, body })
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      }
      expect(() => new StandardWebhook(secret).verify(body, headers), secret).not.toThrow()
    }
  })

  it('verifies with the standardwebhooks package', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    const timestamp = Math.floor(Date.now() / 1000)
    const body = '{"email":"a@b.c"}'
    const signature = await signWebhook({ secret, id: 'msg_2', timestamp, body })
    expect(() =>
      new StandardWebhook(secret).verify(body, {
        'webhook-id': 'msg_2',
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      }),
    ).not.toThrow()
  })
})
