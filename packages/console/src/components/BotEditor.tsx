import type { Bot } from '@joon/core'
import { ReactFlowProvider } from '@xyflow/react'
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import {
  type AdminClient,
  ApiError,
  type Issue,
  type LiveConversations,
  messageOf,
} from '../api.js'
import { AddBlockMenu } from '../builder/AddBlockMenu.js'
import { BlockSettings, type DocChange } from '../builder/BlockSettings.js'
import { botText, checkDoc, locateIssue, parseBotText } from '../builder/bot-check.js'
import {
  addBlock,
  type BlockType,
  type BotDoc,
  blockIds,
  deleteBlock,
  findBlock,
  type Position,
  positionsOf,
  str,
  withKey,
} from '../builder/bot-doc.js'
import { FlowCanvas, type FocusRequest } from '../builder/FlowCanvas.js'
import {
  type History,
  record,
  redo,
  redoLabel,
  replace,
  startHistory,
  undo,
  undoLabel,
} from '../builder/history.js'
import { JsonEditor, type JsonEditorHandle } from '../builder/JsonEditor.js'
import { autoLayout, NODE_WIDTH } from '../builder/layout.js'
import { BotVersions } from './BotVersions.js'
import { ConfirmButton } from './ConfirmButton.js'
import { IssueList } from './IssueList.js'
import { Notice } from './Notice.js'
import { TryIt } from './TryIt.js'

/**
 * Waits this long after the last change before validating, so typing stays smooth; but never
 * shows problems older than `CHECK_MAX_WAIT_MS` while changes keep coming.
 */
const CHECK_DELAY_MS = 150
const CHECK_MAX_WAIT_MS = 600
/** How often the canvas's live counts are refreshed. */
const LIVE_REFRESH_MS = 10_000

type Tab = 'flow' | 'json'

/** Unsaved edits of bots whose editor was left for another page of the console, by bot id. */
const drafts = new Map<string, { history: History<BotDoc>; savedText: string }>()
const NEW_DRAFT = '\u0000new'

/** An empty bot: the first block added becomes its start. */
function newBotDoc(taken: readonly string[]): BotDoc {
  let id = 'new-bot'
  for (let n = 2; taken.includes(id); n++) id = `new-bot-${n}`
  return { id, name: 'New bot', start: '', blocks: [] }
}

/**
 * A bot's editor: the visual flow builder (default) and its JSON, two views of one document
 * with one undo history; problems as you edit; save, versions, and a live chat with it.
 */
export function BotEditor({
  api,
  bot,
  botIds: existingBots,
  webhooks,
  models,
  created = false,
  onSaved,
  onDeleted,
}: {
  api: AdminClient
  /** Null for a new bot. */
  bot: Bot | null
  /** Every saved bot's id (a new bot's default id avoids them). */
  botIds: readonly string[]
  /** Just created (by the editor for a new bot, which is gone now). */
  created?: boolean
  webhooks: string[]
  /** The registered models' names; null when the server has no models API. */
  models: string[] | null
  onSaved: (id: string) => void | Promise<void>
  onDeleted: () => void | Promise<void>
}) {
  const draftKey = bot?.id ?? NEW_DRAFT
  const [draft] = useState(() => drafts.get(draftKey))
  const initial = useMemo(() => (bot ? (bot as unknown as BotDoc) : newBotDoc(existingBots)), [])
  const [history, setHistory] = useState<History<BotDoc>>(
    () => draft?.history ?? startHistory(initial),
  )
  const doc = history.present
  /** The JSON tab's own text while it does not parse (or is formatted its own way). */
  const [typed, setTyped] = useState<{ text: string; for: BotDoc } | null>(null)
  const [savedText, setSavedText] = useState(draft?.savedText ?? (bot ? botText(initial) : ''))
  const [tab, setTab] = useState<Tab>('flow')
  const [selectedId, setSelectedId] = useState<string | null>(null)
  const [focusRequest, setFocusRequest] = useState<FocusRequest | null>(null)
  const [announcement, setAnnouncement] = useState('')
  /** What the server refused at the last save, and the bot it refused. */
  const [refused, setRefused] = useState<{
    issues: Issue[]
    for: BotDoc
    invalidBot: boolean
  } | null>(null)
  const [message, setMessage] = useState<{
    kind: 'error' | 'success' | 'info'
    text: string
  } | null>(
    draft
      ? { kind: 'info', text: 'Your unsaved changes are back. Save them, or undo them.' }
      : created && bot
        ? { kind: 'success', text: `Bot "${bot.id}" saved.` }
        : null,
  )
  const [busy, setBusy] = useState(false)
  const [live, setLive] = useState<LiveConversations | null>(null)
  const [reached, setReached] = useState<ReadonlyMap<string, number> | null>(null)
  const [versionsKey, setVersionsKey] = useState(0)
  const heading = useRef<HTMLHeadingElement>(null)
  const settingsField = useRef<HTMLInputElement>(null)
  /**
   * Bumped to move focus into the settings: done right after they render, not a frame later,
   * so keys typed at once (a fast typist, a script) never land where focus was.
   */
  const [settingsFocus, setSettingsFocus] = useState(0)
  useLayoutEffect(() => {
    if (settingsFocus > 0) settingsField.current?.focus()
  }, [settingsFocus])
  const openSettings = useCallback(() => setSettingsFocus((n) => n + 1), [])
  const jsonEditor = useRef<JsonEditorHandle>(null)
  const autoPositions = useRef(new Map<string, Position>())

  const text = typed && typed.for === doc ? typed.text : botText(doc)
  const parsed = useMemo(
    () => (typed && typed.for === doc ? parseBotText(typed.text) : null),
    [typed, doc],
  )
  const syntax = parsed && !parsed.ok ? parsed : null
  const dirty = text !== savedText
  // The server's list is about the bot it refused: stale once the bot changes or stops parsing.
  const refusal = refused && refused.for === doc && !syntax ? refused : null

  useLayoutEffect(() => {
    if (created) heading.current?.focus()
  }, [created])

  // Validation, a moment after the last change.
  const [check, setCheck] = useState(() => checkDoc(initial, webhooks, models))
  const checkedAt = useRef(0)
  useEffect(() => {
    const overdue = checkedAt.current + CHECK_MAX_WAIT_MS - Date.now()
    const timer = setTimeout(
      () => {
        checkedAt.current = Date.now()
        setCheck(checkDoc(doc, webhooks, models))
      },
      Math.max(0, Math.min(CHECK_DELAY_MS, overdue)),
    )
    return () => clearTimeout(timer)
  }, [doc, webhooks, models])

  // Every block's place: the saved layout, and an automatic one for blocks without.
  const positions = useMemo(() => {
    const ids = new Set(blockIds(doc))
    const known = new Map<string, Position>()
    for (const [id, position] of autoPositions.current) if (ids.has(id)) known.set(id, position)
    const saved = positionsOf(doc)
    for (const [id, position] of saved) known.set(id, position)
    const all = autoLayout(doc, known)
    autoPositions.current = new Map([...all].filter(([id]) => !saved.has(id)))
    return all
  }, [doc])

  // Live data for the canvas: conversations waiting on each block, and how many reached each
  // (the results funnel). Either may be missing on an older server: the canvas then shows none.
  const botId = bot?.id ?? null
  useEffect(() => {
    if (!botId) return
    let stopped = false
    const load = async () => {
      const [counts, funnel] = await Promise.allSettled([
        api.liveConversations(botId),
        api.funnel(botId),
      ])
      if (stopped) return
      setLive(counts.status === 'fulfilled' ? counts.value : null)
      setReached(
        funnel.status === 'fulfilled' && funnel.value.conversations > 0
          ? new Map(funnel.value.blocks.map((block) => [block.id, block.reached]))
          : null,
      )
    }
    void load()
    const timer = setInterval(load, LIVE_REFRESH_MS)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [api, botId, versionsKey])

  // Going to another page of the console keeps unsaved changes for when the editor comes back.
  const latest = useRef({ history, savedText })
  latest.current = { history, savedText }
  useEffect(
    () => () => {
      const { history: kept, savedText: keptSaved } = latest.current
      if (botText(kept.present) !== keptSaved) {
        drafts.set(draftKey, { history: kept, savedText: keptSaved })
      } else {
        drafts.delete(draftKey)
      }
    },
    [],
  )

  // A page leave with unsaved changes asks first.
  useEffect(() => {
    if (!dirty) return
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault()
      event.returnValue = ''
    }
    addEventListener('beforeunload', warn)
    return () => removeEventListener('beforeunload', warn)
  }, [dirty])

  const announce = (text: string) => setAnnouncement(text)

  const apply = useCallback((change: DocChange) => {
    setHistory((current) =>
      record(current, change.doc, change.label, change.group ? { group: change.group } : {}),
    )
    if (change.announce) setAnnouncement(change.announce)
  }, [])

  const onJsonInput = (value: string) => {
    const read = parseBotText(value)
    if (read.ok && botText(read.doc) === botText(doc)) {
      // Only the formatting changed: the same bot, nothing to undo.
      setTyped({ text: value, for: doc })
    } else if (read.ok) {
      setHistory((current) => replace(current, read.doc, 'edit the JSON'))
      setTyped({ text: value, for: read.doc })
    } else {
      setTyped({ text: value, for: doc })
    }
  }

  const step = (direction: 'undo' | 'redo') => {
    const label = direction === 'undo' ? undoLabel(history) : redoLabel(history)
    if (label === null) return
    setHistory(direction === 'undo' ? undo(history) : redo(history))
    setTyped(null)
    announce(`${direction === 'undo' ? 'Undone' : 'Redone'}: ${label}.`)
  }

  const select = useCallback((id: string | null) => setSelectedId(id), [])

  const add = (type: BlockType) => {
    const after = selectedId && findBlock(doc, selectedId) ? selectedId : null
    const from = after ? positions.get(after) : undefined
    const taken = [...positions.values()]
    let position: Position = from
      ? { x: from.x + NODE_WIDTH + 72, y: from.y }
      : { x: Math.max(0, ...taken.map((p) => p.x + NODE_WIDTH + 72)), y: 0 }
    if (taken.length === 0) position = { x: 0, y: 0 }
    // Never on top of another block.
    while (
      taken.some((p) => Math.abs(p.x - position.x) < NODE_WIDTH && Math.abs(p.y - position.y) < 90)
    ) {
      position = { x: position.x, y: position.y + 110 }
    }
    const added = addBlock(doc, type, { webhooks, models, position, after })
    apply({
      doc: added.doc,
      label: `add ${added.id}`,
      announce: `Added ${type} block ${added.id}${after && findBlock(added.doc, after)?.next === added.id ? `, after ${after}` : ''}. Its settings are open.`,
    })
    setTab('flow')
    setSelectedId(added.id)
    setFocusRequest((current) => ({ id: added.id, n: (current?.n ?? 0) + 1, focus: false }))
    openSettings()
  }

  const removeSelected = () => {
    if (!selectedId) return
    apply({
      doc: deleteBlock(doc, selectedId),
      label: `delete ${selectedId}`,
      announce: `Deleted block ${selectedId} and every link to it.`,
    })
    setSelectedId(null)
  }

  const save = async () => {
    if (syntax) {
      setMessage({ kind: 'error', text: 'Not saved: the JSON does not parse.' })
      return
    }
    const current = checkDoc(doc, webhooks, models)
    setCheck(current)
    setRefused(null)
    const id = str(doc.id)
    if (current.issues.length > 0) {
      const count = current.issues.length
      setMessage({
        kind: 'error',
        text: `Not saved: ${count} problem${count === 1 ? '' : 's'} to fix first (listed below).`,
      })
      return
    }
    setBusy(true)
    setMessage(null)
    try {
      await api.putBot(id, doc)
      setSavedText(text)
      setMessage({ kind: 'success', text: `Bot "${id}" saved.` })
      setVersionsKey((n) => n + 1)
      await onSaved(id)
    } catch (caught) {
      const invalidBot = caught instanceof ApiError && caught.code === 'invalid_bot'
      if (caught instanceof ApiError) setRefused({ issues: caught.issues, for: doc, invalidBot })
      if (!invalidBot) setMessage({ kind: 'error', text: `Not saved. ${messageOf(caught)}` })
    } finally {
      setBusy(false)
    }
  }

  // Shortcuts work wherever the focus is in the editor, or nowhere (a button that was just
  // disabled, a click on the canvas), but not in the page's other forms or the live chat.
  const shortcuts = useRef<(event: KeyboardEvent) => void>(() => {})
  shortcuts.current = (event: KeyboardEvent) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return
    const target = event.target as HTMLElement
    const card = document.querySelector('.builder-card')
    if (!card || !(card.contains(target) || target.contains(card))) return
    const key = event.key.toLowerCase()
    if (key === 's') {
      event.preventDefault()
      void save()
    } else if (key === 'z' || key === 'y') {
      event.preventDefault()
      step(key === 'y' || event.shiftKey ? 'redo' : 'undo')
    }
  }
  useEffect(() => {
    const listener = (event: KeyboardEvent) => shortcuts.current(event)
    document.addEventListener('keydown', listener)
    return () => document.removeEventListener('keydown', listener)
  }, [])

  const pickIssue = (issue: Issue) => {
    if (tab === 'json') {
      jsonEditor.current?.select(...locateIssue(text, issue))
      return
    }
    if (issue.blockId !== undefined && findBlock(doc, issue.blockId)) {
      const id = issue.blockId
      setFocusRequest((current) => ({ id, n: (current?.n ?? 0) + 1, focus: true }))
    } else {
      setTab('json')
      requestAnimationFrame(() => jsonEditor.current?.select(...locateIssue(text, issue)))
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

  const problems = syntax ? 1 : check.issues.length
  const summary = syntax
    ? 'The JSON does not parse.'
    : problems === 0
      ? 'No problems: the bot is valid.'
      : `${problems} problem${problems === 1 ? '' : 's'}.`
  const selected = selectedId && findBlock(doc, selectedId) ? selectedId : null
  const blockCount = blockIds(doc).length

  const tabButton = (id: Tab, label: string) => (
    <button
      type="button"
      role="tab"
      id={`bot-tab-${id}`}
      aria-selected={tab === id}
      aria-controls={`bot-panel-${id}`}
      tabIndex={tab === id ? 0 : -1}
      class="tab"
      onClick={() => setTab(id)}
      onKeyDown={(event) => {
        if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
          event.preventDefault()
          const next = id === 'flow' ? 'json' : 'flow'
          setTab(next)
          requestAnimationFrame(() => document.getElementById(`bot-tab-${next}`)?.focus())
        }
      }}
    >
      {label}
    </button>
  )

  const problemList = (
    <section class="problems" aria-labelledby="bot-problems-title">
      <h3 id="bot-problems-title">Problems</h3>
      <p
        id="bot-problems-summary"
        class={problems === 0 ? 'ok-text' : 'error-text'}
        aria-live="polite"
      >
        {summary}
      </p>
      {syntax ? (
        <ul class="issues">
          <li>
            <button
              type="button"
              class="issue"
              onClick={() => {
                setTab('json')
                requestAnimationFrame(() => jsonEditor.current?.select(syntax.position ?? 0))
              }}
            >
              {syntax.message}
            </button>
          </li>
        </ul>
      ) : (
        <IssueList issues={check.issues} onPick={pickIssue} />
      )}
      {refusal && refusal.issues.length > 0 ? (
        <>
          <h4>The server refused it</h4>
          <IssueList issues={refusal.issues} onPick={pickIssue} />
        </>
      ) : null}
    </section>
  )

  return (
    <div class="bot-editor">
      <div class="card builder-card">
        <div class="editor-head">
          <h2 id="bot-editor-title" ref={heading} tabIndex={-1}>
            {bot ? `Bot ${bot.id}` : 'New bot'}
          </h2>
          {bot && str(doc.name) ? <span class="editor-subtitle">{str(doc.name)}</span> : null}
          {dirty ? <span class="badge badge-note">Unsaved changes</span> : null}
          <div class="tabs" role="tablist" aria-label="Editor view">
            {tabButton('flow', 'Flow')}
            {tabButton('json', 'JSON')}
          </div>
          <span class="spacer" />
          <div class="actions compact">
            <button
              type="button"
              onClick={() => step('undo')}
              disabled={undoLabel(history) === null}
              aria-keyshortcuts="Control+Z Meta+Z"
              title="Undo (Ctrl+Z)"
            >
              Undo
            </button>
            <button
              type="button"
              onClick={() => step('redo')}
              disabled={redoLabel(history) === null}
              aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z"
              title="Redo (Shift+Ctrl+Z)"
            >
              Redo
            </button>
            <button
              type="button"
              class="primary"
              onClick={save}
              disabled={busy}
              aria-keyshortcuts="Control+S Meta+S"
            >
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </div>
        <p class="visually-hidden" aria-live="polite">
          {announcement}
        </p>
        {refusal?.invalidBot ? (
          <Notice kind="error">The server refused the bot; see the problems.</Notice>
        ) : null}
        {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
        {bot ? null : (
          <div class="bot-fields">
            <div class="field">
              <label for="bot-id">Bot id</label>
              <input
                id="bot-id"
                type="text"
                class="mono"
                spellcheck={false}
                autocomplete="off"
                value={str(doc.id)}
                aria-describedby="bot-id-hint"
                onInput={(event) =>
                  apply({
                    doc: withKey(doc, 'id', event.currentTarget.value.trim()),
                    label: 'edit the bot id',
                    group: 'bot:id',
                  })
                }
              />
              <p id="bot-id-hint" class="hint">
                Used in the widget's <code>data-bot</code>.
              </p>
            </div>
            <div class="field">
              <label for="bot-name">Bot name</label>
              <input
                id="bot-name"
                type="text"
                value={str(doc.name)}
                onInput={(event) => {
                  const value = event.currentTarget.value
                  apply({
                    doc: withKey(doc, 'name', value === '' ? undefined : value),
                    label: 'edit the bot name',
                    group: 'bot:name',
                  })
                }}
              />
            </div>
          </div>
        )}

        {tab === 'flow' ? (
          <div role="tabpanel" id="bot-panel-flow" aria-labelledby="bot-tab-flow" class="tab-panel">
            <div class="builder-toolbar">
              <AddBlockMenu disabled={!!syntax} onAdd={add} />
              <span class="hint">
                {blockCount === 0
                  ? 'Start with Add block: the first block is where conversations start.'
                  : 'Drag from a dot on the right of a block to another block to link them. Select a link and press Delete to remove it.'}
              </span>
            </div>
            {syntax ? (
              <Notice kind="info">
                The JSON tab has text that does not parse; fix it there to edit the flow.
              </Notice>
            ) : null}
            <div class="builder-grid">
              <ReactFlowProvider>
                <FlowCanvas
                  viewKey={bot ? `joon.console.view:${bot.id}` : null}
                  doc={doc}
                  positions={positions}
                  problems={check.byBlock}
                  waiting={live?.byBlock ?? null}
                  reached={reached}
                  selectedId={selected}
                  readOnly={!!syntax}
                  onSelect={select}
                  onOpenSettings={openSettings}
                  onChange={apply}
                  focusRequest={focusRequest}
                />
              </ReactFlowProvider>
              <section class="block-settings" aria-label="Block settings">
                {selected ? (
                  <BlockSettings
                    doc={doc}
                    blockId={selected}
                    webhooks={webhooks}
                    models={models}
                    problems={check.byBlock.get(selected) ?? []}
                    firstField={settingsField}
                    onChange={apply}
                    onRenamed={setSelectedId}
                    onDelete={removeSelected}
                  />
                ) : (
                  <div class="settings-empty">
                    <h3>Block settings</h3>
                    <p class="muted">
                      {blockCount === 0
                        ? 'This bot has no block yet. Add one to begin.'
                        : 'Select a block to edit it: click it, or Tab to it and press Enter.'}
                    </p>
                  </div>
                )}
              </section>
            </div>
            {problemList}
          </div>
        ) : (
          <div role="tabpanel" id="bot-panel-json" aria-labelledby="bot-tab-json" class="tab-panel">
            <div class="editor-grid">
              <JsonEditor
                text={text}
                invalid={problems > 0}
                handle={jsonEditor}
                onInput={onJsonInput}
              />
              {problemList}
            </div>
          </div>
        )}
        {bot && !reached ? (
          <p class="hint live-note">
            No conversations yet: once visitors chat, each block shows how many reached it and how
            many are waiting there.
          </p>
        ) : null}
        {live && live.live > 0 ? (
          <p class="hint live-note">
            {live.live} live conversation{live.live === 1 ? '' : 's'} on this bot. Saving never
            interrupts them: each finishes on the version it started with, and new conversations get
            the saved one.
          </p>
        ) : null}
        <div class="actions">
          <span class="spacer" />
          {bot ? (
            <ConfirmButton
              label="Delete bot"
              question={`Delete bot ${bot.id}?`}
              confirmLabel="Yes, delete"
              onConfirm={remove}
            />
          ) : null}
        </div>
      </div>
      {bot ? (
        <div class="editor-side">
          <BotVersions
            api={api}
            botId={bot.id}
            refresh={versionsKey}
            onRestored={async (restored) => {
              const restoredDoc = restored as unknown as BotDoc
              setHistory((current) => record(current, restoredDoc, 'restore a version'))
              setTyped(null)
              setSavedText(botText(restoredDoc))
              setVersionsKey((n) => n + 1)
              setMessage({
                kind: 'success',
                text: 'Version restored: it is now the latest version.',
              })
              await onSaved(bot.id)
            }}
          />
          <TryIt botId={bot.id} dirty={dirty} />
        </div>
      ) : null}
    </div>
  )
}
