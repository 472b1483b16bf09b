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
  }
}

const script = document.currentScript as HTMLScriptElement | null
// The server defaults to where this script came from.
const origin = script?.src ? new URL(script.src).origin : location.origin
defineJoonChat(origin)

const data = script?.dataset
// A second copy of the script (a theme and a plugin both adding it) changes nothing.
if (data?.bot && !window.Joon) {
  const bot = data.bot
  let widget: MountedWidget | undefined
  window.Joon = {
    open: () => widget?.open(),
    close: () => widget?.close(),
    toggle: () => widget?.toggle(),
    reset: () => widget?.reset(),
  }
  const start = () => {
    widget = mount({
      container: document.body,
      server: data.server ? new URL(data.server, location.href).href : origin,
      bot,
      title: data.title,
      color: data.color,
      position: data.position === 'left' ? 'left' : 'right',
    })
  }
  if (document.body) start()
  else document.addEventListener('DOMContentLoaded', start, { once: true })
}
