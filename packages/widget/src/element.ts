import { renderInto } from './mount.js'

const ATTRIBUTES = ['bot', 'server', 'color', 'heading', 'session']

/**
 * Defines `<joon-chat bot="…" server="…" color="…" heading="…" session="…">`: the chat inline
 * in the page (sized by the page's CSS, 560 px tall by default) instead of a bubble. `server`
 * defaults to `defaultServer` (the script's origin for the script-tag bundle), else the page's
 * origin; `session` to the element's place among the page's `<joon-chat>` elements.
 */
export function defineJoonChat(defaultServer?: string, name = 'joon-chat'): void {
  if (typeof customElements === 'undefined' || customElements.get(name)) return
  customElements.define(
    name,
    class JoonChatElement extends HTMLElement {
      static observedAttributes = ATTRIBUTES
      #unmount: (() => void) | undefined
      #connected = false

      connectedCallback() {
        this.#connected = true
        this.#remount()
      }
      disconnectedCallback() {
        this.#connected = false
        this.#remount()
      }
      // Also called once per attribute while the element is set up, before it is connected:
      // only a change after that starts over (one mount, one conversation).
      attributeChangedCallback(_: string, before: string | null, after: string | null) {
        if (before !== after) this.#remount()
      }

      /** Unmounts, then mounts again while connected and given a bot. */
      #remount() {
        this.#unmount?.()
        this.#unmount = undefined
        const bot = this.getAttribute('bot')
        if (!bot || !this.#connected) return
        const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' })
        this.#unmount = renderInto(root, {
          server: this.getAttribute('server') ?? defaultServer ?? location.origin,
          bot,
          title: this.getAttribute('heading') ?? undefined,
          color: this.getAttribute('color') ?? undefined,
          session:
            this.getAttribute('session') ??
            `inline${[...document.querySelectorAll(name)].indexOf(this)}`,
          inline: true,
        }).unmount
      }
    },
  )
}
