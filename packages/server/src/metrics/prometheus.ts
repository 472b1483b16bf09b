import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Store } from '../store/types.js'
import type { Observer } from './observer.js'

/** Log events counted as they happen: the rare things worth an alert. */
const COUNTED_EVENTS = new Set([
  'delivery.failed',
  'delivery.store_error',
  'delivery.worker_error',
  'delivery.lease_lost',
  'http.error',
  'http.connections_refused',
  'health.store_unavailable',
  'conversation.guard_stopped',
  'conversation.bot_gone',
  'retention.failed',
])

export interface PrometheusMetrics {
  observer: Observer
  /** Counts the log events worth counting (see `COUNTED_EVENTS`). */
  count(event: string): void
  /** The text exposition format, read at scrape time (queue gauges included). */
  scrape(): Promise<{ body: string; contentType: string }>
}

/**
 * `GET /metrics` in Prometheus's text format (prom-client): turns by bot and outcome with
 * their latency, webhook calls by webhook, mode and result with their latency, the delivery
 * queue (pending, how late the earliest due one is), counted error events, and Node's process
 * metrics. docs/operating.md says what to alert on.
 */
export function prometheusMetrics(options: {
  store: Store
  now?: () => number
}): PrometheusMetrics {
  const now = options.now ?? Date.now
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const turns = new Counter({
    name: 'joon_turns_total',
    help: 'Conversation turns (start or reply) that ran on a bot, by outcome.',
    labelNames: ['bot', 'outcome'],
    registers: [registry],
  })
  const turnSeconds = new Histogram({
    name: 'joon_turn_duration_seconds',
    help: 'Time to answer a turn, synchronous webhook calls included.',
    labelNames: ['bot'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const calls = new Counter({
    name: 'joon_webhook_calls_total',
    help: 'Webhook calls: sync (during a turn) or async (delivery attempts), by result.',
    labelNames: ['webhook', 'mode', 'result'],
    registers: [registry],
  })
  const callSeconds = new Histogram({
    name: 'joon_webhook_call_duration_seconds',
    help: 'Webhook call latency, by webhook and mode.',
    labelNames: ['webhook', 'mode'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const events = new Counter({
    name: 'joon_events_total',
    help: 'Logged events worth an alert (delivery.failed, delivery.store_error, http.error…).',
    labelNames: ['event'],
    registers: [registry],
  })
  const store = options.store
  new Gauge({
    name: 'joon_deliveries_pending',
    help: 'Asynchronous deliveries waiting for an attempt (due or scheduled).',
    registers: [registry],
    async collect() {
      this.set(await store.countDeliveries({ status: 'pending' }))
    },
  })
  new Gauge({
    name: 'joon_delivery_lag_seconds',
    help: 'How long ago the earliest due delivery became due (0 when none is overdue).',
    registers: [registry],
    async collect() {
      const due = await store.nextDueAt()
      this.set(due === null ? 0 : Math.max(0, (now() - due) / 1000))
    },
  })

  return {
    observer: {
      turn(bot, outcome, seconds) {
        turns.inc({ bot, outcome })
        turnSeconds.observe({ bot }, seconds)
      },
      webhookCall(webhook, mode, result, seconds) {
        calls.inc({ webhook, mode, result })
        callSeconds.observe({ webhook, mode }, seconds)
      },
    },
    count(event) {
      if (COUNTED_EVENTS.has(event)) events.inc({ event })
    },
    async scrape() {
      return { body: await registry.metrics(), contentType: registry.contentType }
    },
  }
}
