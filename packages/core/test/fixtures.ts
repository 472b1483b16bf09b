import { type Bot, type StepResult, validateBot } from '../src/index.js'

/** Parses a bot that must be valid, failing the test with the issues otherwise. */
export function bot(input: unknown, webhooks?: string[]): Bot {
  const result = validateBot(input, webhooks ? { webhooks } : {})
  if (!result.ok) throw new Error(result.issues.map((issue) => issue.message).join('\n'))
  return result.bot
}

/** The lead-generation bot of the contract (§1). */
export const leadGen = bot({
  id: 'lead-gen',
  name: 'Lead generation',
  start: 'welcome',
  blocks: [
    {
      id: 'welcome',
      type: 'buttons',
      text: 'What brings you here today?',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo', next: 'ask-email' }],
      next: 'ask-email',
    },
    {
      id: 'ask-email',
      type: 'question',
      answer: 'email',
      text: "What's your email address?",
      saveAnswerTo: 'email',
      next: 'ask-phone',
    },
    {
      id: 'ask-phone',
      type: 'question',
      answer: 'phone',
      text: "What's your phone number?",
      saveAnswerTo: 'phone_number',
      next: 'notify',
    },
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'thanks' },
    { id: 'thanks', type: 'text', text: 'Thanks! We will write to {{email}}.' },
  ],
})

/** The bot messages a result shows, in order. */
export function shown(result: Pick<StepResult, 'responses'>): string[] {
  return result.responses.flatMap((instruction) =>
    instruction.elements.map((element) => element.label),
  )
}
