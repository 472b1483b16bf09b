import { Component, createRef } from 'preact'
import { focusPrimary, hasFocusWithin } from '../focus.js'
import type { ChatModel, ChatState } from '../model.js'
import { AnswerBox } from './AnswerBox.js'
import { QuickReplies } from './QuickReplies.js'
import { StartOver } from './StartOver.js'

interface FooterProps {
  state: ChatState
  model: ChatModel
}

type Kind = 'error' | 'ended' | 'buttons' | 'text'

function kindOf(state: ChatState): Kind {
  if (state.phase === 'error') return 'error'
  if (state.ended) return 'ended'
  return state.input?.type === 'buttons' ? 'buttons' : 'text'
}

/**
 * Whatever answers the bot now: a text box, its buttons, "Start over", or "Try again". When
 * one replaces another under the visitor's focus, focus moves to the new one.
 */
export class Footer extends Component<FooterProps> {
  ref = createRef<HTMLDivElement>()

  override getSnapshotBeforeUpdate(): boolean {
    return hasFocusWithin(this.ref.current)
  }

  override componentDidUpdate(previous: FooterProps, _: unknown, hadFocus: boolean) {
    if (hadFocus && kindOf(previous.state) !== kindOf(this.props.state)) {
      focusPrimary(this.ref.current)
    }
  }

  render({ state, model }: FooterProps) {
    const kind = kindOf(state)
    const last = state.items[state.items.length - 1]
    return (
      <div class="foot" ref={this.ref}>
        {state.notice && (
          <p class="notice" role="alert">
            {state.notice}
          </p>
        )}
        {kind === 'error' ? (
          <button type="button" class="primary" data-primary="" onClick={model.reconnect}>
            Try again
          </button>
        ) : kind === 'ended' ? (
          <StartOver onStartOver={model.reset} />
        ) : kind === 'buttons' ? (
          <QuickReplies
            choices={state.input?.choices ?? []}
            busy={state.busy}
            onChoose={model.send}
          />
        ) : (
          <AnswerBox
            input={state.input}
            placeholder={state.placeholder}
            busy={state.busy || state.phase !== 'ready'}
            error={state.invalid && last?.from === 'bot' ? last.text : null}
            onSend={model.send}
          />
        )}
      </div>
    )
  }
}
