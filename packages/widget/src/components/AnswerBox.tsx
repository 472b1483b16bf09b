import { Component } from 'preact'
import type { InputType } from '../api.js'
import type { ChatModel, ChatState } from '../model.js'
import { Icon } from './Icon.js'

// type, inputmode, autocomplete; any other kind (text, or one this version does not know) gets
// 'text text off'. `number` stays a text field: type=number rejects "1,5" before the server sees
// it and changes value on scroll; inputmode still brings up the numeric keyboard.
const FIELDS: Partial<Record<InputType, string>> = {
  email: 'email email email',
  phone: 'tel tel tel',
  number: 'text decimal off',
  url: 'url url url',
  date: 'date text off',
}

interface AnswerBoxProps {
  /** The model's state (this component's own `state` is what is typed). */
  chat: ChatState
  model: ChatModel
}

/** The text answer: its keyboard and autofill follow what the bot asks for. */
export class AnswerBox extends Component<AnswerBoxProps, { value: string }> {
  override state = { value: '' }

  render({ chat, model }: AnswerBoxProps, { value }: { value: string }) {
    const { input } = chat
    const busy = chat.busy || chat.phase !== 'ready'
    // The server's retry prompt when the last answer was refused.
    const last = chat.items.at(-1)
    const error = chat.invalid && last?.from === 'bot' ? last.text : null
    const setValue = (next: string) => this.setState({ value: next })
    const [type, inputMode, autocomplete] = (
      FIELDS[input?.type as InputType] ?? 'text text off'
    ).split(' ')
    const blocked = busy || !value.trim()
    return (
      <form
        class="answer"
        noValidate
        onSubmit={(event) => {
          event.preventDefault()
          // Cleared only once the model took it: nothing typed is lost.
          if (model.send(value)) setValue('')
        }}
      >
        <input
          data-primary=""
          type={type}
          inputMode={inputMode}
          autocomplete={autocomplete}
          enterKeyHint="send"
          maxLength={10_000}
          dir="auto"
          // Text typed while the bot answers could be lost (buttons may replace the box).
          readOnly={busy}
          aria-label="Your answer"
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'joon-error' : undefined}
          placeholder={input?.placeholder ?? chat.placeholder ?? 'Type your answer…'}
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        {error && (
          <span id="joon-error" class="sr">
            {error}
          </span>
        )}
        <button type="submit" class="send" aria-label="Send" aria-disabled={blocked || undefined}>
          <Icon name="send" />
        </button>
      </form>
    )
  }
}
