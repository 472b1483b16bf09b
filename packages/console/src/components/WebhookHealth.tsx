import type { WebhookHealth } from '../api.js'
import { excerpt, formatTime } from '../format.js'

/**
 * A webhook's health in words, with a badge that says its state (never colour alone):
 * "Healthy · last success 2 min ago", "Failing · 5 failures in a row since 10:02 — last
 * error: HTTP 503", "No calls yet".
 */
export function HealthSummary({
  health,
  now = Date.now(),
}: {
  health: WebhookHealth
  now?: number
}) {
  return (
    <span class="health-line">
      <HealthBadge health={health} /> {healthText(health, now)}
    </span>
  )
}

export function HealthBadge({ health }: { health: WebhookHealth }) {
  const label = { healthy: 'Healthy', failing: 'Failing', unknown: 'No calls yet' }[health.state]
  return <span class={`badge badge-health-${health.state}`}>{label}</span>
}

function healthText(health: WebhookHealth, now: number): string {
  if (health.state === 'unknown') return ''
  if (health.state === 'healthy') {
    return health.lastSuccessAt ? `last success ${ago(health.lastSuccessAt, now)}` : ''
  }
  const failures = health.consecutiveFailures
  const parts = [
    `${failures} ${failures === 1 ? 'failure' : 'failures in a row'}${
      health.failingSince ? ` since ${clock(health.failingSince, now)}` : ''
    }`,
  ]
  if (health.failedDeliveries > 0) {
    parts.push(
      `${health.failedDeliveries} ${health.failedDeliveries === 1 ? 'delivery' : 'deliveries'} failed for good`,
    )
  }
  const error = health.lastError ? ` — last error: ${excerpt(health.lastError, 80)}` : ''
  return `${parts.join(', ')}${error}`
}

/** The details, for the webhook's own page. */
export function HealthDetails({
  health,
  now = Date.now(),
}: {
  health: WebhookHealth
  now?: number
}) {
  return (
    <section class={`health health-${health.state}`} aria-labelledby="health-title">
      <h3 id="health-title">
        Health <HealthBadge health={health} />
      </h3>
      {health.state === 'unknown' ? (
        <p class="muted">No call recorded yet: deliveries and synchronous calls will show here.</p>
      ) : (
        <dl class="health-facts">
          <dt>Last success</dt>
          <dd>{health.lastSuccessAt ? ago(health.lastSuccessAt, now) : 'never'}</dd>
          <dt>Failures in a row</dt>
          <dd>
            {health.consecutiveFailures}
            {health.failingSince ? ` (since ${clock(health.failingSince, now)})` : ''}
          </dd>
          <dt>Deliveries failed for good</dt>
          <dd>{health.failedDeliveries}</dd>
          {health.lastFailureAt ? (
            <>
              <dt>Last failure</dt>
              <dd>
                {ago(health.lastFailureAt, now)}
                {health.lastError ? `: ${excerpt(health.lastError, 200)}` : ''}
              </dd>
            </>
          ) : null}
        </dl>
      )}
    </section>
  )
}

/** "just now", "40 s ago", "2 min ago", "3 h ago", or the date past a day. */
export function ago(iso: string, now: number): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000)
  if (seconds < 5) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return formatTime(iso)
}

/** The time of day when it was today, else the date and time. */
function clock(iso: string, now: number): string {
  const date = new Date(iso)
  return date.toDateString() === new Date(now).toDateString()
    ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : formatTime(iso)
}
