import { useLayoutEffect, useRef } from 'preact/hooks'

export interface HeaderRow {
  key: number
  name: string
  value: string
}

/** Extra request headers (a webhook's, a model's), one name/value row each. */
export function HeaderRows({
  rows,
  onChange,
  error,
  hint = 'Sent with every call, e.g. an API key. Joon adds its own signature headers.',
}: {
  rows: HeaderRow[]
  onChange: (rows: HeaderRow[]) => void
  error?: string | undefined
  hint?: string
}) {
  const list = useRef<HTMLDivElement>(null)
  const focusLast = useRef(false)
  useLayoutEffect(() => {
    if (!focusLast.current) return
    focusLast.current = false
    const inputs = list.current?.querySelectorAll<HTMLInputElement>('input[data-header-name]')
    inputs?.[inputs.length - 1]?.focus()
  }, [rows.length])

  const update = (key: number, patch: Partial<HeaderRow>) =>
    onChange(rows.map((row) => (row.key === key ? { ...row, ...patch } : row)))

  return (
    <fieldset class="headers" aria-describedby={error ? 'headers-error' : undefined}>
      <legend>Headers</legend>
      <p class="hint">{hint}</p>
      <div ref={list}>
        {rows.length === 0 ? <p class="muted">No extra header.</p> : null}
        {rows.map((row, index) => (
          <div class="header-row" key={row.key}>
            <input
              data-header-name
              aria-label={`Header ${index + 1} name`}
              placeholder="Name, e.g. X-Api-Key"
              spellcheck={false}
              autocomplete="off"
              value={row.name}
              onInput={(event) => update(row.key, { name: event.currentTarget.value })}
            />
            <input
              aria-label={`Header ${index + 1} value`}
              placeholder="Value"
              spellcheck={false}
              autocomplete="off"
              value={row.value}
              onInput={(event) => update(row.key, { value: event.currentTarget.value })}
            />
            <button
              type="button"
              class="ghost"
              aria-label={`Remove header ${index + 1}${row.name ? ` (${row.name})` : ''}`}
              onClick={() => onChange(rows.filter((other) => other.key !== row.key))}
            >
              Remove
            </button>
          </div>
        ))}
      </div>
      {error ? (
        <p id="headers-error" class="field-error">
          {error}
        </p>
      ) : null}
      <button
        type="button"
        onClick={() => {
          focusLast.current = true
          onChange([...rows, { key: nextKey(rows), name: '', value: '' }])
        }}
      >
        Add header
      </button>
    </fieldset>
  )
}

const nextKey = (rows: HeaderRow[]) => rows.reduce((max, row) => Math.max(max, row.key), 0) + 1
