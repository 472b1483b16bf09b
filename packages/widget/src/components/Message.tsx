import type { TranscriptItem } from '../model.js'

/** The visitor's bubble; a reply that could not be sent keeps its text and offers a retry. */
export function UserMessage({
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
        <bdi class="sr">You: </bdi>
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
