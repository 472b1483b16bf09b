import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import { type AdminClient, messageOf } from '../api.js'

/**
 * "Erase a person's data": a variable and a value; a dry run says how many conversations
 * (of every bot) will go, and only the confirmation deletes them.
 */
export function EraseForm({
  api,
  variables,
  onErased,
}: {
  api: AdminClient
  variables: string[]
  onErased: (count: number) => void
}) {
  const [opened, setOpened] = useState(false)
  const [variable, setVariable] = useState(variables[0] ?? 'email')
  const [value, setValue] = useState('')
  const [count, setCount] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const confirmRef = useRef<HTMLButtonElement>(null)
  const firstRef = useRef<HTMLInputElement>(null)

  // Focus moves in layout effects, right after the render, not a frame later: keys typed at
  // once (a fast typist, a script) never land in the field focus left.
  useLayoutEffect(() => {
    if (count !== null && count > 0) confirmRef.current?.focus()
  }, [count])
  useLayoutEffect(() => {
    if (opened) firstRef.current?.focus()
  }, [opened])

  if (!opened) {
    return (
      <button type="button" class="danger-outline" onClick={() => setOpened(true)}>
        Erase a person's data
      </button>
    )
  }
  const close = () => {
    setOpened(false)
    setCount(null)
    setValue('')
    setError(null)
  }
  return (
    <form
      class="card erase-form"
      aria-label="Erase a person's data"
      onSubmit={async (event) => {
        event.preventDefault()
        setError(null)
        setBusy(true)
        try {
          setCount(await api.erase(variable.trim(), value, true))
        } catch (caught) {
          setError(messageOf(caught))
        } finally {
          setBusy(false)
        }
      }}
    >
      <p class="hint">
        Deletes every conversation, of every bot, whose variable equals the value (ignoring case),
        with its delivery records.
      </p>
      <div class="field">
        <label for="erase-variable">Variable</label>
        <input
          id="erase-variable"
          ref={firstRef}
          class="mono"
          list="erase-variables"
          value={variable}
          onInput={(event) => {
            setVariable(event.currentTarget.value)
            setCount(null)
          }}
        />
        <datalist id="erase-variables">
          {variables.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      <div class="field">
        <label for="erase-value">Value</label>
        <input
          id="erase-value"
          value={value}
          autocomplete="off"
          onInput={(event) => {
            setValue(event.currentTarget.value)
            setCount(null)
          }}
        />
      </div>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {count === null || count === 0 ? (
        <div class="row-actions">
          {count === 0 ? <p role="status">No conversation matches.</p> : null}
          <button type="submit" class="danger-outline" disabled={busy || !value.trim()}>
            Find conversations
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      ) : (
        <fieldset class="confirm">
          <legend class="confirm-question" role="status">
            {count} {count === 1 ? 'conversation' : 'conversations'} will be deleted for good.
          </legend>
          <button
            ref={confirmRef}
            type="button"
            class="danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true)
              try {
                const erased = await api.erase(variable.trim(), value, false)
                close()
                onErased(erased)
              } catch (caught) {
                setError(messageOf(caught))
              } finally {
                setBusy(false)
              }
            }}
          >
            Erase {count} {count === 1 ? 'conversation' : 'conversations'}
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </fieldset>
      )}
    </form>
  )
}
