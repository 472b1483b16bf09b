import { useEffect, useState } from 'preact/hooks'
import { type AdminClient, type Delivery, type DeliveryStatus, messageOf } from '../api.js'
import { usePolling } from '../polling.js'
import { DeliveryItem } from './DeliveryItem.js'
import { Notice } from './Notice.js'

const POLL_MS = 2000
const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'failed']

/** Every webhook call, newest first, refreshed every 2 s while the tab is visible. */
export function DeliveriesPage({ api }: { api: AdminClient }) {
  const [webhook, setWebhook] = useState('')
  const [status, setStatus] = useState<DeliveryStatus | ''>('')
  const [webhooks, setWebhooks] = useState<string[]>([])
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set())
  const [refresh, setRefresh] = useState(0)

  useEffect(() => {
    api
      .listWebhooks()
      .then((list) => setWebhooks(list.map((item) => item.name)))
      .catch(() => {})
  }, [api])

  usePolling(
    async (isCurrent) => {
      try {
        const list = await api.listDeliveries({
          ...(webhook ? { webhook } : {}),
          ...(status ? { status } : {}),
          limit: 100,
        })
        if (!isCurrent()) return
        setDeliveries(list)
        setError(null)
      } catch (caught) {
        if (isCurrent()) setError(messageOf(caught))
      }
    },
    POLL_MS,
    [api, webhook, status, refresh],
  )

  const failed = deliveries?.filter((delivery) => delivery.status === 'failed').length ?? 0
  const pending = deliveries?.filter((delivery) => delivery.status === 'pending').length ?? 0

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Deliveries</h1>
      </div>
      <form
        class="filters card"
        aria-label="Filter deliveries"
        onSubmit={(event) => event.preventDefault()}
      >
        <div class="field">
          <label for="filter-webhook">Webhook</label>
          <select
            id="filter-webhook"
            value={webhook}
            onChange={(event) => setWebhook(event.currentTarget.value)}
          >
            <option value="">All webhooks</option>
            {webhooks.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select
            id="filter-status"
            value={status}
            onChange={(event) => setStatus(event.currentTarget.value as DeliveryStatus | '')}
          >
            <option value="">Any status</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <p class="muted filters-note">Updates every 2 seconds while this tab is visible.</p>
      </form>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {deliveries === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <p class="summary" aria-live="polite">
            {deliveries.length === 0
              ? 'No delivery matches.'
              : `${deliveries.length} ${deliveries.length === 1 ? 'delivery' : 'deliveries'}${deliveries.length === 100 ? ' (the newest 100)' : ''}: ${pending} pending, ${failed} failed.`}
          </p>
          {deliveries.length > 0 ? (
            <table class="deliveries">
              <caption class="visually-hidden">Deliveries, newest first</caption>
              <colgroup>
                <col class="col-status" />
                <col class="col-webhook" />
                <col class="col-created" />
                <col class="col-attempts" />
                <col />
                <col class="col-actions" />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Webhook</th>
                  <th scope="col">Created</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last result</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              {deliveries.map((delivery) => (
                <DeliveryItem
                  key={delivery.id}
                  api={api}
                  delivery={delivery}
                  expanded={expanded.has(delivery.id)}
                  onToggle={() =>
                    setExpanded((current) => {
                      const next = new Set(current)
                      if (!next.delete(delivery.id)) next.add(delivery.id)
                      return next
                    })
                  }
                  onChanged={() => setRefresh((count) => count + 1)}
                />
              ))}
            </table>
          ) : null}
        </>
      )}
    </div>
  )
}
