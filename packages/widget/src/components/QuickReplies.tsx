import type { ChatModel, ChatState } from '../model.js'

/** A buttons input: each choice is sent as the visitor's reply, and shown as their bubble. */
export function QuickReplies({ chat, model }: { chat: ChatState; model: ChatModel }) {
  return (
    <fieldset class="choices">
      <legend class="sr">Choose an answer</legend>
      {chat.input?.choices?.map((choice, index) => (
        <button
          key={index}
          type="button"
          class="choice"
          dir="auto"
          data-primary={index === 0 ? '' : undefined}
          aria-disabled={chat.busy || undefined}
          onClick={() => model.send(choice.label)}
        >
          {choice.label}
        </button>
      ))}
    </fieldset>
  )
}
