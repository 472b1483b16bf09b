import type { TranscriptItem } from '../model.js'
import { UserMessage } from './UserMessage.js'

interface MessageGroupProps {
  from: 'bot' | 'user'
  items: TranscriptItem[]
  onRetry: (id: number) => void
}

/** Consecutive messages of one side, drawn as one stack of bubbles. */
export function MessageGroup({ from, items, onRetry }: MessageGroupProps) {
  return (
    <div class={`group ${from}`}>
      {items.map((item) =>
        from === 'user' ? (
          <UserMessage key={item.id} item={item} onRetry={onRetry} />
        ) : (
          <div key={item.id} class="msg">
            <span class="sr">Bot: </span>
            {item.text}
          </div>
        ),
      )}
    </div>
  )
}
