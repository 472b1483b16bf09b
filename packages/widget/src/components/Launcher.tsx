import type { Ref } from 'preact'
import { Icon } from './Icon.js'

interface LauncherProps {
  open: boolean
  unread: number
  hidden: boolean
  style: Record<string, string> | undefined
  buttonRef: Ref<HTMLButtonElement>
  onToggle: () => void
}

/** The floating bubble that opens and closes the panel. */
export function Launcher({ open, unread, hidden, style, buttonRef, onToggle }: LauncherProps) {
  const badge = !open && unread > 0
  return (
    <button
      type="button"
      class="launcher"
      ref={buttonRef}
      hidden={hidden}
      style={style}
      aria-label={badge ? `Chat, ${unread} unread message${unread > 1 ? 's' : ''}` : 'Chat'}
      aria-expanded={open}
      aria-controls="joon-panel"
      onClick={onToggle}
    >
      <Icon name={open ? 'close' : 'chat'} />
      {badge && (
        <span class="badge" aria-hidden>
          {unread > 9 ? '9+' : unread}
        </span>
      )}
    </button>
  )
}
