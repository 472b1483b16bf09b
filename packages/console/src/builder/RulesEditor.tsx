import { useRef } from 'preact/hooks'
import { type BlockDoc, isObject, type Json, type JsonObject, str, withKey } from './bot-doc.js'
import { TargetSelect } from './TargetSelect.js'

const OPERATORS: [string, string][] = [
  ['equals', 'equals'],
  ['not_equals', 'does not equal'],
  ['contains', 'contains'],
  ['gt', 'is greater than'],
  ['lt', 'is less than'],
  ['is_set', 'is set'],
  ['is_not_set', 'is not set'],
]
const NO_VALUE = new Set(['is_set', 'is_not_set'])
const MAX_RULES = 100

/** What the Value field shows for a rule's value (a string, number or boolean). */
const shown = (value: Json | undefined) =>
  value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)

/** A condition block's rules, tried in order: variable, operator, value and where it goes. */
export function RulesEditor({
  blockId,
  block,
  ids,
  variables,
  onChange,
}: {
  blockId: string
  block: BlockDoc
  ids: readonly string[]
  variables: readonly string[]
  onChange: (change: (block: BlockDoc) => BlockDoc, label: string, group?: string) => void
}) {
  const list = useRef<HTMLDivElement>(null)
  const rules = Array.isArray(block.rules) ? block.rules : []
  const editRule = (index: number, change: (rule: JsonObject) => JsonObject, group?: string) =>
    onChange(
      (current) => ({
        ...current,
        rules: (Array.isArray(current.rules) ? current.rules : []).map((item, at) =>
          at === index && isObject(item) ? change(item) : item,
        ),
      }),
      `edit rule ${index + 1} of ${blockId}`,
      group,
    )
  const focusRule = (index: number) =>
    requestAnimationFrame(() =>
      list.current?.querySelectorAll<HTMLElement>('.rule-variable')[index]?.focus(),
    )

  return (
    <fieldset class="field list-field">
      <legend>Rules</legend>
      <p class="hint">Tried in order; the first that holds decides.</p>
      <datalist id={`${blockId}-rule-variables`}>
        {variables.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <div ref={list} class="list-rows">
        {rules.map((rule, index) => {
          const item: JsonObject = isObject(rule) ? rule : {}
          const id = `${blockId}-rule-${index}`
          const op = str(item.op)
          return (
            <fieldset key={index} class="list-row">
              <legend class="visually-hidden">Rule {index + 1}</legend>
              <div class="field">
                <label for={`${id}-variable`}>Variable</label>
                <input
                  id={`${id}-variable`}
                  class="rule-variable mono"
                  type="text"
                  list={`${blockId}-rule-variables`}
                  autocomplete="off"
                  spellcheck={false}
                  value={str(item.variable)}
                  onInput={(event) => {
                    const value = event.currentTarget.value.trim()
                    editRule(
                      index,
                      (current) => withKey(current, 'variable', value),
                      `${id}:variable`,
                    )
                  }}
                />
              </div>
              <div class="field">
                <label for={`${id}-op`}>Operator</label>
                <select
                  id={`${id}-op`}
                  value={op}
                  onChange={(event) => {
                    const value = event.currentTarget.value
                    editRule(index, (current) => {
                      const next = withKey(current, 'op', value)
                      return NO_VALUE.has(value) ? withKey(next, 'value', undefined) : next
                    })
                  }}
                >
                  {OPERATORS.map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for={`${id}-value`}>Value</label>
                <input
                  id={`${id}-value`}
                  type="text"
                  value={shown(item.value)}
                  disabled={NO_VALUE.has(op)}
                  onInput={(event) => {
                    const text = event.currentTarget.value
                    const number = Number(text)
                    const value: Json | undefined =
                      text === ''
                        ? undefined
                        : typeof item.value === 'number' &&
                            text.trim() !== '' &&
                            Number.isFinite(number)
                          ? number
                          : text
                    editRule(index, (current) => withKey(current, 'value', value), `${id}:value`)
                  }}
                />
              </div>
              <TargetSelect
                id={`${id}-next`}
                label="Goes to"
                value={str(item.next)}
                ids={ids}
                emptyLabel="Choose a block"
                required
                onChange={(target) =>
                  editRule(index, (current) => withKey(current, 'next', target ?? undefined))
                }
              />
              <button
                type="button"
                class="link-button"
                aria-label={`Remove rule ${index + 1}`}
                onClick={() => {
                  onChange(
                    (current) => ({
                      ...current,
                      rules: (Array.isArray(current.rules) ? current.rules : []).filter(
                        (_, at) => at !== index,
                      ),
                    }),
                    `remove rule ${index + 1} of ${blockId}`,
                  )
                  focusRule(Math.max(0, Math.min(index, rules.length - 2)))
                }}
              >
                Remove rule
              </button>
            </fieldset>
          )
        })}
      </div>
      <button
        type="button"
        disabled={rules.length >= MAX_RULES}
        onClick={() => {
          const target = ids.find((id) => id !== blockId) ?? blockId
          onChange(
            (current) =>
              withKey(current, 'rules', [
                ...(Array.isArray(current.rules) ? current.rules : []),
                { variable: variables[0] ?? 'name', op: 'equals', value: '', next: target },
              ]),
            `add a rule to ${blockId}`,
          )
          focusRule(rules.length)
        }}
      >
        Add rule
      </button>
    </fieldset>
  )
}
