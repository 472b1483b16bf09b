import { randomBytes, randomInt } from 'node:crypto'
import { type SignWebhookInput, signWebhook } from '@joon/core'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { signWithNodeCrypto } from '../../src/delivery/send.js'

// The Node sender signs with node:crypto for speed; it must give exactly the signature
// `signWebhook` gives (and Standard Webhooks receivers verify), for every secret.

function randomSecret(): string {
  const base64 = randomBytes(randomInt(1, 65)).toString('base64')
  const padding = randomInt(0, 3) === 0 ? base64.replace(/=+$/, '') : base64
  return randomInt(0, 2) === 0 ? `whsec_${padding}` : padding
}

type Signer = (input: SignWebhookInput) => string | Promise<string>

/** The signature, or the error message when the secret is refused. */
async function outcome(sign: Signer, input: SignWebhookInput) {
  return Promise.resolve()
    .then(() => sign(input))
    .then(
      (value) => ({ value }),
      (error: Error) => ({ error: error.message }),
    )
}

describe('signWithNodeCrypto', () => {
  it('matches signWebhook over random secrets, ids and bodies (unicode, lone surrogates)', async () => {
    for (let i = 0; i < 500; i++) {
      const input = {
        secret: randomSecret(),
        id: `msg_${randomBytes(8).toString('hex')}`,
        timestamp: randomInt(0, 2 ** 40),
        body: JSON.stringify({
          n: i,
          text: `héllo ✓ 🎉 \ud800 ${randomBytes(randomInt(0, 64)).toString('latin1')}`,
        }),
      }
      expect(await outcome(signWithNodeCrypto, input), input.secret).toEqual(
        await outcome(signWebhook, input),
      )
    }
  })

  it('matches on the edge forms of base64 too, or defers to signWebhook', async () => {
    const secrets = [
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'whsec_QQ==',
      'whsec_QQ',
      'whsec_QUI=',
      'whsec_QUI',
      'whsec_QR==',
      'whsec_QUJDR',
      'whsec_QUJD=',
      'QUJD',
      'whsec_Q===',
      'whsec_QU JD',
      'whsec_QUJD-_',
    ]
    for (const secret of secrets) {
      const input = { secret, id: 'msg_1', timestamp: 1_700_000_000, body: '{}' }
      expect(await outcome(signWithNodeCrypto, input), secret).toEqual(
        await outcome(signWebhook, input),
      )
    }
  })

  it('verifies with the standardwebhooks package', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    const timestamp = Math.floor(Date.now() / 1000)
    const body = '{"email":"a@b.c"}'
    const signature = await signWithNodeCrypto({ secret, id: 'msg_2', timestamp, body })
    expect(() =>
      new StandardWebhook(secret).verify(body, {
        'webhook-id': 'msg_2',
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      }),
    ).not.toThrow()
  })
})
