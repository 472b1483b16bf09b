import { Component, createRef } from 'preact'
import { focusedIn, focusPrimary } from '../focus.js'
import type { ChatModel, ChatState } from '../model.js'
import {
  followVisualViewport,
  isSmallScreen,
  launcherStyle,
  listen,
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
  /** The visual viewport, where the panel goes when it covers the screen. */
  viewport?: Viewport | undefined
}

/**
 * The root: renders the model's state, decides full screen, and moves focus when the panel
 * opens (to the answer box), closes (back to the launcher), or loses the control that had it.
 */
export class Widget extends Component<WidgetProps, WidgetState> {
  #launcher = createRef<HTMLButtonElement>()
  #panel = createRef<HTMLDivElement>()
  #stop: (() => void)[] = []
  /** Gives the page back when the full-screen dialog closes. */
  #release: (() => void) | undefined

  constructor(props: WidgetProps) {
    super(props)
    this.state = { chat: props.model.get(), full: !props.inline && isSmallScreen() }
  }

  override componentDidMount() {
    const { model, inline } = this.props
    this.#stop.push(model.subscribe(() => this.setState({ chat: model.get() })))
    if (!inline) {
      this.#stop.push(
        listen(window, ['resize'], () => this.setState({ full: isSmallScreen() })),
        followVisualViewport((viewport) => this.setState({ viewport })),
      )
    }
    this.#makeModal()
  }

  override componentWillUnmount() {
    for (const stop of this.#stop) stop()
    this.#release?.()
  }

  /** Full screen, the panel is modal: the rest of the page is inert until it closes. */
  #makeModal() {
    if ((this.state.full && this.state.chat.open) !== !this.#release) return
    if (this.#release) {
      this.#release()
      this.#release = undefined
    } else {
      const host = (this.#panel.current!.getRootNode() as ShadowRoot).host
      const made = ([...document.body.children] as HTMLElement[]).filter(
        (el) => !el.contains(host) && !el.inert,
      )
      for (const el of made) el.inert = true
      this.#release = () => {
        for (const el of made) el.inert = false
      }
    }
  }

  /** Read before the DOM changes: the element in the panel that has focus, if any. */
  override getSnapshotBeforeUpdate(): Element | null {
    return focusedIn(this.#panel.current)
  }

  override componentDidUpdate(_: WidgetProps, previous: WidgetState, focused: Element | null) {
    const { open } = this.state.chat
    const panel = this.#panel.current
    if (open !== previous.chat.open) {
      if (open) focusPrimary(panel)
      else if (focused) this.#launcher.current?.focus()
    } else if (focused && !focused.isConnected) {
      // The control the visitor was on is gone (the text box became buttons or "Start over",
      // "Retry" was used): focus goes to what they will use next, not back to the page.
      focusPrimary(panel)
    }
    this.#makeModal()
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
            chat={chat}
            model={model}
            hidden={full && chat.open}
            style={fit && launcherStyle(fit, position)}
            buttonRef={this.#launcher}
          />
        )}
        <Panel
          chat={chat}
          model={model}
          title={title}
          inline={inline}
          full={full}
          style={fit && panelStyle(fit)}
          panelRef={this.#panel}
        />
      </div>
    )
  }
}
