import { verifyWebhook } from '@joon/core'
import { Hono, type MiddlewareHandler } from 'hono'
import { ownerPage } from './owner-page.js'

/**
 * The shop owner's own API: what Joon's webhooks call. In real life this is your backend, in
 * any language; here it is a small Hono app on its own port, so you can see both sides.
 */
export interface OwnerApiOptions {
  /**
   * Each endpoint's secret: the `secret` of the matching webhook in webhooks.json. A real
   * backend reads it from its own configuration (an environment variable, a vault).
   */
  secrets: { leads: string; orderStatus: string; deliveryStatus: string }
  /** Where the shop runs, for the link on the leads page (known once Joon listens). */
  shopUrl: () => string
  /** Told about each call received, one line each, for the demo's console. */
  log?: (line: string) => void
  now?: () => Date
}

/** A lead as it arrived from the `crm` webhook. */
export interface ReceivedLead {
  /** The `webhook-id` header: the same on every retry of one delivery. */
  webhookId: string
  receivedAt: string
  /** The request body exactly as received, byte for byte. */
  body: string
}

/** A call to one of the synchronous endpoints, and what it answered. */
export interface SyncCall {
  hook: 'order-status' | 'delivery-status'
  receivedAt: string
  body: string
  reply: string
}

type Payload = Record<string, unknown>
type SignedEnv = { Variables: { body: string; payload: Payload } }

const KEEP = 50

// The shop's "database".
const ORDERS: Record<string, { customer: string; status: string }> = {
  '1001': { customer: 'John', status: 'on the way to your delivery pickup point' },
  '1002': { customer: 'Maria', status: 'being packed in our warehouse' },
}
const PARCELS: Record<string, { delivery_status: string; delivery_method: string }> = {
  'ACME-42': { delivery_status: 'out for delivery', delivery_method: 'Express courier' },
  'ACME-7': { delivery_status: 'delivered', delivery_method: 'Pickup point' },
}

export function createOwnerApi(options: OwnerApiOptions) {
  const now = options.now ?? (() => new Date())
  const log = options.log ?? (() => {})
  // Newest last; keyed by webhook-id, because Joon delivers at least once.
  const leads = new Map<string, ReceivedLead>()
  const calls: SyncCall[] = []

  const recordCall = (call: SyncCall) => {
    calls.push(call)
    if (calls.length > KEEP) calls.shift()
  }

  const app = new Hono()
    // Asynchronous webhook: store the lead. The reply's body is ignored; a 2xx ends the retries.
    .post('/hooks/leads', signedBy(options.secrets.leads), (c) => {
      const webhookId = c.req.header('webhook-id') ?? ''
      // A retry of a delivery already stored (our 2xx got lost on the way): keep the first one.
      if (!leads.has(webhookId)) {
        leads.set(webhookId, { webhookId, receivedAt: now().toISOString(), body: c.var.body })
        if (leads.size > KEEP) leads.delete(leads.keys().next().value ?? '')
        log(`lead received from ${String(c.var.payload.email ?? '?')} (webhook-id ${webhookId})`)
      } else {
        log(`lead ${webhookId} received again (a retry): already stored`)
      }
      return c.body(null, 204)
    })
    // Synchronous webhook answering with `responses`: Joon shows them as bot messages.
    .post('/hooks/order-status', signedBy(options.secrets.orderStatus), (c) => {
      const number = String(c.var.payload.order_number ?? '')
      const order = ORDERS[number]
      const reply = {
        responses: order
          ? [text(`Good morning ${order.customer}`), text(`Your order is ${order.status}`)]
          : [text(`I can't find order ${number}. Its number is in your confirmation email.`, 1000)],
      }
      recordCall({ hook: 'order-status', ...called(c.var.body, reply) })
      log(`order ${number} looked up: answered ${reply.responses.length} message(s)`)
      return c.json(reply)
    })
    // Synchronous webhook answering with plain keys: Joon merges them into the context.
    .post('/hooks/delivery-status', signedBy(options.secrets.deliveryStatus), (c) => {
      const tracking = String(c.var.payload.tracking_number ?? '')
        .trim()
        .toUpperCase()
      const reply = PARCELS[tracking] ?? {
        delivery_status: 'being prepared in our warehouse',
        delivery_method: 'Standard shipping',
      }
      recordCall({ hook: 'delivery-status', ...called(c.var.body, reply) })
      log(`parcel ${tracking} looked up: ${reply.delivery_status}`)
      return c.json(reply)
    })
    .get('/leads.json', (c) => c.json({ leads: [...leads.values()] }))
    .get('/', (c) => {
      c.header('cache-control', 'no-store')
      return c.html(
        ownerPage({
          leads: [...leads.values()].reverse(),
          calls: [...calls].reverse(),
          shopUrl: options.shopUrl(),
        }),
      )
    })
    .notFound((c) => c.json({ error: 'not found' }, 404))

  function called(body: string, reply: unknown) {
    return { receivedAt: now().toISOString(), body, reply: JSON.stringify(reply, null, 2) }
  }

  return { app, leads: () => [...leads.values()] }
}

/**
 * How an owner checks that a call really comes from Joon: verify the Standard Webhooks
 * signature over the raw body (before parsing it), with the webhook's secret. A call that
 * fails gets a 401; for an asynchronous webhook that means Joon retries it later.
 */
function signedBy(secret: string): MiddlewareHandler<SignedEnv> {
  return async (c, next) => {
    const body = await c.req.text()
    if (!(await verifyWebhook({ headers: c.req.raw.headers, body, secret }))) {
      return c.json({ error: 'invalid signature' }, 401)
    }
    let payload: unknown
    try {
      payload = JSON.parse(body)
    } catch {
      return c.json({ error: 'the body is not JSON' }, 400)
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return c.json({ error: 'the body is not a JSON object' }, 400)
    }
    c.set('body', body)
    c.set('payload', payload as Payload)
    await next()
  }
}

/** Joonbot's text instruction: one bot message shown after `delay` ms of typing. */
function text(label: string, delay = 2000) {
  return { type: 'text', delay, elements: [{ label, order: 1, placeholder: null }] }
}
