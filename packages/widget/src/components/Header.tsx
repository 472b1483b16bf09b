import { Icon } from './Icon.js'

/** The panel's title bar; the bubble has a close button, the inline chat none. */
export function Header({ title, onClose }: { title: string; onClose?: (() => void) | undefined }) {
  return (
    <div class="head">
      <h2 id="joon-title">{title}</h2>
      {onClose && (
        <button type="button" class="icon" aria-label="Close chat" onClick={onClose}>
          <Icon name="close" />
        </button>
      )}
    </div>
  )
}
