import { useRef } from 'preact/hooks'
import { type BlockDoc, isObject, type JsonObject, str, withKey } from './bot-doc.js'
import { TargetSelect } from './TargetSelect.js'

const MAX_CHOICES = 20

/** A buttons block's choices: label, saved value and where each goes, one row each. */
export function ChoicesEditor({
  blockId,
  block,
  ids,
  onChange,
}: {
  blockId: string
  block: BlockDoc
  ids: readonly string[]
  onChange: (change: (block: BlockDoc) => BlockDoc, label: string, group?: string) => void
}) {
  const list = useRef<HTMLDivElement>(null)
  const choices = Array.isArray(block.choices) ? block.choices : []
  const editChoice = (index: number, key: string, value: string | undefined, group?: string) =>
    onChange(
      (current) => {
        const items = Array.isArray(current.choices) ? current.choices : []
        return {
          ...current,
          choices: items.map((item, at) =>
            at === index && isObject(item) ? withKey(item, key, value) : item,
          ),
        }
      },
      `edit choice ${index + 1} of ${blockId}`,
      group,
    )
  const focusRow = (index: number, selector: string) =>
    requestAnimationFrame(() =>
      list.current?.querySelectorAll<HTMLElement>(selector)[index]?.focus(),
    )

  return (
    <fieldset class="field list-field">
      <legend>Choices</legend>
      <div ref={list} class="list-rows">
        {choices.map((choice, index) => {
          const item: JsonObject = isObject(choice) ? choice : {}
          const id = `${blockId}-choice-${index}`
          return (
            <fieldset key={index} class="list-row">
              <legend class="visually-hidden">Choice {index + 1}</legend>
              <div class="field">
                <label for={`${id}-label`}>Choice label</label>
                <input
                  id={`${id}-label`}
                  class="choice-label"
                  type="text"
                  value={str(item.label)}
                  onInput={(event) =>
                    editChoice(index, 'label', event.currentTarget.value, `${id}:label`)
                  }
                />
              </div>
              <div class="field">
                <label for={`${id}-value`}>Choice value</label>
                <input
                  id={`${id}-value`}
                  type="text"
                  value={str(item.value)}
                  placeholder={str(item.label)}
                  onInput={(event) => {
                    const value = event.currentTarget.value
                    editChoice(index, 'value', value === '' ? undefined : value, `${id}:value`)
                  }}
                />
              </div>
              <TargetSelect
                id={`${id}-next`}
                label="Choice goes to"
                value={str(item.next)}
                ids={ids}
                emptyLabel="Same as next block"
                onChange={(target) => editChoice(index, 'next', target ?? undefined)}
              />
              <button
                type="button"
                class="link-button"
                aria-label={`Remove choice ${index + 1}${item.label ? ` (${str(item.label)})` : ''}`}
                disabled={choices.length <= 1}
                onClick={() => {
                  onChange(
                    (current) => ({
                      ...current,
                      choices: (Array.isArray(current.choices) ? current.choices : []).filter(
                        (_, at) => at !== index,
                      ),
                    }),
                    `remove choice ${index + 1} of ${blockId}`,
                  )
                  focusRow(Math.min(index, choices.length - 2), '.choice-label')
                }}
              >
                Remove choice
              </button>
            </fieldset>
          )
        })}
      </div>
      <button
        type="button"
        disabled={choices.length >= MAX_CHOICES}
        onClick={() => {
          onChange(
            (current) =>
              withKey(current, 'choices', [
                ...(Array.isArray(current.choices) ? current.choices : []),
                { label: `Choice ${choices.length + 1}` },
              ]),
            `add a choice to ${blockId}`,
          )
          focusRow(choices.length, '.choice-label')
        }}
      >
        Add choice
      </button>
    </fieldset>
  )
}
