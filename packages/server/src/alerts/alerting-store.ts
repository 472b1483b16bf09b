import { timeOrderedId } from '../ids.js'
import { errorExcerpt } from '../store/deliveries.js'
import type {
  AttemptCompletion,
  NewDelivery,
  OutcomeAlerts,
  RecoveryAlert,
  Store,
} from '../store/types.js'

/**
 * The alert webhook (`JOON_ALERT_WEBHOOK`, issue 17): a registered webhook that receives a
 * `webhook.failed` event when a delivery fails for good and a `webhook.recovered` event at the
 * first success after that. Events are ordinary asynchronous deliveries, written by the same
 * store write that records the outcome (`OutcomeAlerts`): signed with the alert webhook's
 * secret, retried, visible in the deliveries list, and never lost to a crash in between.
 *
 * `withAlerts` wraps a store so that every outcome recorded through it offers its alerts; the
 * store decides, in its write, whether the outcome is a final failure or a recovery. The alert
 * webhook's own deliveries never raise alerts (no loops).
 */

export interface AlertOptions {
  /** The registered webhook that receives the events. */
  webhook: string
  /** Told when alert deliveries may have been queued (the worker's `wake`). */
  onQueued?: () => void
  log?: (event: string, fields: Record<string, unknown>) => void
  now?: () => number
  /** How long the alert webhook is known to exist (or not) before asking the store again. */
  checkEveryMs?: number
}

/** `webhook.failed`: the body of the alert about a delivery that failed for good. */
export interface FailedEvent {
  type: 'webhook.failed'
  webhook: string
  delivery: {
    id: string
    conversationId: string | null
    async: boolean
    attempts: number
    lastStatus: number | null
    lastError: string | null
  }
  at: string
}

/** `webhook.recovered`: the body of the alert about the first success after those. */
export interface RecoveredEvent {
  type: 'webhook.recovered'
  webhook: string
  /** Deliveries that had failed for good since the previous success. */
  failedDeliveries: number
  /** Failed calls (every attempt) before this success. */
  consecutiveFailures: number
  at: string
}

export function withAlerts(store: Store, options: AlertOptions): Store {
  const now = options.now ?? Date.now
  const checkEveryMs = options.checkEveryMs ?? 10_000
  let known: { exists: boolean; at: number } | null = null

  /** Whether alerts can go out now; a missing alert webhook is logged, never thrown. */
  async function alertWebhookExists(): Promise<boolean> {
    const at = now()
    if (!known || at - known.at >= checkEveryMs) {
      known = { exists: (await store.getWebhook(options.webhook)) !== null, at }
    }
    return known.exists
  }

  async function alertsFor(
    webhook: string,
    failed: FailedEvent['delivery'] | null,
  ): Promise<OutcomeAlerts | undefined> {
    if (webhook === options.webhook) return undefined
    if (!(await alertWebhookExists())) {
      if (failed) {
        options.log?.('alert.skipped', {
          alertWebhook: options.webhook,
          webhook,
          delivery: failed.id,
          reason: `the alert webhook "${options.webhook}" is not registered`,
        })
      }
      return undefined
    }
    const at = now()
    const iso = new Date(at).toISOString()
    const event = (body: string): NewDelivery => ({
      id: timeOrderedId('msg_', at),
      webhook: options.webhook,
      conversationId: '',
      async: true,
      body,
      createdAt: at,
    })
    if (failed) {
      const body: FailedEvent = { type: 'webhook.failed', webhook, delivery: failed, at: iso }
      return { failed: event(JSON.stringify(body)) }
    }
    return { recovered: recoveryAlert(event(''), webhook, iso) }
  }

  const completeAttempt = async (completion: AttemptCompletion) => {
    const record = completion.delivery
    const failed = completion.outcome.status === 'failed'
    const alerts =
      record && completion.outcome.status !== 'pending'
        ? await alertsFor(
            record.webhook,
            failed
              ? {
                  id: record.id,
                  conversationId: record.conversationId || null,
                  async: record.async,
                  attempts: record.attempts + 1,
                  lastStatus: completion.attempt.status,
                  lastError: errorExcerpt(completion.attempt.error),
                }
              : null,
          )
        : undefined
    const recorded = await store.completeAttempt(alerts ? { ...completion, alerts } : completion)
    if (recorded && alerts) options.onQueued?.()
    return recorded
  }

  const recordDelivery = async (delivery: NewDelivery, given?: OutcomeAlerts) => {
    const status = delivery.status ?? 'pending'
    const alerts =
      given ??
      (status !== 'pending' && delivery.attempt
        ? await alertsFor(
            delivery.webhook,
            status === 'failed'
              ? {
                  id: delivery.id,
                  conversationId: delivery.conversationId || null,
                  async: delivery.async,
                  attempts: 1,
                  lastStatus: delivery.attempt.status,
                  lastError: errorExcerpt(delivery.attempt.error),
                }
              : null,
          )
        : undefined)
    await store.recordDelivery(delivery, alerts)
    if (alerts) options.onQueued?.()
  }

  // Everything else is the store's own (bound: the stores keep private fields).
  return new Proxy(store, {
    get(target, key) {
      if (key === 'completeAttempt') return completeAttempt
      if (key === 'recordDelivery') return recordDelivery
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** The recovery alert, its body cut where the store writes the numbers it alone knows. */
function recoveryAlert(event: NewDelivery, webhook: string, at: string): RecoveryAlert {
  const head = `{"type":"webhook.recovered","webhook":${JSON.stringify(webhook)},"failedDeliveries":`
  return {
    id: event.id,
    webhook: event.webhook,
    createdAt: event.createdAt,
    body: [head, ',"consecutiveFailures":', `,"at":${JSON.stringify(at)}}`],
  }
}
