import type { Webhook } from '@joon/core'
import { ApiError } from './errors.js'

/**
 * Secrets in admin reads (issue 17): a webhook's `secret` and header values are shown masked,
 * the last 4 characters only (`••••••••c3f9`); a value of 8 characters or fewer is masked
 * whole. A write that sends a masked value back keeps what is stored, so any client can read,
 * change one field and write the webhook back. The secret itself is revealed or rotated by
 * explicit routes only.
 */

export const MASK = '••••••••'
const SHOWN = 4

/** `value` as admin reads show it. */
export function masked(value: string): string {
  return value.length > 2 * SHOWN ? MASK + value.slice(-SHOWN) : MASK
}

/** Whether a value looks masked (a client sent back what it read). */
const looksMasked = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith(MASK.slice(0, SHOWN))

export function maskedWebhook(webhook: Webhook): Webhook {
  const copy: Webhook = { ...webhook }
  if (webhook.secret !== undefined) copy.secret = masked(webhook.secret)
  if (webhook.headers) {
    copy.headers = Object.fromEntries(
      Object.entries(webhook.headers).map(([name, value]) => [name, masked(value)]),
    )
  }
  return copy
}

/**
 * A webhook body as sent, with every masked value that matches what is stored replaced by the
 * stored value. A masked value that does not match (the secret was rotated since it was
 * read, a header renamed) is refused, naming the field: never stored as it is.
 */
export function unmaskedBody(
  body: Record<string, unknown>,
  stored: Webhook | null,
): Record<string, unknown> {
  const issues: { path: string[]; message: string }[] = []
  const result = { ...body }
  if (looksMasked(body.secret)) {
    if (stored?.secret !== undefined && body.secret === masked(stored.secret)) {
      result.secret = stored.secret
    } else {
      issues.push({
        path: ['secret'],
        message:
          'is masked but does not match the stored secret (changed since it was read?): send the secret in clear, or leave it out to remove it',
      })
    }
  }
  const headers = body.headers
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    const sent = { ...(headers as Record<string, unknown>) }
    for (const [name, value] of Object.entries(sent)) {
      if (!looksMasked(value)) continue
      const kept = storedHeader(stored, name)
      if (kept !== undefined && value === masked(kept)) {
        sent[name] = kept
      } else {
        issues.push({
          path: ['headers', name],
          message: `header "${name}" is masked but does not match a stored value: send the value in clear`,
        })
      }
    }
    result.headers = sent
  }
  const [first] = issues
  if (first) {
    throw new ApiError(
      400,
      'invalid_body',
      `The webhook is not valid: ${first.path.join('.')}: ${first.message}.`,
      issues,
    )
  }
  return result
}

/** The saved webhook as the client sent it: values it sent masked stay masked. */
export function asSent(webhook: Webhook, body: Record<string, unknown>): Webhook {
  const copy: Webhook = { ...webhook }
  if (copy.secret !== undefined && looksMasked(body.secret)) copy.secret = masked(copy.secret)
  const sent = (body.headers ?? {}) as Record<string, unknown>
  if (copy.headers) {
    copy.headers = Object.fromEntries(
      Object.entries(copy.headers).map(([name, value]) => [
        name,
        looksMasked(sent[name]) ? masked(value) : value,
      ]),
    )
  }
  return copy
}

/** The stored value of a header, its name matched exactly or else ignoring case. */
function storedHeader(stored: Webhook | null, name: string): string | undefined {
  const headers = stored?.headers ?? {}
  if (Object.hasOwn(headers, name)) return headers[name]
  const lower = name.toLowerCase()
  return Object.entries(headers).find(([key]) => key.toLowerCase() === lower)?.[1]
}

/** A new Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `whsec_${btoa(binary)}`
}
