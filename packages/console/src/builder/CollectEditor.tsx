import { useRef, useState } from 'preact/hooks'
import {
  type BlockDoc,
  COLLECT_TYPES,
  isObject,
  isValidId,
  type Json,
  type JsonObject,
  MAX_COLLECT,
  str,
  withKey,
} from './bot-doc.js'

const TYPE_LABELS: Record<(typeof COLLECT_TYPES)[number], string> = {
  string: 'Text (string)',
  number: 'Number',
  boolean: 'Yes or no (boolean)',
}

/** Names the interpreter never stores (contract §2), refused as they are typed. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype'])

/** `collect` with the entry at `index` renamed to `to`, every entry keeping its place. */
function renameEntry(collect: JsonObject, index: number, to: string): JsonObject {
  const renamed: JsonObject = {}
  Object.entries(collect).forEach(([name, value], at) => {
    renamed[at === index ? to : name] = value
  })
  return renamed
}

/**
 * An AI block's `collect`: the values the model gathers in conversation, one row each (the
 * variable it is saved to, its JSON type, what it is for the model). The variable is the
 * entry's key, so a name another row already has (or no name) stays a draft in its field
 * until it is a usable one, as the Block id field does.
 */
export function CollectEditor({
  blockId,
  block,
  onChange,
}: {
  blockId: string
  block: BlockDoc
  onChange: (change: (block: BlockDoc) => BlockDoc, label: string, group?: string) => void
}) {
  const list = useRef<HTMLDivElement>(null)
  const [draft, setDraft] = useState<{ index: number; text: string; block: string } | null>(null)
  const collect: JsonObject = isObject(block.collect) ? block.collect : {}
  const entries = Object.entries(collect)

  const change = (
    next: (collect: JsonObject) => JsonObject | undefined,
    label: string,
    group?: string,
  ) =>
    onChange(
      (current) => {
        const value = next(isObject(current.collect) ? current.collect : {})
        return withKey(
          current,
          'collect',
          value && Object.keys(value).length > 0 ? value : undefined,
        )
      },
      label,
      group,
    )
  const editEntry = (index: number, key: string, value: Json, group?: string) =>
    change(
      (current) => {
        const name = Object.keys(current)[index]
        if (name === undefined) return current
        const entry = isObject(current[name]) ? current[name] : {}
        return { ...current, [name]: withKey(entry, key, value) }
      },
      `edit value ${index + 1} collected by ${blockId}`,
      group,
    )
  const focusRow = (index: number) =>
    requestAnimationFrame(() =>
      list.current?.querySelectorAll<HTMLElement>('.collect-variable')[index]?.focus(),
    )

  const rename = (index: number, from: string, typed: string) => {
    const taken = entries.some(([name], at) => at !== index && name === typed)
    if (typed === from) {
      setDraft(null)
      return
    }
    if (!isValidId(typed) || RESERVED.has(typed) || taken) {
      setDraft({ index, text: typed, block: blockId })
      return
    }
    setDraft(null)
    change(
      (current) => renameEntry(current, index, typed),
      `rename value ${index + 1} collected by ${blockId}`,
      `${blockId}:collect-${index}:name`,
    )
  }

  const draftError = (index: number): string | null => {
    if (!draft || draft.index !== index || draft.block !== blockId) return null
    if (draft.text === '') return 'Enter the variable the value is saved to.'
    if (RESERVED.has(draft.text)) return `"${draft.text}" cannot be a variable name.`
    if (!isValidId(draft.text))
      return 'Use 1-64 letters, digits, "_" or "-", starting with a letter or digit.'
    return `Another value is already saved to "${draft.text}".`
  }

  return (
    <fieldset class="field list-field">
      <legend>Collect</legend>
      <p class="hint">
        Values the model gathers in conversation. Once it has them all, they are saved as variables
        and the flow goes on.
      </p>
      <div ref={list} class="list-rows">
        {entries.length === 0 ? (
          <p class="muted">Nothing to collect: the model only answers.</p>
        ) : null}
        {entries.map(([name, value], index) => {
          const entry: JsonObject = isObject(value) ? value : {}
          const id = `${blockId}-collect-${index}`
          const error = draftError(index)
          return (
            <fieldset key={index} class="list-row">
              <legend class="visually-hidden">Value {index + 1}</legend>
              <div class="field">
                <label for={`${id}-variable`}>Variable</label>
                <input
                  id={`${id}-variable`}
                  class="collect-variable mono"
                  type="text"
                  spellcheck={false}
                  autocomplete="off"
                  value={error ? draft?.text : name}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? `${id}-variable-error` : undefined}
                  onInput={(event) => rename(index, name, event.currentTarget.value.trim())}
                  onBlur={() => setDraft(null)}
                />
                {error ? (
                  <p id={`${id}-variable-error`} class="hint error-text">
                    {error}
                  </p>
                ) : null}
              </div>
              <div class="field">
                <label for={`${id}-type`}>Type</label>
                <select
                  id={`${id}-type`}
                  value={str(entry.type)}
                  onChange={(event) => editEntry(index, 'type', event.currentTarget.value)}
                >
                  {COLLECT_TYPES.includes(entry.type as (typeof COLLECT_TYPES)[number]) ? null : (
                    <option value={str(entry.type)}>Choose a type</option>
                  )}
                  {COLLECT_TYPES.map((type) => (
                    <option key={type} value={type}>
                      {TYPE_LABELS[type]}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for={`${id}-description`}>Description</label>
                <input
                  id={`${id}-description`}
                  type="text"
                  value={str(entry.description)}
                  placeholder="e.g. Number of employees"
                  onInput={(event) =>
                    editEntry(
                      index,
                      'description',
                      event.currentTarget.value,
                      `${blockId}:collect-${index}:description`,
                    )
                  }
                />
              </div>
              <button
                type="button"
                class="link-button"
                aria-label={`Remove value ${index + 1} (${name})`}
                onClick={() => {
                  change(
                    (current) => {
                      const kept: JsonObject = {}
                      Object.entries(current).forEach(([key, item], at) => {
                        if (at !== index) kept[key] = item
                      })
                      return kept
                    },
                    `remove value ${index + 1} collected by ${blockId}`,
                  )
                  setDraft(null)
                  if (entries.length > 1) focusRow(Math.min(index, entries.length - 2))
                  else
                    requestAnimationFrame(() =>
                      list.current?.parentElement
                        ?.querySelector<HTMLElement>('.collect-add')
                        ?.focus(),
                    )
                }}
              >
                Remove value
              </button>
            </fieldset>
          )
        })}
      </div>
      <button
        type="button"
        class="collect-add"
        disabled={entries.length >= MAX_COLLECT}
        onClick={() => {
          let n = entries.length + 1
          while (Object.hasOwn(collect, `value_${n}`)) n++
          change(
            (current) => ({ ...current, [`value_${n}`]: { type: 'string', description: '' } }),
            `add a value to collect to ${blockId}`,
          )
          focusRow(entries.length)
        }}
      >
        Add value
      </button>
    </fieldset>
  )
}
