import { useEffect, useRef, useState } from 'preact/hooks'
import { navigate } from '../route.js'

/** The embeds' own state key, so trying a bot never touches a visitor-style bubble's. */
const SESSION = 'console'

/**
 * A live chat with the saved bot, through the widget this server serves to visitors
 * (`/widget.js`, its `<joon-chat>` element): the same code, requests and rendering a visitor
 * gets, and none of its weight in the console's own bundle.
 */
export function TryIt({ botId, dirty }: { botId: string; dirty: boolean }) {
  const container = useRef<HTMLDivElement>(null)
  const [running, setRunning] = useState(false)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!running) return
    const frame = container.current
    let chat: HTMLElement | null = null
    let stopped = false
    loadWidget().then(
      () => {
        if (stopped || !frame) return
        chat = document.createElement('joon-chat')
        chat.setAttribute('bot', botId)
        chat.setAttribute('server', location.origin)
        chat.setAttribute('session', SESSION)
        chat.setAttribute('heading', `Try ${botId}`)
        frame.append(chat)
      },
      () => {
        if (!stopped) setError('The widget could not be loaded from this server (/widget.js).')
      },
    )
    return () => {
      stopped = true
      chat?.remove()
    }
  }, [running, botId])

  const start = () => {
    setError(null)
    setRunning(true)
  }
  const stop = () => setRunning(false)
  const restart = () => {
    forget(botId)
    setRunning(false)
    requestAnimationFrame(() => setRunning(true))
  }

  return (
    <section class="card try-it" aria-labelledby="try-it-title">
      <div class="editor-head">
        <h3 id="try-it-title">Try it</h3>
        <div class="actions compact">
          {running ? (
            <>
              <button type="button" onClick={restart}>
                Restart chat
              </button>
              <button
                type="button"
                onClick={() => {
                  const id = conversationOf(botId)
                  if (id) navigate('conversations', id)
                }}
              >
                Open conversation
              </button>
              <button type="button" onClick={stop}>
                Close chat
              </button>
            </>
          ) : (
            <button type="button" class="primary" onClick={start}>
              Chat with {botId}
            </button>
          )}
        </div>
      </div>
      <p class="hint">
        {dirty
          ? 'The chat runs the saved version: save first to try your changes.'
          : 'A real conversation through the widget; its webhooks are called for real.'}
      </p>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      <div ref={container} class={running ? 'chat-frame' : 'chat-frame is-empty'} />
    </section>
  )
}

let widgetScript: Promise<void> | null = null

/** Loads the server's `/widget.js` once; it defines `<joon-chat>`. */
function loadWidget(): Promise<void> {
  if (customElements.get('joon-chat')) return Promise.resolve()
  widgetScript ??= new Promise<void>((resolve, reject) => {
    const script = document.createElement('script')
    script.src = new URL('/widget.js', location.origin).href
    script.onload = () => resolve()
    script.onerror = () => {
      widgetScript = null
      script.remove()
      reject(new Error('widget.js did not load'))
    }
    document.head.append(script)
  })
  return widgetScript
}

/** The widget's state entry for this bot's console chat (see @joon/widget's session.ts). */
const sessionKey = (botId: string) => `joon:${location.origin}:${botId}:${SESSION}`

function forget(botId: string): void {
  try {
    localStorage.removeItem(sessionKey(botId))
  } catch {}
}

/** The conversation the widget keeps for this bot. */
function conversationOf(botId: string): string | null {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(sessionKey(botId)) ?? 'null')
    const id = (saved as { id?: unknown } | null)?.id
    return typeof id === 'string' ? id : null
  } catch {
    return null
  }
}
