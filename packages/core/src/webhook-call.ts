import type { Instruction, Webhook } from './schema.js'
import { signWebhook } from './signature.js'
import type { WebhookOutcome } from './types.js'
import { MAX_REPLY_BYTES, parseWebhookReply } from './webhook-reply.js'
import { streamFormatOf, WebhookStream } from './webhook-stream.js'

/**
 * The parts of a webhook call that do not depend on the HTTP client: the request headers, the
 * reading of a reply into an outcome, the delivery-log excerpt and `Retry-After`. Pure (Web
 * APIs only): the server's Node and fetch senders use them, and so can anyone's own sender.
 */

/** What one call produced. Never thrown: every failure is an outcome. */
export interface SendResult {
  outcome: WebhookOutcome
  /** The HTTP status when headers arrived, else null (refused, network error, timeout). */
  status: number | null
  durationMs: number
  /** For the delivery log: the failure and the start of the reply, at most 2 KB; else null. */
  error: string | null
  /** The reply's `Retry-After` (seconds or HTTP date) in ms from now, else null. */
  retryAfterMs: number | null
}

/** One delivery: `id` is the `webhook-id` header, the same on every attempt. */
export interface WebhookDelivery {
  id: string
  /** The exact JSON text to POST. */
  body: string
  /** Receives each instruction of a streamed reply (`WebhookStream`) as it arrives. */
  onInstruction?: (instruction: Instruction) => void
}

/** The one client every webhook call goes through, sync or async. */
export interface WebhookSender {
  send(webhook: Webhook, delivery: WebhookDelivery): Promise<SendResult>
  /** Closes kept-alive connections; in-flight calls finish first. */
  close?(): Promise<void>
}

/** The cap on the decoded reply of a 2xx (contract §3). */
export const REPLY_LIMIT_BYTES = MAX_REPLY_BYTES
/** Non-2xx replies are failures whatever they say; read just enough for the excerpt. */
export const ERROR_REPLY_LIMIT_BYTES = 64 * 1024
/** The delivery log keeps at most this much of an error, in UTF-8 bytes. */
export const ERROR_EXCERPT_BYTES = 2048

/**
 * Headers Joon owns. A webhook's configured headers cannot set them: they are dropped, not
 * refused, so a webhook registered before a name joined this list keeps working, and the
 * receiver always sees exactly what the protocol promises (a configured `webhook-signature` or
 * `content-length` would otherwise forge or break the call). Hop-by-hop headers are dropped for
 * the same reason: they describe the connection, which is the sender's business.
 */
const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'user-agent',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
])

/** True for a header name a webhook's configuration cannot set (case-insensitive). */
export function isProtocolHeader(name: string): boolean {
  return PROTOCOL_HEADERS.has(name.toLowerCase())
}

/** The request headers of one attempt; rejects only if the secret is unusable. */
export async function buildRequestHeaders(
  webhook: Webhook,
  delivery: WebhookDelivery,
  options: {
    userAgent: string
    timestampSeconds: number
    url: URL
  },
): Promise<Record<string, string>> {
  const headers: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(webhook.headers ?? {})) {
    if (!isProtocolHeader(name)) headers[name.toLowerCase()] = value
  }
  // Credentials in the URL (https://user:pass@host/) are what a user would expect to work;
  // neither undici's origin nor fetch sends them, so they become Basic auth here.
  if ((options.url.username || options.url.password) && headers.authorization === undefined) {
    const credentials = `${safeDecode(options.url.username)}:${safeDecode(options.url.password)}`
    headers.authorization = `Basic ${base64(credentials)}`
  }
  headers['content-type'] = 'application/json'
  headers['user-agent'] = options.userAgent
  headers['webhook-id'] = delivery.id
  headers['webhook-timestamp'] = String(options.timestampSeconds)
  if (webhook.secret !== undefined) {
    headers['webhook-signature'] = await signWebhook({
      id: delivery.id,
      timestamp: options.timestampSeconds,
      body: delivery.body,
      secret: webhook.secret,
    })
  }
  return headers
}

/**
 * What a sender needs before it calls: the URL (credentials become Basic auth in the headers)
 * and the headers, or why the call cannot be made.
 */
export async function prepareCall(
  webhook: Webhook,
  delivery: WebhookDelivery,
  options: { userAgent: string; nowMs: number },
): Promise<{ url: URL; headers: Record<string, string> } | { failure: string }> {
  const url = parseWebhookUrl(webhook.url)
  if (typeof url === 'string') return { failure: url }
  try {
    const timestampSeconds = Math.floor(options.nowMs / 1000)
    const { userAgent } = options
    return {
      url,
      headers: await buildRequestHeaders(webhook, delivery, { userAgent, timestampSeconds, url }),
    }
  } catch (error) {
    return {
      failure: `cannot sign the request: ${error instanceof Error ? error.message : String(error)}`,
    }
  }
}

/** The URL without credentials (they went into the headers) or fragment: what is called. */
export function callTarget(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`
}

/** Why a call that ran past its deadline failed. */
export function timeoutReason(timeoutMs: number, status: number | null): string {
  return `timed out after ${timeoutMs} ms${status === null ? '' : ' reading the reply'}`
}

/**
 * Reads a body's chunks until `limit` bytes; past it, stops and says so (`overflow`). Each
 * chunk kept is also handed to `onChunk` as it arrives (a `WebhookStream`'s `push`).
 */
export async function readAtMost(
  chunks: AsyncIterable<Uint8Array>,
  limit: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<{ body: Uint8Array; overflow: boolean }> {
  const parts: Uint8Array[] = []
  let size = 0
  let overflow = false
  for await (const chunk of chunks) {
    if (size + chunk.byteLength > limit) {
      parts.push(chunk.subarray(0, limit - size))
      size = limit
      overflow = true
      break
    }
    parts.push(chunk)
    onChunk?.(chunk)
    size += chunk.byteLength
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    body.set(part, offset)
    offset += part.byteLength
  }
  return { body, overflow }
}

/** The URL to call, or the reason it cannot be called. */
export function parseWebhookUrl(text: string): URL | string {
  const url = URL.parse(text)
  if (!url) return 'invalid URL'
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `unsupported URL scheme ${url.protocol}`
  }
  return url
}

/**
 * The reader of a reply that streams (a 2xx `text/event-stream` or `application/x-ndjson`),
 * to feed with `readAtMost`'s `onChunk`; undefined for any other reply.
 */
export function replyStream(
  status: number,
  contentType: string | null,
  delivery: WebhookDelivery,
): WebhookStream | undefined {
  const format = status >= 200 && status <= 299 ? streamFormatOf(contentType) : null
  return format ? new WebhookStream(format, delivery.onInstruction) : undefined
}

/** A reply that arrived in full (or up to a cap), turned into a result. */
export function replyResult(reply: {
  status: number
  body: Uint8Array
  /** The reply went past its cap; `body` holds its start. */
  overflow: boolean
  location: string | null
  retryAfterMs: number | null
  durationMs: number
  /** The reader the reply streamed into (`replyStream`), if it streamed. */
  stream?: WebhookStream | undefined
}): SendResult {
  const { status, body, stream } = reply
  let outcome: WebhookOutcome
  if (status >= 300 && status <= 399) {
    outcome = failure(`HTTP ${status} (redirects are not followed)`)
  } else if (reply.overflow && status >= 200 && status <= 299) {
    const reason = 'reply larger than 1 MiB (decoded)'
    outcome = stream ? stream.cut(reason) : failure(reason)
  } else {
    outcome = stream ? stream.finish() : parseWebhookReply({ status, body })
  }
  let error: string | null = null
  if (outcome.kind === 'failure') {
    const location = reply.location === null ? '' : `; location: ${reply.location}`
    error = excerpt(`${outcome.reason}${location}`, body)
  }
  return {
    outcome,
    status,
    durationMs: reply.durationMs,
    error,
    retryAfterMs: reply.retryAfterMs,
  }
}

/** A call that ended without a usable reply (keeping what a streamed one had said). */
export function failureResult(
  reason: string,
  options: {
    status: number | null
    durationMs: number
    retryAfterMs?: number | null
    stream?: WebhookStream | undefined
  },
): SendResult {
  return {
    outcome: options.stream ? options.stream.cut(reason) : failure(reason),
    status: options.status,
    durationMs: options.durationMs,
    error: excerpt(reason, null),
    retryAfterMs: options.retryAfterMs ?? null,
  }
}

function failure(reason: string): WebhookOutcome {
  return { kind: 'failure', reason }
}

/**
 * `reason` and the start of the reply as one line of printable text, at most 2 KB of UTF-8.
 * Control characters (terminal escapes, NULs, line breaks) become spaces, so a log viewer or
 * terminal shows what the receiver said and nothing it tried to do.
 */
export function excerpt(reason: string, body: Uint8Array | null): string {
  let text = sanitise(reason)
  if (body && body.byteLength > 0) {
    const start = new TextDecoder('utf-8', { fatal: false }).decode(
      body.subarray(0, ERROR_EXCERPT_BYTES),
    )
    const reply = sanitise(start)
    if (reply !== '') text += `; reply: ${reply}`
  }
  return truncateUtf8(text, ERROR_EXCERPT_BYTES)
}

function sanitise(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  )
}

const encoder = new TextEncoder()

function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || encoder.encode(text).byteLength <= maxBytes) return text
  const ellipsis = '…' // 3 bytes
  const bytes = encoder.encode(text).subarray(0, maxBytes - 3)
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  return `${new TextDecoder().decode(bytes).replace(/\ufffd$/, '')}${ellipsis}`
}

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * A date in the past gives 0; anything unparseable gives null.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value == null) return null
  const text = value.trim()
  if (/^\d+$/.test(text)) {
    const seconds = Number(text)
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : null
  }
  // Date.parse accepts far more than HTTP dates; insist on IMF-fixdate (`Sun, 06 Nov 1994
  // 08:49:37 GMT`) or the two obsolete forms RFC 9110 still asks recipients to read.
  let date: string
  if (/^[A-Za-z]{3,9}, [\dA-Za-z -]+ \d{2}:\d{2}:\d{2} GMT$/.test(text)) date = text
  else if (/^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(text))
    date = `${text} GMT`
  else return null
  const at = Date.parse(date)
  if (Number.isNaN(at)) return null
  return Math.max(0, at - nowMs)
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function base64(text: string): string {
  let binary = ''
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}
