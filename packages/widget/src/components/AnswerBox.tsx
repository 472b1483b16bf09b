import { Component } from 'preact'
import type { Input, InputType } from '../api.js'
import { Icon } from './Icon.js'

// type, inputmode, autocomplete. `number` stays a text field: type=number rejects "1,5" before
// the server sees it and changes value on scroll; inputmode still brings up the numeric keyboard.
const FIELDS: Record<Exclude<InputType, 'buttons'>, string> = {
  text: 'text text off',
  email: 'email email email',
  phone: 'tel tel tel',
  number: 'text decimal off',
  url: 'url url url',
  date: 'date text off',
}

interface AnswerBoxProps {
  input: Input | null
  placeholder: string | null
  busy: boolean
  /** The server's retry prompt when the last answer was refused. */
  error: string | null
  onSend: (text: string) => boolean
}

/** The text answer: its keyboard and autofill follow what the bot asks for. */
export class AnswerBox extends Component<AnswerBoxProps, { value: string }> {
  override state = { value: '' }

  render(
    { input, placeholder, busy, error, onSend }: AnswerBoxProps,
    { value }: { value: string },
  ) {
    const setValue = (next: string) => this.setState({ value: next })
    const [type, inputMode, autocomplete] =
      FIELDS[input && input.type !== 'buttons' ? input.type : 'text'].split(' ')
    const blocked = busy || !value.trim()
    return (
      <form
        class="answer"
        noValidate
        onSubmit={(event) => {
          event.preventDefault()
          // Cleared only once the model took it: nothing typed is lost.
          if (onSend(value)) setValue('')
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
          placeholder={input?.placeholder ?? placeholder ?? 'Type your answer…'}
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
