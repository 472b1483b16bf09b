import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { pipeline, type Readable, type Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { Webhook } from '@joon/core'
import {
  ERROR_REPLY_LIMIT_BYTES,
  failureResult,
  parseRetryAfter,
  prepareCall,
  REPLY_LIMIT_BYTES,
  readAtMost,
  replyResult,
  replyStream,
  type SendResult,
  timeoutReason,
  type WebhookDelivery,
  type WebhookSender,
  type WebhookStream,
} from '@joon/core/webhook'
import { Agent } from 'undici'
import { AddressNotAllowedError } from '../net/address-guard.js'
import { guardedConnector, type ResolveHostname } from '../net/guarded-connector.js'

/**
 * The Node webhook sender: `undici.request` through an agent whose connector refuses private
 * addresses. Node-only (undici, `node:dns`, `node:zlib`): the HTTP app receives a
 * `WebhookSender` by injection, so edge bundles never see this file.
 *
 * Every call: one deadline (`timeoutMs`) over DNS, connect, headers and the whole body; the
 * reply decoded here (gzip, deflate, br) and cut at 1 MiB of decoded bytes; redirects never
 * followed; and, unless `allowPrivate`, no connection to an address `classifyAddress` refuses.
 */

export type { SendResult, WebhookDelivery, WebhookSender } from '@joon/core/webhook'

export type { ResolveHostname } from '../net/guarded-connector.js'

export interface WebhookSenderOptions {
  /** `JOON_ALLOW_PRIVATE_URLS=1`: connect to loopback and private addresses too. */
  allowPrivate: boolean
  /** `joon/<version>`. */
  userAgent: string
  /** The clock for `webhook-timestamp` and HTTP-date `Retry-After`; durations use a monotonic one. */
  now?: () => number
  /** Longest wait for a TCP (and TLS) connection; the call's deadline applies as well. */
  connectTimeoutMs?: number
  /** DNS resolution; defaults to the system resolver. Every answer is checked all the same. */
  resolve?: ResolveHostname
}

export function createWebhookSender(
  options: WebhookSenderOptions,
): WebhookSender & { close(): Promise<void> } {
  const now = options.now ?? Date.now
  const dispatcher = new Agent({
    connect: guardedConnector({
      allowPrivate: options.allowPrivate,
      resolve: options.resolve,
      timeout: options.connectTimeoutMs ?? 10_000,
    }),
    // The call's own deadline (at most 30 s) is what bounds a call; these only keep undici from
    // cutting it short first.
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  })

  async function send(webhook: Webhook, delivery: WebhookDelivery): Promise<SendResult> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    const timeoutMs = Number.isFinite(webhook.timeoutMs) ? webhook.timeoutMs : 10_000
    const call = await prepareCall(webhook, delivery, {
      userAgent: options.userAgent,
      nowMs: now(),
    })
    if ('failure' in call)
      return failureResult(call.failure, { status: null, durationMs: elapsed() })
    // The deadline, as an EventEmitter (which undici takes as a signal): an AbortController
    // costs about 20 µs of CPU a call, as much as the rest of the request's own handling.
    const deadline = Object.assign(new EventEmitter(), { aborted: false })
    const timer = setTimeout(() => {
      deadline.aborted = true
      deadline.emit('abort')
    }, timeoutMs)
    let status: number | null = null
    let retryAfterMs: number | null = null
    let body: Readable | undefined
    let stream: WebhookStream | undefined
    try {
      // The agent's own `request` with the URL already parsed: `undici.request(url)` parses it
      // again, which costs about a third of the call's CPU.
      const response = await dispatcher.request({
        origin: call.url.origin,
        path: `${call.url.pathname}${call.url.search}`,
        method: 'POST',
        headers: call.headers,
        body: delivery.body,
        signal: deadline,
      })
      body = response.body
      // Read below (its errors reach the reader); this only keeps a late one after an abort
      // or `destroy()` from being unhandled.
      body.on('error', () => {})
      status = response.statusCode
      retryAfterMs = parseRetryAfter(headerText(response.headers['retry-after']), now())
      const location = status >= 300 && status <= 399 ? headerText(response.headers.location) : null
      const limit = status >= 200 && status <= 299 ? REPLY_LIMIT_BYTES : ERROR_REPLY_LIMIT_BYTES
      stream = replyStream(status, headerText(response.headers['content-type']), delivery)
      const read = await readCapped(response.body, response.headers, limit, stream?.push)
      if ('failure' in read) {
        return failureResult(read.failure, { status, durationMs: elapsed(), retryAfterMs, stream })
      }
      return replyResult({ status, ...read, location, retryAfterMs, durationMs: elapsed(), stream })
    } catch (error) {
      const reason = deadline.aborted ? timeoutReason(timeoutMs, status) : networkReason(error)
      return failureResult(reason, { status, durationMs: elapsed(), retryAfterMs, stream })
    } finally {
      clearTimeout(timer)
      // Whatever is left unread is abandoned: destroying it closes the connection instead of
      // returning a half-read socket to the pool.
      if (body && !body.readableEnded) body.destroy()
    }
  }

  let closing: Promise<void> | undefined
  return {
    send,
    close: () => {
      closing ??= dispatcher.close()
      return closing
    },
  }
}

/**
 * Reads a reply body, decoded (gzip, deflate, br, in the order listed), until `limit` decoded
 * bytes; past it, stops (`overflow`). A plain body announcing more than the limit is refused
 * unread. The decoders are streams that respect backpressure, so a compression bomb never
 * expands much beyond the cap.
 */
async function readCapped(
  raw: Readable,
  headers: Record<string, string | string[] | undefined>,
  limit: number,
  onChunk: ((chunk: Uint8Array) => void) | undefined,
): Promise<{ body: Uint8Array; overflow: boolean } | { failure: string }> {
  const contentEncoding = headerText(headers['content-encoding'])
  const encodings = (contentEncoding === null ? [] : contentEncoding.split(','))
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
  if (encodings.length > 3)
    return { failure: `too many content-encodings (${encodings.join(', ')})` }
  // Codings are listed in the order applied, so they are undone from the last.
  const decoders: Transform[] = []
  for (const coding of encodings.toReversed()) {
    const decoder = createDecoder(coding)
    if (!decoder) return { failure: `unsupported content-encoding "${coding}"` }
    decoders.push(decoder)
  }
  const contentLength = headerText(headers['content-length'])
  if (decoders.length === 0 && contentLength !== null && Number(contentLength) > limit) {
    return { body: new Uint8Array(0), overflow: true }
  }
  const decoded: Readable =
    decoders.length === 0 ? raw : (pipeline([raw, ...decoders], () => {}) as unknown as Readable)
  try {
    return await readAtMost(decoded, limit, onChunk)
  } catch (error) {
    if (!isZlibError(error)) throw error
    return { failure: `reply could not be decoded (${encodings.join(', ')}: ${messageOf(error)})` }
  } finally {
    for (const decoder of decoders) decoder.destroy()
  }
}

function createDecoder(coding: string): Transform | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip()
    case 'deflate':
      // RFC 9110: "deflate" is the zlib format. Raw deflate without the zlib header, sent by a
      // few old servers, fails to decode and the call fails with that reason.
      return createInflate()
    case 'br':
      return createBrotliDecompress()
    default:
      return undefined
  }
}

function isZlibError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  return Array.isArray(value) ? value.join(', ') : value
}

/** A network error as a short reason: what happened and its code. */
function networkReason(error: unknown): string {
  if (error instanceof AddressNotAllowedError) return error.message
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException
  // Happy-eyeballs failures are AggregateErrors whose own message is empty.
  const nested = error instanceof AggregateError ? messageOf(error.errors[0]) : ''
  const text = message || nested || String(error)
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEOUT':
      return `DNS lookup failed (${code}): ${text}`
    default:
      return code && !text.includes(code) ? `${text} (${code})` : text
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
