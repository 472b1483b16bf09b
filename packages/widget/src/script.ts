/**
 * The script-tag entry (dist/widget.js): reads its `data-` attributes and mounts the bubble.
 *
 *   <script src="https://chat.example.com/widget.js" data-bot="lead-gen" defer></script>
 */
import { defineJoonChat } from './element.js'
import { type MountedWidget, mount } from './mount.js'

export interface JoonApi {
  open(): void
  close(): void
  toggle(): void
  reset(): void
}

declare global {
  interface Window {
    Joon?: JoonApi
    JoonWidget?: JoonApi
  }
}

const script = document.currentScript as HTMLScriptElement | null
// The server defaults to where this script came from.
const origin = new URL(script?.src || location.href).origin
defineJoonChat(origin)

const data = script?.dataset
const bot = data?.bot
// The bot of the bubble already on this page, under a key no element id or page script takes
// (an element with id="Joon" makes `window.Joon` that element).
const MOUNTED = Symbol.for('joon.bot')
const page = window as unknown as Record<symbol, string>
if (page[MOUNTED]) {
  // A second copy of the script (a theme and a plugin both adding it) changes nothing.
  if (bot && bot !== page[MOUNTED]) console.warn(`Joon: one bubble a page, ${bot} ignored`)
} else if (bot) {
  page[MOUNTED] = bot
  let widget: MountedWidget | undefined
  const api = {} as JoonApi
  for (const name of ['open', 'close', 'toggle', 'reset'] as const) {
    api[name] = () => widget?.[name]()
  }
  window.JoonWidget = api
  // The page's own `Joon` (a variable, or an element's id) stays as it is.
  if (window.Joon) console.warn('Joon: window.Joon is taken; use window.JoonWidget')
  else window.Joon = api
  const start = () => {
    widget = mount({
      container: document.body,
      server: data.server ? new URL(data.server, location.href).href : origin,
      bot,
      title: data.title,
      color: data.color,
      position: data.position === 'left' ? 'left' : 'right',
      session: data.session,
    })
  }
  if (document.body) start()
  else document.addEventListener('DOMContentLoaded', start, { once: true })
}
