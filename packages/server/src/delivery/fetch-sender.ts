import type { Webhook } from '@joon/core'
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
 * A webhook sender on the platform's `fetch`, for edge runtimes: Web APIs only. Same protocol as
 * the Node sender (headers, signature, one deadline over the whole call, 1 MiB decoded cap,
 * redirects not followed), with one difference: `fetch` cannot pin the address it connects to,
 * so only literal IP hosts (and `localhost`) are checked here. Edge platforms (Cloudflare
 * Workers, Deno Deploy, Vercel Edge) do not route to private networks anyway; on a platform that
 * does, use the Node sender.
 */
export function createFetchSender(
  fetchImpl: typeof fetch,
  options: {
    userAgent: string
    /** Skip the literal-address check (local development on Bun or Deno). */
    allowPrivate?: boolean
    now?: () => number
  },
): WebhookSender {
  const now = options.now ?? Date.now

  async function send(webhook: Webhook, delivery: WebhookDelivery): Promise<SendResult> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    const timeoutMs = Number.isFinite(webhook.timeoutMs) ? webhook.timeoutMs : 10_000
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), timeoutMs)
    let status: number | null = null
    let retryAfterMs: number | null = null
    try {
      const url = parseWebhookUrl(webhook.url)
      if (typeof url === 'string') return failureResult(url, { status, durationMs: elapsed() })
      const refusal = options.allowPrivate ? null : refusedHost(url.hostname)
      if (refusal) return failureResult(refusal, { status, durationMs: elapsed() })
      let headers: Record<string, string>
      try {
        headers = await buildRequestHeaders(webhook, delivery, {
          userAgent: options.userAgent,
          timestampSeconds: Math.floor(now() / 1000),
          url,
        })
      } catch (error) {
        return failureResult(`cannot sign the request: ${messageOf(error)}`, {
          status,
          durationMs: elapsed(),
        })
      }
      const target = new URL(url)
      target.username = ''
      target.password = ''
      target.hash = ''
      const response = await fetchImpl(target, {
        method: 'POST',
        headers,
        body: delivery.body,
        redirect: 'manual',
        signal: deadline.signal,
      })
      // Browsers hide a manual redirect behind status 0 ("opaqueredirect").
      if (response.type === 'opaqueredirect' || response.status === 0) {
        return failureResult('redirect (redirects are not followed)', {
          status: null,
          durationMs: elapsed(),
        })
      }
      status = response.status
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now())
      const isSuccess = status >= 200 && status <= 299
      // fetch has already undone any content-encoding, so the cap counts decoded bytes.
      const read = await readCapped(
        response.body,
        isSuccess ? REPLY_LIMIT_BYTES : ERROR_REPLY_LIMIT_BYTES,
      )
      return replyResult({
        status,
        body: read.bytes,
        overflow: read.overflow,
        location: status >= 300 && status <= 399 ? response.headers.get('location') : null,
        retryAfterMs,
        durationMs: elapsed(),
      })
    } catch (error) {
      const reason = deadline.signal.aborted
        ? `timed out after ${timeoutMs} ms${status === null ? '' : ' reading the reply'}`
        : `network error: ${messageOf(error)}`
      return failureResult(reason, { status, durationMs: elapsed(), retryAfterMs })
    } finally {
      clearTimeout(timer)
    }
  }

  return { send, close: async () => {} }
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<{ bytes: Uint8Array; overflow: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), overflow: false }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let overflow = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (size + value.byteLength > limit) {
        chunks.push(value.subarray(0, limit - size))
        size = limit
        overflow = true
        break
      }
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    if (overflow) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return { bytes, overflow }
}

function refusedHost(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return new AddressNotAllowedError(host, 'loopback').message
  }
  // Only literal addresses: WHATWG URL parsing already turned `127.1` and `0x7f.1` into
  // dotted IPv4, and bracketed IPv6 into its canonical text.
  if (!/^[\d.]+$/.test(host) && !host.includes(':')) return null
  const verdict = classifyAddress(host)
  return verdict.allowed ? null : new AddressNotAllowedError(host, verdict.reason).message
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
