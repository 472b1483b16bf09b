import { Handle, type NodeProps, Position } from '@xyflow/react'
import { memo } from 'preact/compat'
import { BlockIcon, typeName } from './BlockIcon.js'
import {
  type BlockDoc,
  describeRule,
  isObject,
  type LinkSource,
  str,
  summaryOf,
} from './bot-doc.js'

export interface BlockNodeData extends Record<string, unknown> {
  block: BlockDoc
  isStart: boolean
  /** What `validateBot` says about this block. */
  problems: string[]
  /** Live conversations waiting on this block, when known. */
  waiting: number | null
  /** Conversations that reached this block, when known. */
  reached: number | null
}

interface Row {
  source: LinkSource
  label: string
  linked: boolean
}

/** The rows with their own outgoing handle: each choice or rule, and the fallbacks. */
function rowsFor(block: BlockDoc): Row[] {
  if (block.type === 'buttons') {
    const choices = Array.isArray(block.choices) ? block.choices : []
    return [
      ...choices.map((choice, index) => ({
        source: `choice-${index}` as LinkSource,
        label: isObject(choice) ? str(choice.label) || '(no label)' : '?',
        linked: isObject(choice) && typeof choice.next === 'string',
      })),
      { source: 'next', label: 'Any other answer', linked: typeof block.next === 'string' },
    ]
  }
  if (block.type === 'condition') {
    const rules = Array.isArray(block.rules) ? block.rules : []
    return [
      ...rules.map((rule, index) => ({
        source: `rule-${index}` as LinkSource,
        label: isObject(rule) ? describeRule(rule) : '?',
        linked: isObject(rule) && typeof rule.next === 'string',
      })),
      { source: 'else', label: 'Otherwise', linked: typeof block.else === 'string' },
    ]
  }
  if (block.type === 'webhook' || block.type === 'ai') {
    return [{ source: 'onError', label: 'On error', linked: typeof block.onError === 'string' }]
  }
  return []
}

/** One block on the canvas: its type, id, first words, and a handle per way out. */
export const BlockNode = memo(function BlockNode({ data, selected }: NodeProps) {
  const { block, isStart, problems, waiting, reached } = data as BlockNodeData
  const rows = rowsFor(block)
  const hasOwnNext = block.type !== 'buttons' && block.type !== 'condition'
  const classes = ['block-node', `block-${str(block.type) || 'unknown'}`]
  if (selected) classes.push('is-selected')
  if (problems.length > 0) classes.push('has-problem')
  return (
    <div class={classes.join(' ')}>
      <Handle type="target" position={Position.Left} id="in" className="handle handle-in" />
      <div class="block-head">
        <span class="block-type">
          <BlockIcon type={block.type} />
          {typeName(block.type)}
        </span>
        {isStart ? <span class="block-start">Start</span> : null}
      </div>
      {reached !== null || waiting ? (
        <div class="block-stats">
          {reached !== null ? (
            <span title="Conversations that reached this block">{reached} reached</span>
          ) : null}
          {waiting ? (
            <span class="block-live" title="Live conversations waiting on this block now">
              {waiting} waiting
            </span>
          ) : null}
        </div>
      ) : null}
      <div class="block-id mono">{str(block.id)}</div>
      {block.type === 'ai' ? (
        <div class="block-model">
          {str(block.model) ? (
            <>
              Model <span class="mono">{str(block.model)}</span>
              {collectCount(block) > 0 ? `, collects ${collectCount(block)}` : null}
            </>
          ) : (
            <em>No model chosen</em>
          )}
        </div>
      ) : null}
      <div class="block-summary">
        {summaryOf(block) || <em>{block.type === 'ai' ? 'No instructions' : 'No message'}</em>}
      </div>
      {hasOwnNext ? (
        <Handle
          type="source"
          position={Position.Right}
          id="next"
          className={`handle handle-out handle-next${typeof block.next === 'string' ? ' is-linked' : ''}`}
        />
      ) : null}
      {rows.length > 0 ? (
        <ul class="block-rows">
          {rows.map((row) => (
            <li key={row.source} class="block-row">
              <span class="block-row-label">{row.label}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={row.source}
                className={`handle handle-out${row.linked ? ' is-linked' : ''}`}
              />
            </li>
          ))}
        </ul>
      ) : null}
      {problems.length > 0 ? (
        <p class="block-problem">
          {problems[0]}
          {problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}
        </p>
      ) : null}
    </div>
  )
})

/**
 * What a screen reader hears on a node: its id, its kind, what it says or does, its state.
 * Worded so it never contains a settings field's label ("Webhook", "Asynchronous", "Rules"…):
 * a name is also a label, and a field found by its label must be found alone.
 */
export function nodeName(data: BlockNodeData): string {
  const { block } = data
  const parts = [`${str(block.id)}, ${KIND_WORDS[str(block.type)] ?? 'block'}`]
  if (data.isStart) parts.push('start')
  if (block.type === 'webhook') {
    const target = str(block.webhook)
    parts.push(
      !target
        ? 'calls nothing yet'
        : block.async === true
          ? `calls ${target} in the background`
          : `calls ${target} and waits for the reply`,
    )
  } else if (block.type === 'condition') {
    const count = Array.isArray(block.rules) ? block.rules.length : 0
    parts.push(`${count} branch${count === 1 ? '' : 'es'}`)
  } else if (block.type === 'ai') {
    // "uses", not "model": the name must not contain the Model field's label.
    const model = str(block.model)
    const count = collectCount(block)
    parts.push(model ? `uses ${model}` : 'uses nothing yet')
    if (count > 0) parts.push(`gathers ${count} value${count === 1 ? '' : 's'}`)
    const summary = summaryOf(block, 12)
    if (summary) parts.push(summary)
  } else {
    const summary = summaryOf(block, 12)
    if (summary) parts.push(summary)
  }
  if (data.reached !== null) parts.push(`reached by ${data.reached}`)
  if (data.waiting) parts.push(`${data.waiting} waiting here`)
  if (data.problems.length > 0) {
    parts.push(`${data.problems.length} problem${data.problems.length === 1 ? '' : 's'}`)
  }
  return parts.join(', ')
}

const KIND_WORDS: Record<string, string> = {
  text: 'text block',
  question: 'question block',
  buttons: 'buttons block',
  webhook: 'API call block',
  condition: 'condition block',
  ai: 'AI block',
}

const collectCount = (block: BlockDoc) =>
  isObject(block.collect) ? Object.keys(block.collect).length : 0
