import type { Webhook } from '@joon/core'
import {
  callTarget,
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
import { refusedUrlHost } from '../net/address-guard.js'

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
    let stream: WebhookStream | undefined
    try {
      const call = await prepareCall(webhook, delivery, {
        userAgent: options.userAgent,
        nowMs: now(),
      })
      if ('failure' in call) return failureResult(call.failure, { status, durationMs: elapsed() })
      const refusal = options.allowPrivate ? null : refusedUrlHost(call.url.hostname)
      if (refusal) return failureResult(refusal, { status, durationMs: elapsed() })
      const response = await fetchImpl(callTarget(call.url), {
        method: 'POST',
        headers: call.headers,
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
      const limit = isSuccess ? REPLY_LIMIT_BYTES : ERROR_REPLY_LIMIT_BYTES
      stream = replyStream(status, response.headers.get('content-type'), delivery)
      const read = response.body ? await readAtMost(response.body, limit, stream?.push) : empty
      // What is left unread is abandoned.
      if (read.overflow) await response.body?.cancel().catch(() => {})
      return replyResult({
        status,
        ...read,
        location: status >= 300 && status <= 399 ? response.headers.get('location') : null,
        retryAfterMs,
        durationMs: elapsed(),
        stream,
      })
    } catch (error) {
      const reason = deadline.signal.aborted
        ? timeoutReason(timeoutMs, status)
        : `network error: ${messageOf(error)}`
      return failureResult(reason, { status, durationMs: elapsed(), retryAfterMs, stream })
    } finally {
      clearTimeout(timer)
    }
  }

  return { send, close: async () => {} }
}

const empty = { body: new Uint8Array(0), overflow: false }

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}
