import { parseNumber } from './answer.js'
import type { ConditionRule, JsonValue } from './schema.js'
import { renderValue } from './template.js'

/**
 * Whether a condition rule holds for the variable's current value (undefined when unset).
 *
 * - `equals` / `not_equals`: both sides rendered as in templates (strings as is, other values
 *   as JSON, unset as ""), then compared exactly, case included: `3` equals "3", `true`
 *   equals "true".
 * - `contains`: a string contains the rule's text, ignoring case; an array contains an element
 *   that `equals` the rule's value. Any other value contains nothing.
 * - `gt` / `lt`: both sides read as numbers (JSON numbers, or strings such as "42" or "3,5");
 *   false when either is not a number.
 * - `is_set`: the variable holds something other than null or "". `is_not_set` is the opposite.
 */
export function ruleHolds(rule: ConditionRule, value: JsonValue | undefined): boolean {
  const expected = rule.value === undefined ? '' : renderValue(rule.value)
  switch (rule.op) {
    case 'equals':
      return renderValue(value) === expected
    case 'not_equals':
      return renderValue(value) !== expected
    case 'contains':
      if (typeof value === 'string') return value.toLowerCase().includes(expected.toLowerCase())
      if (Array.isArray(value)) return value.some((item) => renderValue(item) === expected)
      return false
    case 'gt':
    case 'lt': {
      const left = asNumber(value)
      const right = asNumber(rule.value)
      if (left === undefined || right === undefined) return false
      return rule.op === 'gt' ? left > right : left < right
    }
    case 'is_set':
      return isSet(value)
    case 'is_not_set':
      return !isSet(value)
    default:
      return false
  }
}

function isSet(value: JsonValue | undefined): boolean {
  return value !== undefined && value !== null && value !== ''
}

function asNumber(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'string') return parseNumber(value)
  return undefined
}
