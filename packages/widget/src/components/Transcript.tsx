import { Component, createRef } from 'preact'
import type { TranscriptItem } from '../model.js'
import { MessageGroup } from './MessageGroup.js'
import { TypingIndicator } from './TypingIndicator.js'

interface TranscriptProps {
  items: TranscriptItem[]
  typing: boolean
  /** A bot message being written: shown to the eye only, announced once it is whole. */
  draft: string | null
  visible: boolean
  onRetry: (id: number) => void
}

/** The conversation so far, kept scrolled to the newest message unless the visitor scrolled up. */
export class Transcript extends Component<TranscriptProps> {
  scroller = createRef<HTMLDivElement>()

  /** Before new messages land: was the visitor reading the bottom (or is it hidden)? */
  override getSnapshotBeforeUpdate(previous: TranscriptProps): boolean {
    const el = this.scroller.current
    return !el || !previous.visible || el.scrollHeight - el.scrollTop - el.clientHeight < 48
  }

  override componentDidUpdate(_: TranscriptProps, __: unknown, wasAtBottom: boolean) {
    const el = this.scroller.current
    const last = this.props.items[this.props.items.length - 1]
    if (el && (wasAtBottom || last?.from === 'user')) el.scrollTop = el.scrollHeight
  }

  render({ items, typing, draft, onRetry }: TranscriptProps) {
    const groups: TranscriptItem[][] = []
    for (const item of items) {
      const group = groups[groups.length - 1]
      if (group?.[0]?.from === item.from) group.push(item)
      else groups.push([item])
    }
    return (
      // History restored after a reload was read already: the log is silent until news.
      <div
        class="scroll"
        ref={this.scroller}
        role="log"
        aria-label="Conversation"
        aria-live={items[0] && items.every((it) => it.old) ? 'off' : undefined}
        aria-busy={items.at(-1)?.status === 'sending'}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
      >
        {groups.map((group) => (
          <MessageGroup key={group[0]!.id} from={group[0]!.from} items={group} onRetry={onRetry} />
        ))}
        {draft ? (
          // Keyed, so the finished message is a new node in the log, not this one changed.
          <div key="draft" class="group bot" aria-hidden>
            <div class="msg" dir="auto">
              {draft}
            </div>
          </div>
        ) : (
          typing && <TypingIndicator />
        )}
      </div>
    )
  }
}
