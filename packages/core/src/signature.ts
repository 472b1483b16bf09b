/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com) on WebCrypto, so they work in
 * Node, browsers and workers alike. The receiving end of a Joon webhook can verify calls with
 * `verifyWebhook` alone, or with any Standard Webhooks library.
 */

const SECRET_PREFIX = 'whsec_'
const encoder = new TextEncoder()

export interface SignWebhookInput {
  /** The `webhook-id` header: the same on every retry of one delivery. */
  id: string
  /** The `webhook-timestamp` header, in unix seconds. */
  timestamp: number
  /** The exact body text sent. */
  body: string
  /** `whsec_` followed by base64 (the prefix is optional). */
  secret: string
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
 *
 * The secret is read exactly as the `standardwebhooks` npm package reads it: an optional
 * `whsec_` prefix is removed and the rest is base64-decoded into the HMAC key. A secret that
 * package would refuse (characters outside the base64 alphabet, fewer than 4 characters, more
 * than two `=`, or an empty key) makes this reject with a TypeError instead of signing with a
 * key no receiver could reproduce; check secrets up front with `isValidWebhookSecret` (the
 * `Webhook` schema does).
 */
export async function signWebhook({
  id,
  timestamp,
  body,
  secret,
}: SignWebhookInput): Promise<string> {
  if (nodeCrypto) {
    const key = secretKeyBytes(secret)
    if (key.byteLength === 0) throw new TypeError('webhook secret is empty')
    return `v1,${nodeCrypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
  }
  const key = await importKey(secret)
  const signature = await crypto.subtle.sign('HMAC', key, signedContent(id, timestamp, body))
  return `v1,${encodeBase64(new Uint8Array(signature))}`
}

/** The part of `node:crypto` that `signWebhook` uses. */
interface NodeCrypto {
  createHmac(
    algorithm: 'sha256',
    key: Uint8Array,
  ): { update(text: string): { digest(encoding: 'base64'): string } }
}

/**
 * `node:crypto` where the runtime has it (Node 20.16+, Deno, Bun): its HMAC runs at once,
 * where WebCrypto's `sign` is a job on Node's thread pool that costs the sender about 25 µs of
 * CPU a call, a sixth of all a delivery costs. Both give the same signature.
 */
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined

/** Headers as a `Headers` object or a plain record (e.g. Node's `IncomingHttpHeaders`). */
export type HeadersLike = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

export interface VerifyWebhookInput {
  headers: HeadersLike
  body: string
  secret: string
  /** Largest accepted distance between `webhook-timestamp` and now, in seconds. Default 300. */
  toleranceSeconds?: number
  /** The current time in unix seconds; defaults to the system clock. */
  nowSeconds?: number
}

/**
 * True when the `webhook-signature` header holds a `v1` signature of this body made with this
 * secret, and `webhook-timestamp` is within the tolerance. Missing or malformed headers give
 * false; an unusable secret rejects with a TypeError, as in `signWebhook`.
 */
export async function verifyWebhook({
  headers,
  body,
  secret,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
}: VerifyWebhookInput): Promise<boolean> {
  const key = await importKey(secret)
  const id = headerValue(headers, 'webhook-id')
  const timestampText = headerValue(headers, 'webhook-timestamp')
  const signatures = headerValue(headers, 'webhook-signature')
  if (!id || !timestampText || !signatures || !/^\d{1,15}$/.test(timestampText)) return false
  const timestamp = Number(timestampText)
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false

  const expected = encodeBase64(
    new Uint8Array(await crypto.subtle.sign('HMAC', key, signedContent(id, timestamp, body))),
  )
  let matched = false
  for (const candidate of signatures.split(' ')) {
    const comma = candidate.indexOf(',')
    if (comma === -1 || candidate.slice(0, comma) !== 'v1') continue
    // Every candidate is compared in full, so timing tells nothing about which one matched.
    if (constantTimeEqual(candidate.slice(comma + 1), expected)) matched = true
  }
  return matched
}

/** True when `signWebhook` and the `standardwebhooks` package accept this secret. */
export function isValidWebhookSecret(secret: string): boolean {
  try {
    return secretKeyBytes(secret).byteLength > 0
  } catch {
    return false
  }
}

function signedContent(id: string, timestamp: number, body: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${id}.${timestamp}.${body}`)
}

// Named through `crypto` rather than the DOM's `CryptoKey`, so hosts compiling this source
// without the DOM lib (Node-only tsconfigs) typecheck too.
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/**
 * Imported keys of the last few hundred secrets: a sender signs with the same few again and
 * again, and each import is an asynchronous round trip of its own (on Node, through the
 * thread pool), as long as the signing itself.
 */
const importedKeys = new Map<string, Promise<HmacKey>>()

function importKey(secret: string): Promise<HmacKey> {
  let key = importedKeys.get(secret)
  if (!key) {
    if (importedKeys.size >= 256) importedKeys.clear()
    key = importNewKey(secret)
    importedKeys.set(secret, key)
    // A secret that cannot be used is not kept: each call reports it again.
    key.catch(() => importedKeys.delete(secret))
  }
  return key
}

async function importNewKey(secret: string): Promise<HmacKey> {
  const bytes = secretKeyBytes(secret)
  if (bytes.byteLength === 0) throw new TypeError('webhook secret is empty')
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

function secretKeyBytes(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  return decodeBase64AsStablelib(encoded)
}

/**
 * Base64 decoding with the exact leniency of `@stablelib/base64`, which `standardwebhooks` uses:
 * padding is optional but at most two `=`, input shorter than 4 characters is refused (unless
 * empty), and a dangling final character is ignored. Matching it keeps Joon's key identical to
 * the one any Standard Webhooks receiver derives from the same secret.
 */
function decodeBase64AsStablelib(text: string): Uint8Array<ArrayBuffer> {
  if (text.length === 0) return new Uint8Array(0)
  let padding = 0
  while (padding < text.length && text[text.length - 1 - padding] === '=') padding++
  if (text.length < 4 || padding > 2) throw new TypeError('webhook secret is not valid base64')
  const length = text.length - padding
  const values: number[] = []
  // A final group of one character carries fewer than 8 bits; stablelib drops it unchecked.
  const usable = length % 4 === 1 ? length - 1 : length
  for (let i = 0; i < usable; i++) {
    const value = BASE64_ALPHABET.indexOf(text[i] ?? '')
    if (value === -1) throw new TypeError('webhook secret is not valid base64')
    values.push(value)
  }
  const bytes = new Uint8Array(Math.floor((usable * 6) / 8))
  let bits = 0
  let buffer = 0
  let index = 0
  for (const value of values) {
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes[index++] = (buffer >> bits) & 0xff
    }
  }
  return bytes
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function encodeBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}

function headerValue(headers: HeadersLike, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    return headers.get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() !== name) continue
    const value = record[key]
    // Repeated headers arrive as an array in Node; joining keeps every signature candidate.
    return typeof value === 'string' ? value : value?.join(' ')
  }
  return undefined
}
