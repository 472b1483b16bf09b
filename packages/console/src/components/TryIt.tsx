import { type MountedWidget, mount } from '@joon/widget'
import { useEffect, useRef, useState } from 'preact/hooks'
import { navigate } from '../route.js'

/**
 * A live chat with the saved bot, through the real widget mounted inline: the same requests,
 * the same rendering a visitor gets.
 */
export function TryIt({ botId, dirty }: { botId: string; dirty: boolean }) {
  const container = useRef<HTMLDivElement>(null)
  const widget = useRef<MountedWidget | null>(null)
  const [running, setRunning] = useState(false)

  useEffect(
    () => () => {
      widget.current?.()
      widget.current = null
    },
    [],
  )

  const start = () => {
    if (!container.current || widget.current) return
    widget.current = mount({
      container: container.current,
      server: location.origin,
      bot: botId,
      inline: true,
      title: `Try ${botId}`,
    })
    setRunning(true)
  }
  const stop = () => {
    widget.current?.()
    widget.current = null
    setRunning(false)
  }

  return (
    <section class="card try-it" aria-labelledby="try-it-title">
      <div class="editor-head">
        <h3 id="try-it-title">Try it</h3>
        <div class="actions compact">
          {running ? (
            <>
              <button type="button" onClick={() => widget.current?.reset()}>
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
      <div ref={container} class={running ? 'chat-frame' : 'chat-frame is-empty'} />
    </section>
  )
}

/** The conversation the widget keeps for this bot (its session entry in localStorage). */
function conversationOf(botId: string): string | null {
  try {
    const saved: unknown = JSON.parse(
      localStorage.getItem(`joon:${location.origin}:${botId}`) ?? 'null',
    )
    const id = (saved as { id?: unknown } | null)?.id
    return typeof id === 'string' ? id : null
  } catch {
    return null
  }
}
