import type { RefObject } from 'preact'
import { focusPrimary } from '../focus.js'
import type { ChatModel, ChatState } from '../model.js'
import { Footer } from './Footer.js'
import { Header } from './Header.js'
import { Transcript } from './Transcript.js'

interface PanelProps {
  state: ChatState
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
export function Panel({ state, model, title, inline, full, style, panelRef }: PanelProps) {
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: dialog and region both take a label
    <div
      id="joon-panel"
      class="panel"
      ref={panelRef}
      role={inline ? 'region' : 'dialog'}
      aria-labelledby="joon-title"
      aria-modal={full || undefined}
      hidden={!state.open}
      style={style}
    >
      <Header title={title} onClose={inline ? undefined : model.close} />
      <Transcript
        items={state.items}
        typing={state.typing}
        draft={state.draft}
        visible={state.open}
        onRetry={(id) => {
          model.retry(id)
          // The Retry button goes away: the visitor carries on from the answer box.
          focusPrimary(panelRef.current)
        }}
      />
      <div class="sr" role="status">
        {state.typing ? 'Typing…' : ''}
      </div>
      <Footer state={state} model={model} />
    </div>
  )
}
