import { Component, createRef } from 'preact'
import type { ChatState, TranscriptItem } from '../model.js'
import { Message } from './Message.js'

interface TranscriptProps {
  chat: ChatState
  onRetry: (id: number) => void
}

/** The conversation so far, kept scrolled to the newest message unless the visitor scrolled up. */
export class Transcript extends Component<TranscriptProps> {
  #scroller = createRef<HTMLDivElement>()

  /** Before new messages land: was the visitor reading the bottom (or is it hidden)? */
  override getSnapshotBeforeUpdate(previous: TranscriptProps): boolean {
    const el = this.#scroller.current
    return !el || !previous.chat.open || el.scrollHeight - el.scrollTop - el.clientHeight < 48
  }

  override componentDidUpdate(_: TranscriptProps, __: unknown, wasAtBottom: boolean) {
    const el = this.#scroller.current
    const sent = this.props.chat.items.at(-1)?.from === 'user'
    if (el && (wasAtBottom || sent)) el.scrollTop = el.scrollHeight
  }

  render({ chat: { items, typing, draft }, onRetry }: TranscriptProps) {
    const groups: TranscriptItem[][] = []
    for (const item of items) {
      const group = groups.at(-1)
      if (group?.[0]?.from === item.from) group.push(item)
      else groups.push([item])
    }
    return (
      // History restored after a reload was read already: the log is silent until news.
      <div
        class="scroll"
        ref={this.#scroller}
        role="log"
        aria-label="Conversation"
        aria-live={items[0] && items.every((it) => it.old) ? 'off' : undefined}
        aria-busy={items.at(-1)?.status === 'sending'}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
      >
        {/* Consecutive messages of one side: one stack of bubbles. */}
        {groups.map((group) => (
          <div key={group[0]!.id} class={`group ${group[0]!.from}`}>
            {group.map((item) => (
              <Message key={item.id} item={item} onRetry={onRetry} />
            ))}
          </div>
        ))}
        {draft ? (
          // A message being written: shown to the eye only, announced once it is whole.
          // Keyed, so the finished message is a new node in the log, not this one changed.
          <div key="draft" class="group bot" aria-hidden>
            <div class="msg" dir="auto">
              {draft}
            </div>
          </div>
        ) : (
          // Three dots while the bot "types"; screen readers hear "Typing" from the status line.
          typing && (
            <div class="typing" aria-hidden>
              <i />
              <i />
              <i />
            </div>
          )
        )}
      </div>
    )
  }
}
