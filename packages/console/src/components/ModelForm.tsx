import { type ModelInput, NAME_PATTERN } from '@joon/core'
import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import { type AdminClient, ApiError, type Issue, messageOf, type RegisteredModel } from '../api.js'
import { ConfirmButton } from './ConfirmButton.js'
import { type HeaderRow, HeaderRows } from './HeaderRows.js'
import { Notice } from './Notice.js'

type Field =
  | 'name'
  | 'baseUrl'
  | 'model'
  | 'apiKey'
  | 'headers'
  | 'timeoutMs'
  | 'maxTokens'
  | 'temperature'
type FieldErrors = Partial<Record<Field, string>>

const FIELDS: readonly Field[] = [
  'name',
  'baseUrl',
  'model',
  'apiKey',
  'headers',
  'timeoutMs',
  'maxTokens',
  'temperature',
]

/** The server shows a stored key masked (`••••••••c3f9`): sent back as it is, the key is kept. */
const isMasked = (key: string) => key.startsWith('•')

/** Create or edit one model (an OpenAI-compatible API that AI blocks call); delete it. */
export function ModelForm({
  api,
  model,
  usedBy,
  created = false,
  createdWarnings = [],
  onSaved,
  onDeleted,
}: {
  api: AdminClient
  /** Null for a new model. */
  model: RegisteredModel | null
  /** Just created (by the form for a new model, which is gone now). */
  created?: boolean
  /** What the server warned of when it was created (a URL its calls will be refused). */
  createdWarnings?: string[]
  /** The bots whose AI blocks use it. */
  usedBy: string[]
  /** `warnings`: what the server said of the saved model (a URL it will refuse to call). */
  onSaved: (name: string, warnings: string[]) => void | Promise<void>
  onDeleted: () => void | Promise<void>
}) {
  const isNew = model === null
  const [name, setName] = useState(model?.name ?? '')
  const [baseUrl, setBaseUrl] = useState(model?.baseUrl ?? '')
  const [modelName, setModelName] = useState(model?.model ?? '')
  /** The saved key as the server shows it (masked), or what the operator typed. */
  const [apiKey, setApiKey] = useState(model?.apiKey ?? '')
  const [savedKey, setSavedKey] = useState(model?.apiKey ?? '')
  const [rows, setRows] = useState<HeaderRow[]>(() =>
    Object.entries(model?.headers ?? {}).map(([key, value], index) => ({
      key: index + 1,
      name: key,
      value,
    })),
  )
  const [timeout, setTimeoutText] = useState(numberText(model?.timeoutMs))
  const [maxTokens, setMaxTokens] = useState(numberText(model?.maxTokens))
  const [temperature, setTemperature] = useState(numberText(model?.temperature))
  const [errors, setErrors] = useState<FieldErrors>({})
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(
    created && model
      ? { kind: 'success', text: [`Model "${model.name}" created.`, ...createdWarnings].join(' ') }
      : null,
  )
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)
  useLayoutEffect(() => {
    if (created) heading.current?.focus()
  }, [created])

  const save = async (event: Event) => {
    event.preventDefault()
    const local = checkLocally({ name, baseUrl, modelName, timeout, maxTokens, temperature, rows })
    setErrors(local)
    if (Object.keys(local).length > 0) {
      setMessage({ kind: 'error', text: 'Fix the fields marked below.' })
      return
    }
    const headers = Object.fromEntries(
      rows.filter((row) => row.name.trim() !== '').map((row) => [row.name.trim(), row.value]),
    )
    const key = isMasked(apiKey) ? apiKey : apiKey.trim()
    const body: ModelInput = {
      name,
      baseUrl: baseUrl.trim(),
      model: modelName.trim(),
      ...(key ? { apiKey: key } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(timeout.trim() ? { timeoutMs: Number(timeout) } : {}),
      ...(maxTokens.trim() ? { maxTokens: Number(maxTokens) } : {}),
      ...(temperature.trim() ? { temperature: Number(temperature) } : {}),
    }
    setBusy(true)
    setMessage(null)
    try {
      const { apiKey: masked = '', warnings = [] } = await api.putModel(body)
      // The typed key leaves the page: from now on it is the server's masked one.
      setApiKey(masked)
      setSavedKey(masked)
      setMessage({ kind: 'success', text: [`Model "${name}" saved.`, ...warnings].join(' ') })
      await onSaved(name, warnings)
    } catch (caught) {
      const issues = caught instanceof ApiError ? caught.issues : []
      const { byField, other } = fieldErrors(issues)
      setErrors(byField)
      const marked = Object.keys(byField).length > 0 ? ' See the fields marked below.' : ''
      setMessage({
        kind: 'error',
        text: ['Not saved.', messageOf(caught), ...other].join(' ') + marked,
      })
    } finally {
      setBusy(false)
    }
  }

  const remove = async () => {
    if (!model) return
    setMessage(null)
    try {
      await api.deleteModel(model.name)
      await onDeleted()
    } catch (caught) {
      setMessage({ kind: 'error', text: `Not deleted. ${messageOf(caught)}` })
    }
  }

  const describe = (field: Field, hint?: string) =>
    [errors[field] ? `model-${field}-error` : '', hint ?? ''].filter(Boolean).join(' ') || undefined
  const keyKept = savedKey !== '' && apiKey === savedKey

  return (
    <form class="card form" onSubmit={save} noValidate aria-labelledby="model-form-title">
      <h2 id="model-form-title" ref={heading} tabIndex={-1}>
        {isNew ? 'New model' : `Model ${model.name}`}
      </h2>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}

      <div class="field">
        <label for="model-name">Name</label>
        <input
          id="model-name"
          value={name}
          readOnly={!isNew}
          required
          spellcheck={false}
          autocomplete="off"
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={describe('name', 'model-name-hint')}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <p id="model-name-hint" class="hint">
          {isNew
            ? 'Letters, digits, "-" and "_". AI blocks use this name; it cannot change later.'
            : 'AI blocks use this name; to rename, register a new model.'}
        </p>
        <FieldError field="name" errors={errors} />
      </div>

      <div class="field">
        <label for="model-baseUrl">Base URL</label>
        <input
          id="model-baseUrl"
          type="url"
          value={baseUrl}
          required
          spellcheck={false}
          autocomplete="off"
          placeholder="https://api.openai.com/v1"
          aria-invalid={errors.baseUrl ? true : undefined}
          aria-describedby={describe('baseUrl', 'model-baseUrl-hint')}
          onInput={(event) => setBaseUrl(event.currentTarget.value)}
        />
        <p id="model-baseUrl-hint" class="hint">
          An OpenAI-compatible API (OpenAI, Mistral, Ollama, vLLM…), up to its version, e.g.{' '}
          <code>http://localhost:11434/v1</code>.
        </p>
        <FieldError field="baseUrl" errors={errors} />
      </div>

      <div class="field">
        <label for="model-model">Model</label>
        <input
          id="model-model"
          class="mono"
          value={modelName}
          required
          spellcheck={false}
          autocomplete="off"
          placeholder="gpt-4o-mini"
          aria-invalid={errors.model ? true : undefined}
          aria-describedby={describe('model', 'model-model-hint')}
          onInput={(event) => setModelName(event.currentTarget.value)}
        />
        <p id="model-model-hint" class="hint">
          The model's name at that API.
        </p>
        <FieldError field="model" errors={errors} />
      </div>

      <div class="field">
        <label for="model-apiKey">API key</label>
        <input
          id="model-apiKey"
          type="password"
          class="mono"
          value={apiKey}
          spellcheck={false}
          autocomplete="off"
          aria-invalid={errors.apiKey ? true : undefined}
          aria-describedby={describe('apiKey', 'model-apiKey-hint')}
          onFocus={(event) => {
            // Typing replaces a saved (masked) key rather than adding to its dots.
            if (isMasked(event.currentTarget.value)) event.currentTarget.select()
          }}
          onInput={(event) => setApiKey(event.currentTarget.value)}
        />
        <p id="model-apiKey-hint" class="hint">
          {keyKept
            ? `${savedKey.replace(/^•+/, '') ? `A key ending in ${savedKey.replace(/^•+/, '')}` : 'A key'} is saved; the server never shows it whole. Leave this as it is to keep it, type a new key to replace it, or empty it to remove it.`
            : savedKey !== ''
              ? apiKey === ''
                ? 'Saving removes the saved key.'
                : 'Saving replaces the saved key with this one.'
              : 'Optional. Sent as "Authorization: Bearer …" with every call.'}
        </p>
        <FieldError field="apiKey" errors={errors} />
      </div>

      <HeaderRows
        rows={rows}
        onChange={setRows}
        error={errors.headers}
        hint="Optional. Sent with every call to the model, e.g. an organisation or project header."
      />

      <div class="field-row">
        <div class="field field-narrow">
          <label for="model-timeoutMs">Timeout (ms)</label>
          <input
            id="model-timeoutMs"
            type="number"
            inputMode="numeric"
            min={1}
            max={120000}
            step={1}
            placeholder="30000"
            value={timeout}
            aria-invalid={errors.timeoutMs ? true : undefined}
            aria-describedby={describe('timeoutMs', 'model-timeoutMs-hint')}
            onInput={(event) => setTimeoutText(event.currentTarget.value)}
          />
          <p id="model-timeoutMs-hint" class="hint">
            1 to 120000 for a whole answer. Empty: 30000.
          </p>
          <FieldError field="timeoutMs" errors={errors} />
        </div>
        <div class="field field-narrow">
          <label for="model-maxTokens">Max tokens</label>
          <input
            id="model-maxTokens"
            type="number"
            inputMode="numeric"
            min={1}
            max={200000}
            step={1}
            value={maxTokens}
            aria-invalid={errors.maxTokens ? true : undefined}
            aria-describedby={describe('maxTokens', 'model-maxTokens-hint')}
            onInput={(event) => setMaxTokens(event.currentTarget.value)}
          />
          <p id="model-maxTokens-hint" class="hint">
            Longest answer. Empty: the API's default.
          </p>
          <FieldError field="maxTokens" errors={errors} />
        </div>
        <div class="field field-narrow">
          <label for="model-temperature">Temperature</label>
          <input
            id="model-temperature"
            type="number"
            inputMode="decimal"
            min={0}
            max={2}
            step={0.1}
            value={temperature}
            aria-invalid={errors.temperature ? true : undefined}
            aria-describedby={describe('temperature', 'model-temperature-hint')}
            onInput={(event) => setTemperature(event.currentTarget.value)}
          />
          <p id="model-temperature-hint" class="hint">
            0 to 2; lower is steadier. Empty: the API's default.
          </p>
          <FieldError field="temperature" errors={errors} />
        </div>
      </div>

      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : isNew ? 'Create model' : 'Save changes'}
        </button>
        {isNew ? null : (
          <>
            <span class="spacer" />
            <ConfirmButton
              label="Delete"
              question={`Delete model ${model.name}?`}
              confirmLabel="Yes, delete"
              onConfirm={remove}
            />
          </>
        )}
      </div>
      {!isNew && usedBy.length > 0 ? (
        <p class="hint">
          Used by {usedBy.length === 1 ? 'bot' : 'bots'} {usedBy.join(', ')}: it cannot be deleted
          while a bot uses it.
        </p>
      ) : null}
    </form>
  )
}

const numberText = (value: number | undefined) => (value === undefined ? '' : String(value))

function FieldError({ field, errors }: { field: Field; errors: FieldErrors }) {
  const text = errors[field]
  return text ? (
    <p id={`model-${field}-error`} class="field-error">
      {text}
    </p>
  ) : null
}

function checkLocally(values: {
  name: string
  baseUrl: string
  modelName: string
  timeout: string
  maxTokens: string
  temperature: string
  rows: HeaderRow[]
}): FieldErrors {
  const errors: FieldErrors = {}
  if (!NAME_PATTERN.test(values.name)) {
    errors.name =
      values.name === ''
        ? 'Enter a name.'
        : 'Use 1 to 64 letters, digits, "-" or "_", starting with a letter or digit.'
  }
  const url = values.baseUrl.trim()
  if (url === '') errors.baseUrl = 'Enter the API’s base URL.'
  else if (!/^https?:\/\/[^/]/i.test(url)) errors.baseUrl = 'Enter an http:// or https:// URL.'
  if (values.modelName.trim() === '') errors.model = 'Enter the model’s name at that API.'
  const whole = (text: string, max: number) => {
    const number = Number(text)
    return text.trim() === '' || (Number.isInteger(number) && number >= 1 && number <= max)
  }
  if (!whole(values.timeout, 120_000)) {
    errors.timeoutMs = 'Enter a whole number of milliseconds from 1 to 120000, or nothing.'
  }
  if (!whole(values.maxTokens, 200_000)) {
    errors.maxTokens = 'Enter a whole number of tokens from 1 to 200000, or nothing.'
  }
  const temperature = Number(values.temperature)
  if (
    values.temperature.trim() !== '' &&
    !(Number.isFinite(temperature) && temperature >= 0 && temperature <= 2)
  ) {
    errors.temperature = 'Enter a number from 0 to 2, or nothing.'
  }
  const names = values.rows.map((row) => row.name.trim().toLowerCase()).filter(Boolean)
  if (new Set(names).size !== names.length) errors.headers = 'Each header name may appear once.'
  else if (values.rows.some((row) => row.name.trim() === '' && row.value !== '')) {
    errors.headers = 'A header with a value needs a name.'
  }
  return errors
}

/**
 * The server's issues, each under its field (`["headers", "X-Org"]` under Headers); those of
 * no field (the whole body) are said in the form's message.
 */
function fieldErrors(issues: Issue[]): { byField: FieldErrors; other: string[] } {
  const errors: FieldErrors = {}
  const other: string[] = []
  for (const issue of issues) {
    const [first, second] = issue.path
    if (!FIELDS.includes(first as Field)) {
      other.push(issue.message)
      continue
    }
    const field = first as Field
    const text =
      field === 'headers' && typeof second === 'string'
        ? `"${second}": ${issue.message}`
        : issue.message
    errors[field] = errors[field] ? `${errors[field]} ${text}` : text
  }
  return { byField: errors, other }
}
