import type { ChatModel, ChatState } from '../model.js'
import { AnswerBox } from './AnswerBox.js'
import { QuickReplies } from './QuickReplies.js'

interface FooterProps {
  chat: ChatState
  model: ChatModel
}

/**
 * Whatever answers the bot now: a text box, its buttons, or one button: "Try again" after a
 * failure, "Start over" once the conversation ended. When one replaces another under the
 * visitor's focus, Widget moves focus to the new one.
 */
export function Footer({ chat, model }: FooterProps) {
  const failed = chat.phase === 'error'
  return (
    <div class="foot">
      {chat.notice && (
        <p class="notice" role="alert">
          {chat.notice}
        </p>
      )}
      {failed || chat.ended ? (
        <button
          type="button"
          class="primary"
          data-primary=""
          onClick={failed ? model.reconnect : model.reset}
        >
          {failed ? 'Try again' : 'Start over'}
        </button>
      ) : chat.input?.type === 'buttons' ? (
        <QuickReplies chat={chat} model={model} />
      ) : (
        <AnswerBox chat={chat} model={model} />
      )}
    </div>
  )
}
