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
          <div key={item.id} class="msg" dir="auto">
            {/* A <bdi>: dir="auto" of the message looks past it, at the message's own text. */}
            <bdi class="sr">Bot: </bdi>
            {item.text}
          </div>
        ),
      )}
    </div>
  )
}
