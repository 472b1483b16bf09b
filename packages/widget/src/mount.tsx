import { render } from 'preact'
import { type ChatClient, createFetchClient } from './client.js'
import { Widget } from './components/Widget.js'
import { type ChatModel, createChatModel } from './model.js'
import { localSession } from './session.js'
import { adoptStyles, widgetCss } from './styles.js'
import { resolveTheme } from './theme.js'

export interface WidgetOptions {
  /** Base URL of the Joon server, e.g. `https://chat.example.com`. */
  server: string
  /** The bot to talk to. */
  bot: string
  /** The panel's heading. Default "Chat". */
  title?: string | undefined
  /** Brand colour, any CSS colour. */
  color?: string | undefined
  /** Corner of the bubble. Default "right". */
  position?: 'left' | 'right' | undefined
  /** Starting variables of new conversations (hidden fields). */
  variables?: Record<string, unknown> | undefined
  /**
   * Names the saved state (conversation, open or closed): each embed has its own unless two
   * name the same one. The bubble's default is none, an inline chat's its place in the page.
   */
  session?: string | undefined
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch | undefined
}

export interface MountOptions extends WidgetOptions {
  /** Element the widget is appended to (it renders in its own shadow root). */
  container: Element
  /** An inline chat filling the container instead of a floating bubble. */
  inline?: boolean | undefined
}

/** Unmounts the widget when called; also drives it like `window.Joon`. */
export interface MountedWidget {
  (): void
  open(): void
  close(): void
  toggle(): void
  reset(): void
}

/** Renders the widget into a new shadow root inside `container`. */
export function mount(options: MountOptions): MountedWidget {
  const host = document.createElement('div')
  host.dataset.joonWidget = ''
  options.container.append(host)
  const { model, unmount } = renderInto(host.attachShadow({ mode: 'open' }), options)
  return Object.assign(
    () => {
      unmount()
      host.remove()
    },
    { open: model.open, close: model.close, toggle: model.toggle, reset: model.reset },
  )
}

/** Renders into a shadow root the caller owns (the `<joon-chat>` element's own). */
export function renderInto(
  root: ShadowRoot,
  options: WidgetOptions & { inline?: boolean | undefined; client?: ChatClient },
): { model: ChatModel; unmount: () => void } {
  const server = options.server.replace(/\/+$/, '')
  const inline = options.inline === true
  const saved = localSession(server, options.bot, options.session)
  const model = createChatModel({
    client: options.client ?? createFetchClient(server, options.fetch),
    bot: options.bot,
    // An inline chat is always open: it leaves the saved open flag to a bubble sharing it.
    session: inline
      ? { load: saved.load, save: (s) => saved.save({ ...s, open: saved.load().open }) }
      : saved,
    variables: options.variables,
  })
  const removeStyles = adoptStyles(root, widgetCss(resolveTheme(options.color), inline))
  render(
    <Widget
      model={model}
      title={options.title?.trim() || 'Chat'}
      position={options.position === 'left' ? 'left' : 'right'}
      inline={inline}
    />,
    root,
  )
  if (inline) model.open()
  return {
    model,
    unmount: () => {
      render(null, root)
      removeStyles()
      model.dispose()
    },
  }
}
