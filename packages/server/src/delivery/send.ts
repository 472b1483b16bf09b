import { createHmac } from 'node:crypto'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { EventEmitter } from 'node:events'
import { isIP } from 'node:net'
import { performance } from 'node:perf_hooks'
import { pipeline, type Readable, type Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { Webhook } from '@joon/core'
import { type SignWebhookInput, signWebhook } from '@joon/core/webhook'
import { Agent, buildConnector } from 'undici'
import { AddressNotAllowedError, classifyAddress } from './address-guard.js'
import {
  buildRequestHeaders,
  ERROR_REPLY_LIMIT_BYTES,
  failureResult,
  parseRetryAfter,
  parseWebhookUrl,
  REPLY_LIMIT_BYTES,
  replyResult,
  type SendResult,
  type WebhookDelivery,
  type WebhookSender,
} from './protocol.js'

/**
 * The Node webhook sender, on undici. Node-only (undici, `node:dns`, `node:zlib`): the HTTP app
 * receives a `WebhookSender` by injection, so edge bundles never see this file.
 *
 * Every call: one deadline (`timeoutMs`) over DNS, connect, headers and the whole body; the
 * reply decoded here (gzip, deflate, br) and cut at 1 MiB of decoded bytes; redirects never
 * followed; and, unless `allowPrivate`, no connection to an address `classifyAddress` refuses.
 */

export type { SendResult, WebhookDelivery, WebhookSender } from './protocol.js'

/** Resolves a hostname to every address it has, like `dns.lookup(name, { all: true })`. */
export type ResolveHostname = (hostname: string) => Promise<readonly LookupAddress[]>

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

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const now = options.now ?? Date.now
  const agent = new Agent({
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
    const deadline = new Deadline()
    const timer = setTimeout(() => deadline.pass(), timeoutMs)
    let status: number | null = null
    let retryAfterMs: number | null = null
    let body: Readable | undefined
    try {
      const url = parseWebhookUrl(webhook.url)
      if (typeof url === 'string') return failureResult(url, { status, durationMs: elapsed() })
      let headers: Record<string, string>
      try {
        headers = await buildRequestHeaders(webhook, delivery, {
          userAgent: options.userAgent,
          timestampSeconds: Math.floor(now() / 1000),
          url,
          sign: signWithNodeCrypto,
        })
      } catch (error) {
        return failureResult(`cannot sign the request: ${messageOf(error)}`, {
          status,
          durationMs: elapsed(),
        })
      }

      const request = agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body: delivery.body,
        signal: deadline,
      })
      // undici only acts on an abort once the request has a connection, so a deadline that
      // passes during DNS or connect would wait for the connect timeout. The race returns at
      // the deadline; the request, aborted already, is dropped by undici when it connects.
      const response = await Promise.race([request, deadline.passed()])
      status = response.statusCode
      body = response.body
      // Errors after this point surface through reading, or do not matter (destroyed unread).
      body.on('error', () => {})
      retryAfterMs = parseRetryAfter(headerText(response.headers['retry-after']), now())
      const isSuccess = status >= 200 && status <= 299
      const location = status >= 300 && status <= 399 ? headerText(response.headers.location) : null
      const read = await readCapped(
        response.body,
        headerText(response.headers['content-encoding']),
        isSuccess ? REPLY_LIMIT_BYTES : ERROR_REPLY_LIMIT_BYTES,
        headerText(response.headers['content-length']),
      )
      if (typeof read === 'string') {
        return failureResult(read, { status, durationMs: elapsed(), retryAfterMs })
      }
      return replyResult({
        status,
        body: read.bytes,
        overflow: read.overflow,
        location: location ?? null,
        retryAfterMs,
        durationMs: elapsed(),
      })
    } catch (error) {
      const reason = deadline.aborted
        ? `timed out after ${timeoutMs} ms${status === null ? '' : ' reading the reply'}`
        : networkReason(error)
      return failureResult(reason, { status, durationMs: elapsed(), retryAfterMs })
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
      closing ??= agent.close()
      return closing
    },
  }
}

/**
 * `signWebhook` with node:crypto's HMAC: the same bytes, synchronously, in about 3 µs instead of
 * the 30 µs WebCrypto takes on Node (a thread-pool round trip per call), which matters on a
 * synchronous webhook's critical path. Only canonical base64 secrets take this path, where Node's
 * decoder and the one `signWebhook` mirrors (`@stablelib/base64`) provably agree; anything else
 * goes to `signWebhook` itself. A test compares both over many random secrets.
 */
export function signWithNodeCrypto(input: SignWebhookInput): string | Promise<string> {
  const encoded = input.secret.startsWith('whsec_') ? input.secret.slice(6) : input.secret
  if (encoded.length < 4 || !CANONICAL_BASE64.test(encoded)) return signWebhook(input)
  const key = Buffer.from(encoded, 'base64')
  if (key.byteLength === 0) return signWebhook(input)
  const mac = createHmac('sha256', key)
    .update(`${input.id}.${input.timestamp}.${input.body}`)
    .digest('base64')
  return `v1,${mac}`
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

/**
 * The connect step of every new connection. Literal IP hosts are checked as they are; hostnames
 * are resolved here, every answer is checked, and the socket is opened to a checked address
 * (TLS still verifies the certificate against the hostname). All of it happens before a socket
 * exists, so a refused address never sees a byte, and the address checked is the address
 * connected to: no second lookup for DNS rebinding to slip into.
 *
 * Answers are tried in the resolver's order, one after another when a connection fails; that
 * replaces Node's parallel "happy eyeballs", which needs a lookup inside the socket.
 */
function guardedConnector(options: {
  allowPrivate: boolean
  resolve: ResolveHostname | undefined
  timeout: number
}): buildConnector.connector {
  const connect = buildConnector({ timeout: options.timeout })
  const { allowPrivate } = options
  // Nothing to check and no resolver to honour: Node resolves, with happy eyeballs.
  if (allowPrivate && !options.resolve) return connect
  const resolve = withTimeout(options.resolve ?? resolveWithSystem, options.timeout)

  return (connectOptions, callback) => {
    const { hostname } = connectOptions
    if (isIP(hostname)) {
      const verdict = allowPrivate ? { allowed: true as const } : classifyAddress(hostname)
      if (verdict.allowed) connect(connectOptions, callback)
      else
        process.nextTick(() => callback(new AddressNotAllowedError(hostname, verdict.reason), null))
      return
    }
    resolve(hostname).then(
      (answers) => {
        if (!allowPrivate) {
          // One bad answer refuses the name: connecting to "the good one" would leave the
          // choice to whoever controls the DNS.
          for (const { address } of answers) {
            const verdict = classifyAddress(address)
            if (!verdict.allowed) {
              callback(new AddressNotAllowedError(address, verdict.reason, hostname), null)
              return
            }
          }
        }
        const addresses = answers.map((answer) => answer.address).slice(0, MAX_ADDRESSES_TRIED)
        if (addresses.length === 0) {
          callback(errorWithCode(`no address found for ${hostname}`, 'ENOTFOUND'), null)
          return
        }
        connectToFirst(addresses, 0)
      },
      (error: Error) => callback(error, null),
    )

    function connectToFirst(addresses: string[], index: number): void {
      const address = addresses[index]!
      connect({ ...connectOptions, hostname: address }, (error, socket) => {
        if (error && index + 1 < addresses.length && isUnreachable(error)) {
          connectToFirst(addresses, index + 1)
        } else if (error) {
          callback(error, null)
        } else {
          callback(null, socket!)
        }
      })
    }
  }
}

const MAX_ADDRESSES_TRIED = 4

function isUnreachable(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EADDRNOTAVAIL' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
}

/** A resolver that gives up after `ms`, so a hung DNS server cannot wedge a connection slot. */
function withTimeout(resolve: ResolveHostname, ms: number): ResolveHostname {
  return (hostname) =>
    new Promise((fulfil, reject) => {
      const timer = setTimeout(
        () => reject(errorWithCode(`DNS lookup of ${hostname} timed out`, 'ETIMEOUT')),
        ms,
      )
      resolve(hostname).then(
        (answers) => {
          clearTimeout(timer)
          fulfil(answers)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
}

function errorWithCode(message: string, code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message)
  error.code = code
  return error
}

/** Rejects when the signal aborts (never resolves). */
/**
 * A call's deadline, as the `signal` undici's `request` takes: an AbortSignal or, documented
 * as well, an EventEmitter with `aborted` and an 'abort' event. The emitter costs 0.5 µs a call
 * where an AbortController costs 4 µs on Node 20, on every webhook call.
 */
class Deadline extends EventEmitter {
  aborted = false

  pass(): void {
    this.aborted = true
    this.emit('abort')
  }

  /** Rejects once the deadline passes. */
  passed(): Promise<never> {
    return new Promise((_resolve, reject) => {
      const fail = () => reject(new Error('deadline passed'))
      if (this.aborted) fail()
      else this.once('abort', fail)
    })
  }
}

function resolveWithSystem(hostname: string): Promise<readonly LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    )
  })
}

/**
 * Reads a reply body, decoding it, until `limit` decoded bytes: past that it stops and leaves
 * the rest unread (the caller destroys the stream, closing the socket). Decoders are streams
 * that respect backpressure, so a gzip bomb never expands much beyond what is read.
 * Returns a failure reason for an encoding it cannot or may not decode.
 */
async function readCapped(
  body: Readable,
  contentEncoding: string | null,
  limit: number,
  contentLength: string | null,
): Promise<{ bytes: Uint8Array; overflow: boolean } | string> {
  const encodings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
  if (encodings.length > 3) return `too many content-encodings (${encodings.join(', ')})`
  const decoders: Transform[] = []
  // Codings are listed in the order applied, so they are undone from the last.
  for (const coding of encodings.toReversed()) {
    const decoder = createDecoder(coding)
    if (!decoder) return `unsupported content-encoding "${coding}"`
    decoders.push(decoder)
  }
  // A plain body announcing more than the cap is refused unread.
  if (decoders.length === 0 && contentLength !== null && Number(contentLength) > limit) {
    return { bytes: new Uint8Array(0), overflow: true }
  }

  const decoded: Readable =
    decoders.length === 0
      ? body
      : (pipeline([body, ...decoders], () => {
          // Errors reach `collect` through the last stream.
        }) as Transform)
  try {
    const { chunks, size, overflow } = await collect(decoded, limit)
    if (overflow) for (const decoder of decoders) decoder.destroy()
    return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), overflow }
  } catch (error) {
    if (decoders.length > 0 && isZlibError(error)) {
      return `reply could not be decoded (${encodings.join(', ')}: ${messageOf(error)})`
    }
    throw error
  }
}

/**
 * Gathers a stream's chunks up to `limit` bytes, then stops listening (the caller destroys the
 * stream). Plain listeners rather than `for await`: this is on every call's critical path, and
 * an async iterator costs several microseconds for a one-chunk reply.
 */
function collect(
  stream: Readable,
  limit: number,
): Promise<{ chunks: Buffer[]; size: number; overflow: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = () => {
      stream.pause()
      stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      if (size + chunk.byteLength > limit) {
        chunks.push(chunk.subarray(0, limit - size))
        stop()
        resolve({ chunks, size: limit, overflow: true })
        return
      }
      chunks.push(chunk)
      size += chunk.byteLength
    }
    const onEnd = () => {
      stop()
      resolve({ chunks, size, overflow: false })
    }
    const onError = (error: Error) => {
      stop()
      reject(error)
    }
    // Destroyed without an error (it should not happen, but a silent hang would be worse).
    const onClose = () => onError(new Error('the reply stream closed before its end'))
    stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
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
