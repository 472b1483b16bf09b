import type { WebhookTestResult } from '../api.js'
import { formatDuration, prettyJson } from '../format.js'

/** What a "send test" call did: status, time, and what the receiver answered. */
export function TestResult({ result }: { result: WebhookTestResult }) {
  const { outcome } = result
  const ok = outcome.kind !== 'failure'
  const summary =
    outcome.kind === 'failure'
      ? `Failed: ${outcome.reason}`
      : outcome.kind === 'responses'
        ? `Delivered; the reply holds ${outcome.responses.length} instruction${outcome.responses.length === 1 ? '' : 's'} to show.`
        : outcome.kind === 'merge'
          ? `Delivered; the reply sets ${outcome.variables.length} variable${outcome.variables.length === 1 ? '' : 's'}.`
          : 'Delivered; the reply was empty.'
  const reply =
    outcome.kind === 'responses'
      ? JSON.stringify(outcome.responses, null, 2)
      : outcome.kind === 'merge'
        ? JSON.stringify(Object.fromEntries(outcome.variables), null, 2)
        : null
  return (
    <section class={`test-result ${ok ? 'ok' : 'failed'}`} aria-labelledby="test-result-title">
      <h3 id="test-result-title">Test call</h3>
      <p role="status" class="test-summary">
        {summary}
      </p>
      <dl class="facts">
        <dt>HTTP status</dt>
        <dd>{result.status ?? 'no response'}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(result.durationMs)}</dd>
      </dl>
      {result.error ? (
        <>
          <h4>Error</h4>
          <pre class="code">{result.error}</pre>
        </>
      ) : null}
      {reply ? (
        <>
          <h4>Reply</h4>
          <pre class="code">{reply}</pre>
        </>
      ) : null}
      {result.body ? (
        <details>
          <summary>Payload sent</summary>
          <pre class="code">{prettyJson(result.body)}</pre>
        </details>
      ) : null}
    </section>
  )
}
