import { useEffect, useRef, useState } from 'preact/hooks'
import { type AdminClient, ApiError, type ConversationDetail, messageOf } from '../api.js'
import { formatTime } from '../format.js'
import { href, navigate } from '../route.js'
import { Notice } from './Notice.js'

/** Look a conversation up by id; read its transcript and context. */
export function ConversationsPage({
  api,
  selected,
}: {
  api: AdminClient
  selected: string | null
}) {
  const [query, setQuery] = useState(selected ?? '')
  const [conversation, setConversation] = useState<ConversationDetail | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const input = useRef<HTMLInputElement>(null)

  useEffect(() => {
    // Effects run after paint: never wipe what was typed meanwhile on the bare page.
    if (selected !== null) setQuery(selected)
    setConversation(null)
    setError(null)
    if (!selected) return
    let current = true
    setLoading(true)
    api
      .getConversation(selected)
      .then((loaded) => current && setConversation(loaded))
      .catch((caught) => {
        if (!current) return
        setError(
          caught instanceof ApiError && caught.status === 404
            ? `No conversation has the id "${selected}".`
            : messageOf(caught),
        )
      })
      .finally(() => current && setLoading(false))
    return () => {
      current = false
    }
  }, [api, selected])

  return (
    <div class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Conversations</h1>
      </div>
      <form
        class="card lookup"
        aria-label="Look up a conversation"
        onSubmit={(event) => {
          event.preventDefault()
          const id = query.trim()
          if (id) navigate('conversations', id)
          else input.current?.focus()
        }}
      >
        <div class="field">
          <label for="conversation-id">Conversation id</label>
          <div class="input-with-button">
            <input
              id="conversation-id"
              ref={input}
              class="mono"
              spellcheck={false}
              autocomplete="off"
              value={query}
              onInput={(event) => setQuery(event.currentTarget.value)}
            />
            <button type="submit" class="primary">
              Look up
            </button>
          </div>
          <p class="hint">Delivery details link to their conversation too.</p>
        </div>
      </form>
      {loading ? <p class="muted">Loading…</p> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {conversation ? <ConversationView conversation={conversation} /> : null}
    </div>
  )
}

/** A conversation's facts, transcript and context (also in the Results view). */
export function ConversationView({ conversation }: { conversation: ConversationDetail }) {
  const entries = Object.entries(conversation.context)
  const state = conversation.ended
    ? 'Ended'
    : conversation.input
      ? `Waiting for ${conversation.input.type === 'buttons' ? 'a button' : `a ${conversation.input.type} answer`}`
      : 'Waiting'
  return (
    <div class="conversation">
      <section class="card" aria-labelledby="conversation-title">
        <h2 id="conversation-title">Conversation</h2>
        <dl class="facts">
          <dt>Id</dt>
          <dd class="mono">{conversation.conversationId}</dd>
          <dt>Bot</dt>
          <dd>
            <a href={href('bots', conversation.botId)}>{conversation.botId}</a>
          </dd>
          <dt>State</dt>
          <dd>{state}</dd>
          {conversation.createdAt ? (
            <>
              <dt>Started</dt>
              <dd>{formatTime(conversation.createdAt)}</dd>
            </>
          ) : null}
          {conversation.updatedAt ? (
            <>
              <dt>Last activity</dt>
              <dd>{formatTime(conversation.updatedAt)}</dd>
            </>
          ) : null}
        </dl>
      </section>
      <div class="two-columns">
        <section class="card" aria-labelledby="transcript-title">
          <h2 id="transcript-title">Transcript</h2>
          {conversation.messages.length === 0 ? (
            <p class="muted">No message yet.</p>
          ) : (
            <ol class="transcript">
              {conversation.messages.map((message, index) => (
                <li key={`${index}`} class={`message from-${message.from}`}>
                  <span class="speaker">{message.from === 'bot' ? 'Bot' : 'User'}</span>
                  <span class="message-text">{message.text}</span>
                </li>
              ))}
            </ol>
          )}
          <details>
            <summary>As sent to webhooks</summary>
            <pre class="code">{conversation.transcript}</pre>
          </details>
        </section>
        <section class="card" aria-labelledby="context-title">
          <h2 id="context-title">Context</h2>
          {entries.length === 0 ? (
            <p class="muted">No variable set.</p>
          ) : (
            <table class="context">
              <caption class="visually-hidden">Variables, in the order first set</caption>
              <thead>
                <tr>
                  <th scope="col">Variable</th>
                  <th scope="col">Value (JSON)</th>
                </tr>
              </thead>
              <tbody>
                {entries.map(([name, value]) => (
                  <tr key={name}>
                    <th scope="row" class="mono">
                      {name}
                    </th>
                    <td>
                      <code class="json">{JSON.stringify(value)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </div>
  )
}
