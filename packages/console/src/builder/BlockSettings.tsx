import { MAX_AI_TURNS } from '@joon/core'
import type { Ref } from 'preact'
import { useRef, useState } from 'preact/hooks'
import { href } from '../route.js'
import { BlockIcon, typeName } from './BlockIcon.js'
import {
  type BlockDoc,
  type BotDoc,
  blockIds,
  findBlock,
  isObject,
  isValidId,
  type Json,
  renameBlock,
  setLink,
  str,
  updateBlock,
  variablesOf,
  withKey,
} from './bot-doc.js'
import { ChoicesEditor } from './ChoicesEditor.js'
import { CollectEditor } from './CollectEditor.js'
import { RulesEditor } from './RulesEditor.js'
import { TargetSelect } from './TargetSelect.js'

export interface DocChange {
  doc: BotDoc
  label: string
  /** Changes of one group made in a row undo as one (the keystrokes of one field). */
  group?: string
  announce?: string
}

const ANSWER_TYPES: [string, string][] = [
  ['text', 'Text'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['number', 'Number'],
  ['url', 'URL'],
  ['date', 'Date'],
]

/** The selected block's settings: a labelled form whose every field edits the bot at once. */
export function BlockSettings({
  doc,
  blockId,
  webhooks,
  models,
  problems,
  firstField,
  onChange,
  onRenamed,
  onDelete,
}: {
  doc: BotDoc
  blockId: string
  webhooks: readonly string[]
  /** The registered models' names; null when the server has no models API. */
  models: readonly string[] | null
  problems: readonly string[]
  firstField: Ref<HTMLInputElement>
  onChange: (change: DocChange) => void
  onRenamed: (id: string) => void
  onDelete: () => void
}) {
  const block = findBlock(doc, blockId)
  /** The Block id field's text while it is not a usable id (empty, taken), for `id`'s block. */
  const [draft, setDraft] = useState<{ text: string; id: string } | null>(null)
  const draftId = draft && draft.id === blockId ? draft.text : blockId
  /** One rename, typed key by key, undoes as one. */
  const renaming = useRef('')
  if (!block) return null

  const ids = blockIds(doc)
  const type = str(block.type)
  const isStart = doc.start === blockId
  const field = (key: string) => `${blockId}-${key}`
  const edit = (key: string, value: Json | undefined, label = `edit ${key} of ${blockId}`) =>
    onChange({
      doc: updateBlock(doc, blockId, (current) => withKey(current, key, value)),
      label,
      group: `${blockId}:${key}`,
    })
  const editBlock = (change: (current: BlockDoc) => BlockDoc, label: string, group?: string) =>
    onChange({ doc: updateBlock(doc, blockId, change), label, ...(group ? { group } : {}) })

  const idError =
    draftId === blockId
      ? null
      : !isValidId(draftId)
        ? 'Use 1-64 letters, digits, "_" or "-", starting with a letter or digit.'
        : ids.includes(draftId)
          ? `Another block is already called "${draftId}".`
          : null

  const rename = (value: string) => {
    if (value === blockId || !isValidId(value) || ids.includes(value)) {
      setDraft({ text: value, id: blockId })
      return
    }
    setDraft(null)
    onChange({
      doc: renameBlock(doc, blockId, value),
      label: `rename ${blockId} to ${value}`,
      group: renaming.current,
      announce: `Renamed to ${value}; every link to it follows.`,
    })
    onRenamed(value)
  }

  const text = (
    key: string,
    label: string,
    options: { multiline?: boolean; hint?: string } = {},
  ) => {
    const id = field(key)
    const hintId = options.hint ? `${id}-hint` : undefined
    return (
      <div class="field">
        <label for={id}>{label}</label>
        {options.multiline ? (
          <textarea
            id={id}
            rows={3}
            value={str(block[key])}
            aria-describedby={hintId}
            onInput={(event) => edit(key, event.currentTarget.value)}
          />
        ) : (
          <input
            id={id}
            type="text"
            value={str(block[key])}
            aria-describedby={hintId}
            onInput={(event) => {
              const value = event.currentTarget.value
              edit(key, value === '' ? undefined : value)
            }}
          />
        )}
        {options.hint ? (
          <p id={hintId} class="hint">
            {options.hint}
          </p>
        ) : null}
      </div>
    )
  }

  const variables = variablesOf(doc)
  const saveAnswerTo = (
    <div class="field">
      <label for={field('saveAnswerTo')}>Save answer to</label>
      <input
        id={field('saveAnswerTo')}
        type="text"
        list={field('variables')}
        autocomplete="off"
        spellcheck={false}
        value={str(block.saveAnswerTo)}
        aria-describedby={field('saveAnswerTo-hint')}
        onInput={(event) => {
          const value = event.currentTarget.value.trim()
          edit('saveAnswerTo', value === '' ? undefined : value)
        }}
      />
      <datalist id={field('variables')}>
        {variables.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <p id={field('saveAnswerTo-hint')} class="hint">
        The variable your webhook receives, e.g. <code>email</code>. Use it in messages as{' '}
        <code>{'{{name}}'}</code>.
      </p>
    </div>
  )

  const next = (label = 'Next block') => (
    <TargetSelect
      id={field('next')}
      label={label}
      value={str(block.next)}
      ids={ids}
      emptyLabel="End of conversation"
      onChange={(target) =>
        onChange({
          doc: setLink(doc, blockId, 'next', target),
          label: `link ${blockId}`,
          announce: target
            ? `${blockId} now goes to ${target}.`
            : `${blockId} now ends the conversation.`,
        })
      }
    />
  )

  return (
    <div class="block-settings-body">
      <div class="settings-title">
        <BlockIcon type={type} />
        <span>{typeName(type)} block</span>
        {isStart ? <span class="block-start">Start</span> : null}
      </div>
      {problems.length > 0 ? (
        <ul class="settings-problems" aria-label="Problems of this block">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      ) : null}
      <div class="field">
        <label for={field('id')}>Block id</label>
        <input
          id={field('id')}
          ref={firstField}
          type="text"
          class="mono"
          spellcheck={false}
          autocomplete="off"
          value={draftId}
          aria-invalid={idError ? true : undefined}
          aria-describedby={field('id-hint')}
          onInput={(event) => rename(event.currentTarget.value.trim())}
          onFocus={() => {
            renaming.current = `rename:${blockId}:${Date.now()}`
          }}
          onBlur={() => setDraft(null)}
        />
        <p id={field('id-hint')} class={idError ? 'hint error-text' : 'hint'}>
          {idError ?? 'Renaming updates every link to this block.'}
        </p>
      </div>

      {type === 'text' || type === 'question' || type === 'buttons'
        ? text('text', 'Message', { multiline: true, hint: 'Show a variable with {{name}}.' })
        : null}

      {type === 'text' ? (
        <div class="field">
          <label for={field('delay')}>Delay (ms)</label>
          <input
            id={field('delay')}
            type="number"
            min={0}
            max={10000}
            step={100}
            inputMode="numeric"
            value={typeof block.delay === 'number' ? String(block.delay) : ''}
            aria-describedby={field('delay-hint')}
            onInput={(event) => {
              const raw = event.currentTarget.value
              const value = Number(raw)
              edit('delay', raw === '' || !Number.isFinite(value) ? undefined : value)
            }}
          />
          <p id={field('delay-hint')} class="hint">
            Typing indicator before the message, 0 to 10,000.
          </p>
        </div>
      ) : null}

      {type === 'question' ? (
        <>
          <div class="field">
            <label for={field('answer')}>Answer type</label>
            <select
              id={field('answer')}
              value={str(block.answer)}
              onChange={(event) => edit('answer', event.currentTarget.value)}
            >
              {ANSWER_TYPES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {saveAnswerTo}
          {text('placeholder', 'Placeholder', { hint: 'Shown in the empty answer box.' })}
          {text('retryText', 'Retry message', {
            multiline: true,
            hint: 'Shown when the answer is not valid (an email that is not one).',
          })}
        </>
      ) : null}

      {type === 'buttons' ? (
        <>
          <ChoicesEditor blockId={blockId} block={block} ids={ids} onChange={editBlock} />
          {saveAnswerTo}
        </>
      ) : null}

      {type === 'webhook' ? (
        <>
          <div class="field">
            <label for={field('webhook')}>Webhook</label>
            <select
              id={field('webhook')}
              value={str(block.webhook)}
              aria-describedby={field('webhook-hint')}
              onChange={(event) =>
                edit('webhook', event.currentTarget.value, `choose webhook of ${blockId}`)
              }
            >
              {webhooks.includes(str(block.webhook)) ? null : (
                <option value={str(block.webhook)}>
                  {str(block.webhook)
                    ? `${str(block.webhook)} (not registered)`
                    : 'Choose a webhook'}
                </option>
              )}
              {webhooks.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            <p id={field('webhook-hint')} class="hint">
              {webhooks.length === 0 ? 'No webhook is registered yet. ' : null}
              <a href={href('webhooks', 'new')}>Register a webhook</a>
            </p>
          </div>
          <div class="field checkbox-field">
            <input
              id={field('async')}
              type="checkbox"
              checked={block.async === true}
              aria-describedby={field('async-hint')}
              onChange={(event) =>
                edit(
                  'async',
                  event.currentTarget.checked ? true : 'async' in block ? false : undefined,
                  `make ${blockId} ${event.currentTarget.checked ? 'asynchronous' : 'synchronous'}`,
                )
              }
            />
            <label for={field('async')}>Asynchronous</label>
            <p id={field('async-hint')} class="hint">
              {block.async === true
                ? 'Sent in the background, retried until your API accepts it; the chat goes on at once.'
                : 'The chat waits for the reply: its responses are shown, or its keys saved as variables.'}
            </p>
          </div>
          <TargetSelect
            id={field('onError')}
            label="On error go to"
            value={str(block.onError)}
            ids={ids}
            emptyLabel="Same as next block"
            hint="Taken when a synchronous call fails."
            onChange={(target) =>
              onChange({
                doc: setLink(doc, blockId, 'onError', target),
                label: `link ${blockId} on error`,
              })
            }
          />
        </>
      ) : null}

      {type === 'condition' ? (
        <>
          <RulesEditor
            blockId={blockId}
            block={block}
            ids={ids}
            variables={variables}
            onChange={editBlock}
          />
          <TargetSelect
            id={field('else')}
            label="Otherwise go to"
            value={str(block.else)}
            ids={ids}
            emptyLabel="End of conversation"
            onChange={(target) =>
              onChange({
                doc: setLink(doc, blockId, 'else', target),
                label: `link ${blockId} otherwise`,
              })
            }
          />
        </>
      ) : null}

      {type === 'ai' ? (
        <AiSettings
          blockId={blockId}
          block={block}
          models={models}
          edit={edit}
          editBlock={editBlock}
        />
      ) : null}

      {type === 'ai' ? (
        <TargetSelect
          id={field('onError')}
          label="On error go to"
          value={str(block.onError)}
          ids={ids}
          emptyLabel="Same as next block"
          hint="Taken when the model fails: a timeout, an error, or values still invalid on the second try."
          onChange={(target) =>
            onChange({
              doc: setLink(doc, blockId, 'onError', target),
              label: `link ${blockId} on error`,
            })
          }
        />
      ) : null}

      {type === 'condition' ? null : next()}

      {!['text', 'question', 'buttons', 'webhook', 'condition', 'ai'].includes(type) ? (
        <p class="hint">This block type has more settings: edit them in the JSON tab.</p>
      ) : null}

      <div class="actions settings-actions">
        <button
          type="button"
          aria-describedby={isStart ? field('start-hint') : undefined}
          onClick={() =>
            onChange({
              doc: withKey(doc, 'start', blockId),
              label: `start at ${blockId}`,
              announce: `The conversation starts at ${blockId}.`,
            })
          }
        >
          Start here
        </button>
        {isStart ? (
          <span id={field('start-hint')} class="hint">
            Conversations start here.
          </span>
        ) : null}
        <span class="spacer" />
        <button type="button" class="danger" onClick={onDelete}>
          Delete block
        </button>
      </div>
    </div>
  )
}

/** An AI block's own fields: the model, its instructions, how many turns, what it collects. */
function AiSettings({
  blockId,
  block,
  models,
  edit,
  editBlock,
}: {
  blockId: string
  block: BlockDoc
  models: readonly string[] | null
  edit: (key: string, value: Json | undefined, label?: string) => void
  editBlock: (change: (current: BlockDoc) => BlockDoc, label: string, group?: string) => void
}) {
  const field = (key: string) => `${blockId}-${key}`
  const model = str(block.model)
  const collecting = isObject(block.collect) && Object.keys(block.collect).length > 0
  return (
    <>
      <div class="field">
        <label for={field('model')}>Model</label>
        {models && models.length > 0 ? (
          <select
            id={field('model')}
            value={model}
            aria-describedby={field('model-hint')}
            onChange={(event) =>
              edit('model', event.currentTarget.value, `choose the model of ${blockId}`)
            }
          >
            {models.includes(model) ? null : (
              <option value={model}>
                {model ? `${model} (not registered)` : 'Choose a model'}
              </option>
            )}
            {models.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        ) : (
          <input
            id={field('model')}
            type="text"
            class="mono"
            spellcheck={false}
            autocomplete="off"
            value={model}
            aria-describedby={field('model-hint')}
            onInput={(event) => edit('model', event.currentTarget.value.trim())}
          />
        )}
        <p id={field('model-hint')} class="hint">
          {models === null ? (
            "The name of a model registered on the server (this server's console cannot list them)."
          ) : (
            <>
              {models.length === 0 ? 'No model is registered yet. ' : null}
              <a href={href('models', 'new')}>Register a model</a>
            </>
          )}
        </p>
      </div>
      <div class="field">
        <label for={field('instructions')}>Instructions</label>
        <textarea
          id={field('instructions')}
          rows={5}
          value={str(block.instructions)}
          aria-describedby={field('instructions-hint')}
          onInput={(event) => edit('instructions', event.currentTarget.value)}
        />
        <p id={field('instructions-hint')} class="hint">
          The system message: what the model is for and how it speaks. Show a variable with{' '}
          <code>{'{{name}}'}</code>.
        </p>
      </div>
      <div class="field field-narrow">
        <label for={field('maxTurns')}>Max turns</label>
        <input
          id={field('maxTurns')}
          type="number"
          min={1}
          max={MAX_AI_TURNS}
          step={1}
          inputMode="numeric"
          placeholder={collecting ? '10' : '1'}
          value={typeof block.maxTurns === 'number' ? String(block.maxTurns) : ''}
          aria-describedby={field('maxTurns-hint')}
          onInput={(event) => {
            const raw = event.currentTarget.value
            const value = Number(raw)
            edit('maxTurns', raw === '' || !Number.isFinite(value) ? undefined : value)
          }}
        />
        <p id={field('maxTurns-hint')} class="hint">
          {collecting
            ? `Most visitor messages before giving up, 1 to ${MAX_AI_TURNS}; empty: 10.`
            : `Visitor messages the model answers before the flow goes on, 1 to ${MAX_AI_TURNS}; empty: 1.`}
        </p>
      </div>
      <CollectEditor blockId={blockId} block={block} onChange={editBlock} />
    </>
  )
}
