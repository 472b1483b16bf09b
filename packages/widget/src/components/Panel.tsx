import type { RefObject } from 'preact'
import type { ChatModel, ChatState } from '../model.js'
import { Footer } from './Footer.js'
import { Icon } from './Icon.js'
import { Transcript } from './Transcript.js'

interface PanelProps {
  chat: ChatState
  model: ChatModel
  title: string
  inline: boolean
  /** Full screen: a modal dialog. */
  full: boolean
  /** Full-screen placement, as CSSOM properties (a strict style-src CSP allows those). */
  style: Record<string, string> | undefined
  panelRef: RefObject<HTMLDivElement>
}

/** The chat itself: a dialog over the page for the bubble, a region for the inline element. */
export function Panel({ chat, model, title, inline, full, style, panelRef }: PanelProps) {
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: dialog and region both take a label
    <div
      id="joon-panel"
      class="panel"
      ref={panelRef}
      role={inline ? 'region' : 'dialog'}
      aria-labelledby="joon-title"
      aria-modal={full || undefined}
      hidden={!chat.open}
      style={style}
    >
      <div class="head">
        <h2 id="joon-title">{title}</h2>
        {/* The inline chat cannot be closed. */}
        {!inline && (
          <button type="button" class="icon" aria-label="Close chat" onClick={model.close}>
            <Icon name="close" />
          </button>
        )}
      </div>
      <Transcript chat={chat} onRetry={model.retry} />
      <div class="sr" role="status">
        {chat.typing ? 'Typing…' : ''}
      </div>
      <Footer chat={chat} model={model} />
    </div>
  )
}
