/** Bots the browser tests talk to, loaded into a real @joon/server through its admin API. */

/** The contract's §1 bot, verbatim. */
export const leadGen = {
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
}

/** A synchronous webhook whose reply is two delayed messages. */
export const orders = {
  id: 'orders',
  start: 'ask',
  blocks: [
    {
      id: 'ask',
      type: 'question',
      answer: 'text',
      text: 'Your order number?',
      placeholder: 'e.g. A-1001',
      saveAnswerTo: 'order',
      next: 'check',
    },
    { id: 'check', type: 'webhook', webhook: 'orders-api', onError: 'sorry', next: 'more' },
    {
      id: 'more',
      type: 'buttons',
      text: 'Anything else?',
      choices: [{ label: 'No, thanks' }],
      next: 'bye',
    },
    { id: 'bye', type: 'text', text: 'Bye!' },
    { id: 'sorry', type: 'text', text: 'Sorry, we cannot check orders right now.' },
  ],
}

export const HOSTILE_LABEL = '<img src=x onerror=alert(1)>'

/** Markup in every place a bot can put text. */
export const hostile = {
  id: 'hostile',
  start: 'hello',
  blocks: [
    { id: 'hello', type: 'text', text: `Hello ${HOSTILE_LABEL}`, next: 'pick' },
    {
      id: 'pick',
      type: 'buttons',
      text: 'Pick one',
      choices: [{ label: HOSTILE_LABEL }, { label: '<b>bold</b>' }],
      next: 'echo',
    },
    {
      id: 'echo',
      type: 'question',
      answer: 'text',
      text: 'Say anything',
      saveAnswerTo: 'said',
      next: 'end',
    },
    { id: 'end', type: 'text', text: 'You said {{said}}' },
  ],
}

/** Every answer type, for the answer box's attributes. */
export const kinds = {
  id: 'kinds',
  start: 'number',
  blocks: [
    { id: 'number', type: 'question', answer: 'number', text: 'How many seats?', next: 'url' },
    { id: 'url', type: 'question', answer: 'url', text: 'Your website?', next: 'date' },
    { id: 'date', type: 'question', answer: 'date', text: 'When?', next: 'done' },
    { id: 'done', type: 'text', text: 'Done.' },
  ],
}

/** Four choices, one of them long: what zoomed-in and narrow screens must still show. */
export const plans = {
  id: 'plans',
  start: 'pick',
  blocks: [
    {
      id: 'pick',
      type: 'buttons',
      text: 'Which of our plans would you like to hear more about today?',
      choices: [
        { label: 'Starter' },
        { label: 'Team' },
        { label: 'Enterprise' },
        {
          label: 'I am not sure yet and would like to talk to somebody from your sales team first',
        },
      ],
      next: 'done',
    },
    { id: 'done', type: 'text', text: 'Thanks, we will be in touch.' },
  ],
}

/** Says something, then waits on a slow synchronous webhook: what a streamed turn shows early. */
export const tracking = {
  id: 'tracking',
  start: 'checking',
  blocks: [
    { id: 'checking', type: 'text', text: 'Let me check your order…', next: 'lookup' },
    { id: 'lookup', type: 'webhook', webhook: 'tracking-api', onError: 'sorry', next: 'ask' },
    { id: 'sorry', type: 'text', text: 'Sorry, we cannot check orders right now.', next: 'ask' },
    { id: 'ask', type: 'question', answer: 'text', text: 'Anything else?', next: 'checking' },
  ],
}
