import { Component, createRef } from 'preact'
import { focusPrimary, hasFocusWithin } from '../focus.js'
import type { ChatModel, ChatState } from '../model.js'
import {
  followVisualViewport,
  isSmallScreen,
  launcherStyle,
  panelStyle,
  type Viewport,
} from '../viewport.js'
import { Launcher } from './Launcher.js'
import { Panel } from './Panel.js'

export interface WidgetProps {
  model: ChatModel
  title: string
  position: 'left' | 'right'
  /** The `<joon-chat>` element: always open, no launcher, sized by the page. */
  inline: boolean
}

interface WidgetState {
  chat: ChatState
  /** The panel covers the screen (small screens, bubble only). */
  full: boolean
  /** The visual viewport, followed while full screen. */
  viewport?: Viewport | undefined
}

/**
 * The root: renders the model's state, decides full screen, and moves focus when the panel
 * opens (to the answer box) or closes (back to the launcher).
 */
export class Widget extends Component<WidgetProps, WidgetState> {
  launcher = createRef<HTMLButtonElement>()
  panel = createRef<HTMLDivElement>()
  stop: Array<() => void> = []
  stopFollowing: (() => void) | undefined
  /** Gives the page back when the full-screen dialog closes. */
  release: (() => void) | undefined

  constructor(props: WidgetProps) {
    super(props)
    this.state = { chat: props.model.get(), full: !props.inline && isSmallScreen() }
  }

  override componentDidMount() {
    const { model, inline } = this.props
    this.stop.push(model.subscribe(() => this.setState({ chat: model.get() })))
    if (!inline) {
      const measure = () => this.setState({ full: isSmallScreen() })
      window.addEventListener('resize', measure)
      this.stop.push(() => window.removeEventListener('resize', measure))
    }
    this.followViewport()
    this.makeModal()
  }

  override componentWillUnmount() {
    for (const stop of this.stop) stop()
    this.stopFollowing?.()
    this.release?.()
  }

  /** Full screen, the panel is modal: the rest of the page is inert until it closes. */
  makeModal() {
    if ((this.state.full && this.state.chat.open) !== !this.release) return
    if (this.release) {
      this.release()
      this.release = undefined
    } else {
      const host = (this.panel.current!.getRootNode() as ShadowRoot).host
      const made = ([...document.body.children] as HTMLElement[]).filter(
        (el) => !el.contains(host) && !el.inert,
      )
      for (const el of made) el.inert = true
      this.release = () => {
        for (const el of made) el.inert = false
      }
    }
  }

  /** Read before the DOM changes: is the visitor in the panel that is about to hide? */
  override getSnapshotBeforeUpdate(): boolean {
    return hasFocusWithin(this.panel.current)
  }

  override componentDidUpdate(_: WidgetProps, previous: WidgetState, focusWasInPanel: boolean) {
    const { open } = this.state.chat
    if (open !== previous.chat.open) {
      if (open) focusPrimary(this.panel.current)
      else if (focusWasInPanel) this.launcher.current?.focus()
    }
    if (this.state.full !== previous.full) this.followViewport()
    this.makeModal()
  }

  followViewport() {
    this.stopFollowing?.()
    this.stopFollowing = undefined
    if (this.state.full) {
      this.stopFollowing = followVisualViewport((viewport) => this.setState({ viewport }))
    } else if (this.state.viewport) {
      this.setState({ viewport: undefined })
    }
  }

  render({ model, title, position, inline }: WidgetProps, { chat, full, viewport }: WidgetState) {
    const fit = full ? viewport : undefined
    return (
      // biome-ignore lint/a11y/noStaticElementInteractions: Escape anywhere in the widget closes it
      <div
        class={`joon ${position}${full ? ' full' : ''}${inline ? ' inline' : ''}`}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && chat.open && !inline) {
            event.stopPropagation()
            model.close()
          }
        }}
      >
        {!inline && (
          <Launcher
            open={chat.open}
            unread={chat.unread}
            hidden={full && chat.open}
            style={fit && launcherStyle(fit, position)}
            buttonRef={this.launcher}
            onToggle={model.toggle}
          />
        )}
        <Panel
          state={chat}
          model={model}
          title={title}
          inline={inline}
          full={full}
          style={fit && panelStyle(fit)}
          panelRef={this.panel}
        />
      </div>
    )
  }
}
