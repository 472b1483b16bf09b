import { useEffect, useState } from 'preact/hooks'
import { type AdminClient, type Delivery, type DeliveryDetail, messageOf } from '../api.js'
import { excerpt, formatDuration, formatTime, prettyJson } from '../format.js'
import { href } from '../route.js'
import { StatusBadge } from './StatusBadge.js'

/** One delivery: a summary row, and its attempts and payload when expanded. */
export function DeliveryItem({
  api,
  delivery,
  expanded,
  onToggle,
  onChanged,
}: {
  api: AdminClient
  delivery: Delivery
  expanded: boolean
  onToggle: () => void
  onChanged: () => void
}) {
  const [detail, setDetail] = useState<DeliveryDetail | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [retrying, setRetrying] = useState(false)
  const [retried, setRetried] = useState(false)
  const detailsId = `delivery-${delivery.id}`

  // Reload the attempts whenever the summary shows a new one.
  useEffect(() => {
    if (!expanded) return
    let current = true
    api
      .getDelivery(delivery.id)
      .then((loaded) => current && setDetail(loaded))
      .catch((caught) => current && setError(messageOf(caught)))
    return () => {
      current = false
    }
  }, [api, expanded, delivery.id, delivery.attempts, delivery.status])

  useEffect(() => {
    if (delivery.status !== 'failed') setRetried(false)
  }, [delivery.status])

  const retry = async () => {
    setRetrying(true)
    setError(null)
    try {
      await api.retryDelivery(delivery.id)
      setRetried(true)
      onChanged()
    } catch (caught) {
      setError(messageOf(caught))
    } finally {
      setRetrying(false)
    }
  }

  // The error already names the status ("HTTP 500; reply: …"); alone, the status says enough.
  const last =
    delivery.attempts === 0
      ? 'Not tried yet'
      : delivery.lastError
        ? excerpt(delivery.lastError, 100)
        : delivery.lastStatus === null
          ? 'No response'
          : `HTTP ${delivery.lastStatus}`

  return (
    <tbody class={expanded ? 'delivery is-open' : 'delivery'}>
      <tr>
        <td>
          <StatusBadge status={delivery.status} />
        </td>
        <td>
          <span class="mono">{delivery.webhook}</span>
          <span class="cell-sub">{delivery.async ? 'async' : 'sync'}</span>
        </td>
        <td>{formatTime(delivery.createdAt)}</td>
        <td>{delivery.attempts}</td>
        <td class="last-result">{last}</td>
        <td class="row-actions">
          <button
            type="button"
            aria-expanded={expanded}
            aria-controls={detailsId}
            aria-label={`${expanded ? 'Hide' : 'Show'} attempts of delivery ${delivery.id}`}
            onClick={onToggle}
          >
            {expanded ? 'Hide' : 'Attempts'}
          </button>
          {delivery.status === 'failed' ? (
            <button
              type="button"
              class="primary"
              disabled={retrying || retried}
              aria-label={`Retry delivery ${delivery.id}`}
              onClick={retry}
            >
              {retrying ? 'Retrying…' : retried ? 'Queued' : 'Retry'}
            </button>
          ) : null}
        </td>
      </tr>
      <tr id={detailsId} class="details-row" hidden={!expanded}>
        <td colSpan={6}>
          {error ? (
            <p class="error-text" role="alert">
              {error}
            </p>
          ) : null}
          {expanded ? <Details delivery={delivery} detail={detail} /> : null}
        </td>
      </tr>
    </tbody>
  )
}

function Details({ delivery, detail }: { delivery: Delivery; detail: DeliveryDetail | null }) {
  return (
    <div class="details">
      <dl class="facts">
        <dt>Delivery id</dt>
        <dd class="mono">{delivery.id}</dd>
        <dt>Conversation</dt>
        <dd>
          {delivery.conversationId ? (
            <a class="mono" href={href('conversations', delivery.conversationId)}>
              {delivery.conversationId}
            </a>
          ) : (
            '—'
          )}
        </dd>
        {delivery.status === 'pending' ? (
          <>
            <dt>Next attempt</dt>
            <dd>{formatTime(delivery.nextAttemptAt)}</dd>
          </>
        ) : null}
      </dl>
      {detail === null ? (
        <p class="muted">Loading attempts…</p>
      ) : detail.history.length === 0 ? (
        <p class="muted">No attempt yet.</p>
      ) : (
        <table class="attempts">
          <caption>Attempts, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">HTTP status</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {detail.history.map((attempt, index) => (
              <tr key={`${attempt.at}:${index}`}>
                <td>{index + 1}</td>
                <td>{formatTime(attempt.at)}</td>
                <td>{attempt.status ?? 'no response'}</td>
                <td>{formatDuration(attempt.durationMs)}</td>
                <td class="error-cell">
                  {attempt.error ? (
                    <span title={attempt.error}>{excerpt(attempt.error)}</span>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {detail ? (
        <details>
          <summary>Payload</summary>
          <pre class="code">{prettyJson(detail.body)}</pre>
        </details>
      ) : null}
    </div>
  )
}
