import type { Ref } from 'preact'
import type { ChatModel, ChatState } from '../model.js'
import { Icon } from './Icon.js'

interface LauncherProps {
  chat: ChatState
  model: ChatModel
  hidden: boolean
  style: Record<string, string> | undefined
  buttonRef: Ref<HTMLButtonElement>
}

/** The floating bubble that opens and closes the panel. */
export function Launcher({
  chat: { open, unread },
  model,
  hidden,
  style,
  buttonRef,
}: LauncherProps) {
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
      onClick={model.toggle}
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
