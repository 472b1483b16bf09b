// `max` metadata: the default `min` set mostly checks lengths, and takes 0000000000 for a number
// of Côte d'Ivoire. Bundles that use only the protocol functions leave it out (sideEffects: false).
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max'
import type { AnswerType, ButtonsBlock, Choice, JsonValue } from './schema.js'

export type AnswerValidation = { ok: true; value: JsonValue } | { ok: false }

/**
 * Checks a typed answer (contract §2). The saved value is the trimmed text as typed (email,
 * phone, url and date are validated, not rewritten) except for `number`, saved as a JSON number.
 * An empty answer is never valid.
 */
export function validateAnswer(type: AnswerType, text: string): AnswerValidation {
  const answer = text.trim()
  if (answer === '') return INVALID
  switch (type) {
    case 'text':
      return { ok: true, value: answer }
    case 'email':
      return isEmail(answer) ? { ok: true, value: answer } : INVALID
    case 'phone':
      return isPhoneNumber(answer) ? { ok: true, value: answer } : INVALID
    case 'number': {
      const value = parseNumber(answer)
      return value === undefined ? INVALID : { ok: true, value }
    }
    case 'url':
      return isWebAddress(answer) ? { ok: true, value: answer } : INVALID
    case 'date':
      return isDate(answer) ? { ok: true, value: answer } : INVALID
    default:
      return INVALID
  }
}

const INVALID: AnswerValidation = { ok: false }

/** The choice a reply picks: its label or value, compared case-insensitively after trimming. */
export function matchChoice(
  block: Pick<ButtonsBlock, 'choices'>,
  text: string,
): Choice | undefined {
  const answer = fold(text)
  if (answer === '') return undefined
  return block.choices.find(
    (choice) =>
      fold(choice.label) === answer ||
      (choice.value !== undefined && fold(choice.value) === answer),
  )
}

function fold(text: string): string {
  const trimmed = text.trim()
  // Unicode normalisation only where it can matter: "é" typed as e + accent matches "é".
  // (Locale-independent lowercasing: a chat does not know its visitor's locale.)
  return (NON_ASCII.test(trimmed) ? trimmed.normalize('NFC') : trimmed).toLowerCase()
}

const NON_ASCII = /[\u0080-\uffff]/

// Local part: the dot-atom of RFC 5322 (no quoted strings, which nobody types into a chat).
// Domain: dot-separated labels of letters (any script), digits and inner hyphens, ending in
// a top-level domain of at least two letters.
const EMAIL =
  /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}$/u

function isEmail(text: string): boolean {
  const at = text.lastIndexOf('@')
  return text.length <= 254 && at > 0 && at <= 64 && EMAIL.test(text)
}

/**
 * Regions tried, in order, for numbers typed in national form (`0612345678`). A number given
 * in international form (`+33 …`) is checked for its own region. Any region accepting it is
 * enough: a chat rarely knows its visitor's country.
 */
export const PHONE_REGIONS: readonly CountryCode[] = [
  'FR',
  'US',
  'GB',
  'DE',
  'ES',
  'IT',
  'BE',
  'CH',
  'NL',
  'CA',
  'PT',
  'IE',
  'LU',
  'AT',
  'AU',
  'NZ',
  'IN',
  'BR',
  'MX',
  'JP',
  'MA',
  'SN',
  'CI',
  'TN',
  'DZ',
] as const

// Only what people type in phone numbers; refuses "call me at 06…" which the library would mine.
const PHONE_CHARACTERS = /^\+?[\d\s().\-/]{4,30}$/

function isPhoneNumber(text: string): boolean {
  if (!PHONE_CHARACTERS.test(text)) return false
  if (text.startsWith('+')) return isValidIn(text, undefined)
  return PHONE_REGIONS.some((region) => isValidIn(text, region))
}

function isValidIn(text: string, region: CountryCode | undefined): boolean {
  // extract: false, since the whole text is the number: about twice as fast as searching it.
  const options =
    region === undefined ? { extract: false } : { defaultCountry: region, extract: false }
  return parsePhoneNumberFromString(text, options)?.isValid() === true
}

/**
 * A number as people type it: `42`, `-3`, `+7`, `3.5`, `.5` and, with a decimal comma, `3,5`.
 * A comma followed by exactly three digits (`1,000`) is ambiguous between a thousands separator
 * and a decimal comma, so it is refused and the question asked again rather than guessed.
 */
export function parseNumber(text: string): number | undefined {
  const answer = text.trim()
  const match = /^([+-]?)(\d*)(?:([.,])(\d+))?$/.exec(answer)
  if (!match) return undefined
  const [, sign = '', whole = '', separator, fraction = ''] = match
  if (whole === '' && fraction === '') return undefined
  if (separator === ',' && fraction.length === 3) return undefined
  const value = Number(`${sign}${whole || '0'}${fraction ? `.${fraction}` : ''}`)
  // `-0` would be stored as 0 by any JSON store anyway; normalising keeps states round-tripping.
  return Number.isFinite(value) ? value + 0 : undefined
}

// A bare web address such as `example.com` or `www.example.co.uk/pricing`.
const BARE_DOMAIN =
  /^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}(?::\d{1,5})?(?:[/?#]\S*)?$/u

/** An http(s) URL, or a bare domain (`example.com`), which is what most people type. */
function isWebAddress(text: string): boolean {
  if (/\s/.test(text)) return false
  if (/^https?:\/\//i.test(text)) {
    const url = URL.parse(text)
    return url?.hostname.includes('.') === true && !url.hostname.endsWith('.')
  }
  return BARE_DOMAIN.test(text)
}

/**
 * A real calendar date as `YYYY-MM-DD` (ISO 8601) or day first, `DD/MM/YYYY`, also with `.`
 * or `-` separators and one-digit day or month. Month-first (US) dates are not accepted: the
 * two orders cannot be told apart, and day-first is what most of the world writes.
 */
function isDate(text: string): boolean {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (iso) return isCalendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]))
  const dayFirst = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/.exec(text)
  if (dayFirst) return isCalendarDate(Number(dayFirst[4]), Number(dayFirst[3]), Number(dayFirst[1]))
  return false
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0
  return day <= days
}
