import { renderInto } from './mount.js'

const ATTRIBUTES = ['bot', 'server', 'color', 'heading']

/**
 * Defines `<joon-chat bot="…" server="…" color="…" heading="…">`: the chat inline in the page
 * (sized by the page's CSS, 560 px tall by default) instead of a bubble. `server` defaults to
 * `defaultServer` (the script's origin for the script-tag bundle), else the page's origin.
 */
export function defineJoonChat(defaultServer?: string, name = 'joon-chat'): void {
  if (typeof customElements === 'undefined' || customElements.get(name)) return
  customElements.define(
    name,
    class JoonChatElement extends HTMLElement {
      static get observedAttributes() {
        return ATTRIBUTES
      }
      private unmount: (() => void) | undefined

      connectedCallback() {
        this.remount()
      }
      disconnectedCallback() {
        this.unmount?.()
        this.unmount = undefined
      }
      attributeChangedCallback() {
        if (this.isConnected) this.remount()
      }

      private remount() {
        this.unmount?.()
        this.unmount = undefined
        const bot = this.getAttribute('bot')
        if (!bot) return
        const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' })
        this.unmount = renderInto(root, {
          server: this.getAttribute('server') ?? defaultServer ?? location.origin,
          bot,
          title: this.getAttribute('heading') ?? undefined,
          color: this.getAttribute('color') ?? undefined,
          inline: true,
        }).unmount
      }
    },
  )
}
