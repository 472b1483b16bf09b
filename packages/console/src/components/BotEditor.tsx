import { type Bot, validateBot } from '@joon/core'
import { useEffect, useRef, useState } from 'preact/hooks'
import { type AdminClient, ApiError, type Issue, messageOf } from '../api.js'
import { ConfirmButton } from './ConfirmButton.js'
import { IssueList } from './IssueList.js'
import { Notice } from './Notice.js'
import { TryIt } from './TryIt.js'

const NEW_BOT = {
  id: 'new-bot',
  name: 'New bot',
  start: 'hello',
  blocks: [
    { id: 'hello', type: 'text', text: 'Hello! I am a new bot.', next: 'ask-name' },
    {
      id: 'ask-name',
      type: 'question',
      answer: 'text',
      text: "What's your name?",
      saveAnswerTo: 'name',
      next: 'bye',
    },
    { id: 'bye', type: 'text', text: 'Nice to meet you, {{name}}!' },
  ],
}

/** Waits this long after the last keystroke before validating: typing stays smooth. */
const CHECK_DELAY_MS = 150

interface Check {
  /** The JSON text does not parse: the message and where. */
  syntax: { message: string; position: number | null } | null
  issues: Issue[]
  /** The parsed JSON, when it parses. */
  value: unknown
}

/** A bot's JSON, checked by `validateBot` as you type, saved with PUT, tried live. */
export function BotEditor({
  api,
  bot,
  webhooks,
  created = false,
  onSaved,
  onDeleted,
}: {
  api: AdminClient
  /** Null for a new bot. */
  bot: Bot | null
  /** Just created (by the editor for a new bot, which is gone now). */
  created?: boolean
  webhooks: string[]
  onSaved: (id: string) => void | Promise<void>
  onDeleted: () => void | Promise<void>
}) {
  const initial = JSON.stringify(bot ?? NEW_BOT, null, 2)
  const [text, setText] = useState(initial)
  const [savedText, setSavedText] = useState(bot ? initial : '')
  const [check, setCheck] = useState<Check>(() => checkBot(initial, webhooks))
  const [serverIssues, setServerIssues] = useState<Issue[]>([])
  const [message, setMessage] = useState<{ kind: 'error' | 'success'; text: string } | null>(
    created && bot ? { kind: 'success', text: `Bot "${bot.id}" saved.` } : null,
  )
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (created) heading.current?.focus()
  }, [created])
  const [busy, setBusy] = useState(false)
  const editor = useRef<HTMLTextAreaElement>(null)

  useEffect(() => {
    const timer = setTimeout(() => setCheck(checkBot(text, webhooks)), CHECK_DELAY_MS)
    return () => clearTimeout(timer)
  }, [text, webhooks])

  const dirty = text !== savedText

  const save = async () => {
    const parsed = checkBot(text, webhooks)
    setCheck(parsed)
    setServerIssues([])
    if (parsed.syntax) {
      setMessage({ kind: 'error', text: 'Not saved: the JSON does not parse.' })
      return
    }
    const id = (parsed.value as { id?: unknown } | null)?.id
    if (typeof id !== 'string' || id === '') {
      setMessage({ kind: 'error', text: 'Not saved: the bot needs an "id".' })
      return
    }
    setBusy(true)
    setMessage(null)
    try {
      await api.putBot(id, parsed.value)
      setSavedText(text)
      setMessage({ kind: 'success', text: `Bot "${id}" saved.` })
      await onSaved(id)
    } catch (caught) {
      if (caught instanceof ApiError) setServerIssues(caught.issues)
      setMessage({
        kind: 'error',
        text:
          caught instanceof ApiError && caught.code === 'invalid_bot'
            ? 'The server refused the bot; see the problems.'
            : `Not saved. ${messageOf(caught)}`,
      })
    } finally {
      setBusy(false)
    }
  }

  const remove = async () => {
    if (!bot) return
    try {
      await api.deleteBot(bot.id)
      await onDeleted()
    } catch (caught) {
      setMessage({ kind: 'error', text: messageOf(caught) })
    }
  }

  const goTo = (start: number, end = start) => {
    const area = editor.current
    if (!area) return
    area.focus()
    area.setSelectionRange(start, end)
    // Bring the selection into view: a textarea does not scroll to a selection set in code.
    const line = text.slice(0, start).split('\n').length - 1
    const lineHeight = Number.parseFloat(getComputedStyle(area).lineHeight) || 20
    area.scrollTop = Math.max(0, line * lineHeight - area.clientHeight / 3)
  }

  const problems = check.syntax ? 1 : check.issues.length
  const summary = check.syntax
    ? 'The JSON does not parse.'
    : problems === 0
      ? 'No problems: the bot is valid.'
      : `${problems} problem${problems === 1 ? '' : 's'}.`

  return (
    <div class="bot-editor">
      <div class="card">
        <div class="editor-head">
          <h2 id="bot-editor-title" ref={heading} tabIndex={-1}>
            {bot ? `Bot ${bot.id}` : 'New bot'}
          </h2>
          {dirty ? <span class="badge badge-note">Unsaved changes</span> : null}
        </div>
        {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
        <div class="editor-grid">
          <div class="field editor-field">
            <label for="bot-json">Bot JSON</label>
            <textarea
              id="bot-json"
              ref={editor}
              class="mono"
              spellcheck={false}
              autocomplete="off"
              autocapitalize="off"
              wrap="off"
              value={text}
              aria-describedby="bot-problems-summary bot-json-hint"
              aria-invalid={problems > 0 ? true : undefined}
              onInput={(event) => setText(event.currentTarget.value)}
              onKeyDown={(event) => {
                if ((event.ctrlKey || event.metaKey) && event.key === 's') {
                  event.preventDefault()
                  void save()
                }
              }}
            />
            <p id="bot-json-hint" class="hint">
              Checked as you type against the registered webhooks. Ctrl+S saves; Tab leaves the
              editor.
            </p>
          </div>
          <section class="problems" aria-labelledby="bot-problems-title">
            <h3 id="bot-problems-title">Problems</h3>
            <p
              id="bot-problems-summary"
              class={problems === 0 ? 'ok-text' : 'error-text'}
              aria-live="polite"
            >
              {summary}
            </p>
            {check.syntax ? (
              <ul class="issues">
                <li>
                  <button
                    type="button"
                    class="issue"
                    onClick={() => goTo(check.syntax?.position ?? 0)}
                  >
                    {check.syntax.message}
                  </button>
                </li>
              </ul>
            ) : (
              <IssueList issues={check.issues} onPick={(issue) => goTo(...locate(text, issue))} />
            )}
            {serverIssues.length > 0 ? (
              <>
                <h4>The server refused it</h4>
                <IssueList issues={serverIssues} onPick={(issue) => goTo(...locate(text, issue))} />
              </>
            ) : null}
          </section>
        </div>
        <div class="actions">
          <button type="button" class="primary" onClick={save} disabled={busy}>
            {busy ? 'Saving…' : bot ? 'Save' : 'Create bot'}
          </button>
          <span class="spacer" />
          {bot ? (
            <ConfirmButton
              label="Delete"
              question={`Delete bot ${bot.id}?`}
              confirmLabel="Yes, delete"
              onConfirm={remove}
            />
          ) : null}
        </div>
      </div>
      {bot ? <TryIt botId={bot.id} dirty={dirty} /> : null}
    </div>
  )
}

function checkBot(text: string, webhooks: readonly string[]): Check {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const at = /position (\d+)/.exec(message)
    return {
      syntax: { message: `JSON: ${message}`, position: at ? Number(at[1]) : null },
      issues: [],
      value: undefined,
    }
  }
  const result = validateBot(value, { webhooks })
  return { syntax: null, issues: result.ok ? [] : result.issues, value }
}

/** Where an issue is in the text: its block's id, else its first field's key. */
function locate(text: string, issue: Issue): [number, number] {
  const quoted = (value: string) => JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const patterns: RegExp[] = []
  if (issue.blockId !== undefined)
    patterns.push(new RegExp(`"id"\\s*:\\s*${quoted(issue.blockId)}`))
  const field = issue.path.at(-1)
  if (issue.blockId === undefined && typeof issue.path[0] === 'string') {
    patterns.push(new RegExp(`${quoted(issue.path[0])}\\s*:`))
  } else if (typeof field === 'string') {
    patterns.push(new RegExp(`${quoted(field)}\\s*:`))
  }
  for (const pattern of patterns) {
    const found = pattern.exec(text)
    if (found) return [found.index, found.index + found[0].length]
  }
  return [0, 0]
}
