import { NAME_PATTERN, type WebhookInput } from '@joon/core'
import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import {
  type AdminClient,
  ApiError,
  type Issue,
  messageOf,
  type WebhookTestResult,
  type WebhookView,
} from '../api.js'
import { generateSecret } from '../secret.js'
import { ConfirmButton } from './ConfirmButton.js'
import { type HeaderRow, HeaderRows } from './HeaderRows.js'
import { Notice } from './Notice.js'
import { TestResult } from './TestResult.js'
import { HealthDetails } from './WebhookHealth.js'

type Field = 'name' | 'url' | 'headers' | 'secret' | 'timeoutMs'
type FieldErrors = Partial<Record<Field, string>>

const DEFAULT_TIMEOUT = 10_000

/** Create or edit one webhook; send it a test call; delete it. */
export function WebhookForm({
  api,
  webhook,
  usedBy,
  created = false,
  createdWarnings = [],
  onSaved,
  onDeleted,
}: {
  api: AdminClient
  /** Null for a new webhook. Its secret and header values come masked (`••••••••c3f9`). */
  webhook: WebhookView | null
  /** Just created (by the form for a new webhook, which is gone now). */
  created?: boolean
  /** What the server warned of when it was created (a URL its calls will be refused). */
  createdWarnings?: string[]
  usedBy: string[]
  /** `warnings`: what the server said of the saved webhook (a URL it will refuse to call). */
  onSaved: (name: string, warnings: string[]) => void | Promise<void>
  onDeleted: () => void | Promise<void>
}) {
  const isNew = webhook === null
  const [name, setName] = useState(webhook?.name ?? '')
  const [url, setUrl] = useState(webhook?.url ?? '')
  const [rows, setRows] = useState<HeaderRow[]>(() =>
    Object.entries(webhook?.headers ?? {}).map(([key, value], index) => ({
      key: index + 1,
      name: key,
      value,
    })),
  )
  const [secret, setSecret] = useState(webhook?.secret ?? '')
  /** The secret field holds the secret in clear (revealed, rotated, typed), not its mask. */
  const [revealed, setRevealed] = useState(false)
  const [secretBusy, setSecretBusy] = useState(false)
  const hasSecret = !isNew && webhook.secret !== undefined
  const [timeout, setTimeoutText] = useState(String(webhook?.timeoutMs ?? DEFAULT_TIMEOUT))
  const [errors, setErrors] = useState<FieldErrors>({})
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(
    created && webhook
      ? {
          kind: 'success',
          text: [`Webhook "${webhook.name}" created.`, ...createdWarnings].join(' '),
        }
      : null,
  )
  const heading = useRef<HTMLHeadingElement>(null)
  useLayoutEffect(() => {
    if (created) heading.current?.focus()
  }, [created])
  const [busy, setBusy] = useState(false)
  const [testing, setTesting] = useState(false)
  const [test, setTest] = useState<WebhookTestResult | null>(null)

  const save = async (event: Event) => {
    event.preventDefault()
    const local = checkLocally(name, timeout, rows)
    setErrors(local)
    if (Object.keys(local).length > 0) {
      setMessage({ kind: 'error', text: 'Fix the fields marked below.' })
      return
    }
    const headers = Object.fromEntries(
      rows.filter((row) => row.name.trim() !== '').map((row) => [row.name.trim(), row.value]),
    )
    const body: WebhookInput = {
      name,
      url: url.trim(),
      timeoutMs: Number(timeout),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(secret.trim() ? { secret: secret.trim() } : {}),
    }
    setBusy(true)
    setMessage(null)
    try {
      const { warnings = [] } = await api.putWebhook(body)
      setMessage({ kind: 'success', text: [`Webhook "${name}" saved.`, ...warnings].join(' ') })
      await onSaved(name, warnings)
    } catch (caught) {
      if (caught instanceof ApiError && caught.issues.length > 0)
        setErrors(fieldErrors(caught.issues))
      setMessage({ kind: 'error', text: messageOf(caught) })
    } finally {
      setBusy(false)
    }
  }

  const sendTest = async () => {
    if (!webhook) return
    setTesting(true)
    setTest(null)
    setMessage(null)
    try {
      setTest(await api.testWebhook(webhook.name))
    } catch (caught) {
      setMessage({ kind: 'error', text: messageOf(caught) })
    } finally {
      setTesting(false)
    }
  }

  const remove = async () => {
    if (!webhook) return
    setMessage(null)
    try {
      await api.deleteWebhook(webhook.name)
      await onDeleted()
    } catch (caught) {
      setMessage({
        kind: 'error',
        text:
          caught instanceof ApiError && caught.code === 'webhook_in_use'
            ? `Not deleted. ${caught.message}`
            : messageOf(caught),
      })
    }
  }

  const toggleSecret = async () => {
    if (!webhook) return
    if (revealed) {
      // Back to the mask: saving it keeps the stored secret.
      setSecret(maskOf(secret))
      setRevealed(false)
      return
    }
    setSecretBusy(true)
    setMessage(null)
    try {
      setSecret((await api.revealSecret(webhook.name)) ?? '')
      setRevealed(true)
    } catch (caught) {
      setMessage({ kind: 'error', text: messageOf(caught) })
    } finally {
      setSecretBusy(false)
    }
  }

  const rotate = async () => {
    if (!webhook) return
    setSecretBusy(true)
    setMessage(null)
    try {
      const fresh = await api.rotateSecret(webhook.name)
      setSecret(fresh)
      setRevealed(true)
      setMessage({
        kind: 'success',
        text: 'New signing secret saved: calls are signed with it from now on. Copy it to the receiver.',
      })
    } catch (caught) {
      setMessage({ kind: 'error', text: messageOf(caught) })
    } finally {
      setSecretBusy(false)
    }
  }

  const describe = (field: Field, hint?: string) =>
    [errors[field] ? `${field}-error` : '', hint ?? ''].filter(Boolean).join(' ') || undefined

  return (
    <form class="card form" onSubmit={save} noValidate aria-labelledby="webhook-form-title">
      <h2 id="webhook-form-title" ref={heading} tabIndex={-1}>
        {isNew ? 'New webhook' : `Webhook ${webhook.name}`}
      </h2>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
      {isNew ? null : <HealthDetails health={webhook.health} />}

      <div class="field">
        <label for="name">Name</label>
        <input
          id="name"
          value={name}
          readOnly={!isNew}
          required
          spellcheck={false}
          autocomplete="off"
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={describe('name', 'name-hint')}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <p id="name-hint" class="hint">
          {isNew
            ? 'Letters, digits, "-" and "_". Bots use this name; it cannot change later.'
            : 'Bots use this name; to rename, create a new webhook.'}
        </p>
        <FieldError field="name" errors={errors} />
      </div>

      <div class="field">
        <label for="url">URL</label>
        <input
          id="url"
          type="url"
          value={url}
          required
          spellcheck={false}
          autocomplete="off"
          placeholder="https://api.example.com/hooks"
          aria-invalid={errors.url ? true : undefined}
          aria-describedby={describe('url')}
          onInput={(event) => setUrl(event.currentTarget.value)}
        />
        <FieldError field="url" errors={errors} />
      </div>

      <HeaderRows rows={rows} onChange={setRows} error={errors.headers} />

      <div class="field">
        <label for="secret">Signing secret</label>
        <div class="input-with-button">
          <input
            id="secret"
            class="mono"
            value={secret}
            spellcheck={false}
            autocomplete="off"
            placeholder="whsec_…"
            aria-invalid={errors.secret ? true : undefined}
            aria-describedby={describe('secret', 'secret-hint')}
            onInput={(event) => {
              setSecret(event.currentTarget.value)
              setRevealed(true)
            }}
          />
          {hasSecret ? (
            <button type="button" onClick={toggleSecret} disabled={secretBusy}>
              {revealed ? 'Hide' : 'Reveal'}
            </button>
          ) : (
            <button type="button" onClick={() => setSecret(generateSecret())}>
              Generate
            </button>
          )}
        </div>
        <p id="secret-hint" class="hint">
          {hasSecret ? (
            <>
              Shown masked (its last 4 characters). Saving with the field untouched keeps the
              secret; "Reveal" shows it; "Rotate secret" replaces it with a new one at once.
            </>
          ) : (
            <>
              Optional. With a secret, every call carries a Standard Webhooks{' '}
              <code>webhook-signature</code> header the receiver can check.
            </>
          )}
        </p>
        {hasSecret ? (
          <div class="secret-actions">
            <ConfirmButton
              label="Rotate secret"
              question={`Replace the signing secret of ${webhook.name}? Calls are signed with the new one at once: the receiver needs it.`}
              confirmLabel="Yes, rotate"
              onConfirm={rotate}
              disabled={secretBusy}
            />
          </div>
        ) : null}
        <FieldError field="secret" errors={errors} />
      </div>

      <div class="field field-narrow">
        <label for="timeout">Timeout (ms)</label>
        <input
          id="timeout"
          type="number"
          inputMode="numeric"
          min={1}
          max={30000}
          step={1}
          value={timeout}
          aria-invalid={errors.timeoutMs ? true : undefined}
          aria-describedby={describe('timeoutMs', 'timeout-hint')}
          onInput={(event) => setTimeoutText(event.currentTarget.value)}
        />
        <p id="timeout-hint" class="hint">
          1 to 30000; the whole call must finish in this time.
        </p>
        <FieldError field="timeoutMs" errors={errors} />
      </div>

      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : isNew ? 'Create webhook' : 'Save changes'}
        </button>
        {isNew ? null : (
          <>
            <button type="button" onClick={sendTest} disabled={testing}>
              {testing ? 'Sending test…' : 'Send test'}
            </button>
            <span class="spacer" />
            <ConfirmButton
              label="Delete"
              question={`Delete webhook ${webhook.name}?`}
              confirmLabel="Yes, delete"
              onConfirm={remove}
            />
          </>
        )}
      </div>
      {!isNew && usedBy.length > 0 ? (
        <p class="hint">
          Used by {usedBy.length === 1 ? 'bot' : 'bots'} {usedBy.join(', ')}: it cannot be deleted
          while a bot calls it.
        </p>
      ) : null}
      {isNew ? null : (
        <p class="hint">"Send test" posts a sample payload to the saved URL and settings.</p>
      )}
      {test ? <TestResult result={test} /> : null}
    </form>
  )
}

function FieldError({ field, errors }: { field: Field; errors: FieldErrors }) {
  const text = errors[field]
  return text ? (
    <p id={`${field}-error`} class="field-error">
      {text}
    </p>
  ) : null
}

function checkLocally(name: string, timeout: string, rows: HeaderRow[]): FieldErrors {
  const errors: FieldErrors = {}
  if (!NAME_PATTERN.test(name)) {
    errors.name =
      name === ''
        ? 'Enter a name.'
        : 'Use 1 to 64 letters, digits, "-" or "_", starting with a letter or digit.'
  }
  const ms = Number(timeout)
  if (timeout.trim() === '' || !Number.isInteger(ms) || ms < 1 || ms > 30_000) {
    errors.timeoutMs = 'Enter a whole number of milliseconds from 1 to 30000.'
  }
  const names = rows.map((row) => row.name.trim().toLowerCase()).filter(Boolean)
  if (new Set(names).size !== names.length) errors.headers = 'Each header name may appear once.'
  else if (rows.some((row) => row.name.trim() === '' && row.value !== '')) {
    errors.headers = 'A header with a value needs a name.'
  }
  return errors
}

function fieldErrors(issues: Issue[]): FieldErrors {
  const errors: FieldErrors = {}
  for (const issue of issues) {
    const [first, second] = issue.path
    const field: Field =
      first === 'url' || first === 'headers' || first === 'secret' || first === 'timeoutMs'
        ? first
        : 'name'
    const text =
      field === 'headers' && typeof second === 'string'
        ? `"${second}": ${issue.message}`
        : issue.message
    errors[field] = errors[field] ? `${errors[field]} ${text}` : text
  }
  return errors
}

/** What the server shows of a secret: 8 dots, then its last 4 characters if longer than 8. */
function maskOf(value: string): string {
  return value.length > 8 ? `••••••••${value.slice(-4)}` : '••••••••'
}
