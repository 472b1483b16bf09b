import type { TranscriptItem } from '../model.js'

/** One bubble, bot's or visitor's; a reply that could not be sent keeps its text and offers a retry. */
export function Message({
  item,
  onRetry,
}: {
  item: TranscriptItem
  onRetry: (id: number) => void
}) {
  const failed = item.status === 'failed'
  return (
    <>
      <div class={failed ? 'msg failed' : 'msg'} dir="auto">
        {/* A <bdi>: dir="auto" of the message looks past it, at the message's own text. */}
        <bdi class="sr">{item.from === 'bot' ? 'Bot: ' : 'You: '}</bdi>
        {item.text}
      </div>
      {failed && (
        <div class="failure">
          Not sent.
          <button type="button" class="link" onClick={() => onRetry(item.id)}>
            Retry
          </button>
        </div>
      )}
    </>
  )
}
