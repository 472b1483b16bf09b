import type { Bot } from '@joon/core'
import { useEffect, useRef, useState } from 'preact/hooks'
import {
  type AdminClient,
  type ConversationDetail,
  type ConversationSummary,
  messageOf,
  type ResultsFilter,
} from '../api.js'
import { formatTime } from '../format.js'
import { href } from '../route.js'
import { ConfirmButton } from './ConfirmButton.js'
import { ConversationView } from './ConversationsPage.js'
import { EraseForm } from './EraseForm.js'
import { Notice } from './Notice.js'

const PAGE_SIZE = 25

/** The variables a bot saves, in block order: the table's columns. */
function savedVariables(bot: Bot | null): string[] {
  const names: string[] = []
  for (const block of bot?.blocks ?? []) {
    const name = 'saveAnswerTo' in block ? block.saveAnswerTo : undefined
    if (name !== undefined && !names.includes(name)) names.push(name)
  }
  return names
}

/** A date input's day (local time) as an ISO instant: its start, or the next day's start. */
function dayStart(day: string, next = false): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  return new Date(y, m - 1, d + (next ? 1 : 0)).toISOString()
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

interface Filters {
  q: string
  from: string
  to: string
  endedOnly: boolean
}

const NO_FILTERS: Filters = { q: '', from: '', to: '', endedOnly: false }

function toQuery(botId: string, filters: Filters): ResultsFilter {
  const since = dayStart(filters.from)
  const until = dayStart(filters.to, true)
  return {
    bot: botId,
    ...(filters.q.trim() ? { q: filters.q.trim() } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(filters.endedOnly ? { ended: true } : {}),
  }
}

/** Results: pick a bot, then its conversations as a table, exported, opened, erased. */
export function ResultsPage({ api, botId }: { api: AdminClient; botId: string | null }) {
  const [bots, setBots] = useState<Bot[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api
      .listBots()
      .then(setBots)
      .catch((caught) => setError(messageOf(caught)))
  }, [api])
  const bot = bots?.find((item) => item.id === botId) ?? null
  return (
    <div class="page results-page">
      <div class="page-head">
        <h1 tabIndex={-1}>{botId ? `Results of ${bot?.name ?? botId}` : 'Results'}</h1>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <nav aria-label="Bots with results" class="results-bots">
        {bots === null ? (
          <p class="muted">Loading…</p>
        ) : bots.length === 0 ? (
          <p class="muted">No bot yet.</p>
        ) : (
          <ul>
            {bots.map((item) => (
              <li key={item.id}>
                <a
                  href={href('results', item.id)}
                  aria-current={item.id === botId ? 'page' : undefined}
                >
                  {item.name}
                </a>
              </li>
            ))}
          </ul>
        )}
      </nav>
      {botId && bots !== null ? <BotResults key={botId} api={api} botId={botId} bot={bot} /> : null}
    </div>
  )
}

function BotResults({ api, botId, bot }: { api: AdminClient; botId: string; bot: Bot | null }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS)
  const [filters, setFilters] = useState<Filters>(NO_FILTERS)
  /** The cursors of the pages before this one, and this one's (paging keeps its place). */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined])
  const [page, setPage] = useState<{ rows: ConversationSummary[]; next: string | null } | null>(
    null,
  )
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [open, setOpen] = useState<ConversationDetail | null>(null)
  const [reload, setReload] = useState(0)
  const [exporting, setExporting] = useState(false)
  const tableHeading = useRef<HTMLHeadingElement>(null)
  const cursor = cursors.at(-1)

  useEffect(() => {
    let current = true
    api
      .listResults({
        ...toQuery(botId, filters),
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
      })
      .then((reply) => {
        if (!current) return
        setPage({ rows: reply.conversations, next: reply.nextCursor })
        setError(null)
      })
      .catch((caught) => current && setError(messageOf(caught)))
    return () => {
      current = false
    }
  }, [api, botId, filters, cursor, reload])

  const columns = savedVariables(bot)
  const pageNumber = cursors.length

  async function openRow(id: string) {
    try {
      setOpen(await api.getConversation(id))
      setNotice(null)
    } catch (caught) {
      setError(messageOf(caught))
    }
  }

  async function download(format: 'csv' | 'ndjson') {
    setExporting(true)
    try {
      const { blob, file } = await api.exportResults(botId, format, toQuery(botId, filters))
      const url = URL.createObjectURL(blob)
      const link = document.createElement('a')
      link.href = url
      link.download = file
      document.body.append(link)
      link.click()
      link.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (caught) {
      setError(messageOf(caught))
    } finally {
      setExporting(false)
    }
  }

  return (
    <>
      <form
        class="filters card results-filters"
        aria-label="Filter results"
        onSubmit={(event) => {
          event.preventDefault()
          setFilters(draft)
          setCursors([undefined])
          setOpen(null)
        }}
      >
        <div class="field">
          <label for="results-q">Search</label>
          <input
            id="results-q"
            type="search"
            value={draft.q}
            onInput={(event) => setDraft({ ...draft, q: event.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="results-from">Started from</label>
          <input
            id="results-from"
            type="date"
            value={draft.from}
            onInput={(event) => setDraft({ ...draft, from: event.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="results-to">Started until</label>
          <input
            id="results-to"
            type="date"
            value={draft.to}
            onInput={(event) => setDraft({ ...draft, to: event.currentTarget.value })}
          />
        </div>
        <div class="field checkbox-field">
          <input
            id="results-ended"
            type="checkbox"
            checked={draft.endedOnly}
            onChange={(event) => setDraft({ ...draft, endedOnly: event.currentTarget.checked })}
          />
          <label for="results-ended">Ended only</label>
        </div>
        <button type="submit" class="primary">
          Apply
        </button>
      </form>

      <div class="results-actions">
        <button type="button" disabled={exporting} onClick={() => download('csv')}>
          Export CSV
        </button>
        <button type="button" disabled={exporting} onClick={() => download('ndjson')}>
          Export NDJSON
        </button>
        <EraseForm
          api={api}
          variables={columns}
          onErased={(count) => {
            setNotice(`Erased ${count} ${count === 1 ? 'conversation' : 'conversations'}.`)
            setOpen(null)
            setReload((n) => n + 1)
          }}
        />
      </div>
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}

      <section class="card" aria-labelledby="results-table-title">
        <h2 id="results-table-title" ref={tableHeading} tabIndex={-1}>
          Conversations, newest first
        </h2>
        {page === null ? (
          <p class="muted">Loading…</p>
        ) : page.rows.length === 0 ? (
          <p class="muted">No conversation matches.</p>
        ) : (
          <div class="table-scroll">
            <table class="results" aria-labelledby="results-table-title">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">State</th>
                  {columns.map((name) => (
                    <th key={name} scope="col" class="mono">
                      {name}
                    </th>
                  ))}
                  <th scope="col" class="numeric">
                    Messages
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((row) => (
                  <tr key={row.conversationId}>
                    <td>
                      <button
                        type="button"
                        class="row-open"
                        onClick={() => openRow(row.conversationId)}
                      >
                        {formatTime(row.startedAt)}
                      </button>
                    </td>
                    <td>{row.ended ? 'Ended' : 'In progress'}</td>
                    {columns.map((name) => (
                      <td key={name}>{cellText(row.variables[name])}</td>
                    ))}
                    <td class="numeric">{row.messages}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav class="pager" aria-label="Pages">
          <button
            type="button"
            disabled={cursors.length <= 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Newer
          </button>
          <span aria-live="polite">Page {pageNumber}</span>
          <button
            type="button"
            disabled={!page?.next}
            onClick={() => page?.next && setCursors([...cursors, page.next])}
          >
            Older
          </button>
        </nav>
      </section>

      {open ? (
        <section class="results-detail" aria-label="Selected conversation">
          <div class="results-detail-actions">
            <button
              type="button"
              onClick={() => {
                setOpen(null)
                tableHeading.current?.focus()
              }}
            >
              Close
            </button>
            <ConfirmButton
              label="Delete conversation"
              question="Delete this conversation, its transcript and its delivery records for good?"
              confirmLabel="Delete for good"
              onConfirm={async () => {
                try {
                  await api.deleteConversation(open.conversationId)
                  setOpen(null)
                  setNotice('The conversation was deleted.')
                  setReload((n) => n + 1)
                  tableHeading.current?.focus()
                } catch (caught) {
                  setError(messageOf(caught))
                }
              }}
            />
          </div>
          <ConversationView conversation={open} />
        </section>
      ) : null}
    </>
  )
}
