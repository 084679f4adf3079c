/**
 * The API's reasons in the UI's language. A failure names a reason from the API's catalogue
 * (backend/errors.py REASONS, worded by `reason.<name>`) with its values; a refused field names
 * pydantic's error type (worded by `invalid.<type>`) with its context. Values read as a person
 * reads them: ISO 8601 times in local time, a status, role or kind of thing in words.
 *
 * Every function gives null for what it cannot word (an unknown reason, a `value_error` whose text
 * only the server knows, a value the wording needs but the server did not send): the caller then
 * shows the server's own message.
 */
import type { FieldReason } from '@/api/types'
import { hasKey, t } from '@/i18n'
import { dateTime } from './format'

type Params = Record<string, unknown>

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/

/** Values that name one of a known set, by the message-key prefix that words them. */
const NAMED_BY: Record<string, string> = { what: 'what', status: 'status', state: 'status', role: 'role', repeat: 'repeat' }

/** One value of a reason, for a sentence. */
export function paramText(name: string, value: unknown): string {
  if (value == null) return ''
  if (Array.isArray(value)) return value.map((v) => paramText(name, v)).join(', ')
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return dateTime(value)
    const key = NAMED_BY[name] ? `${NAMED_BY[name]}.${value}` : ''
    return key && hasKey(key) ? t(key) : value
  }
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** The message `key` with its {placeholders} filled from `params`, or null (no such key, or a value missing). */
export function wordKey(key: string, params: Params = {}): string | null {
  if (!hasKey(key)) return null
  const names = [...t(key).matchAll(/\{(\w+)\}/g)].map((m) => m[1])
  if (names.some((n) => !(n in params))) return null
  return t(key, Object.fromEntries(names.map((n) => [n, paramText(n, params[n])])))
}

/** A reason of the API's catalogue in words, or null. */
export function reasonText(reason: string | null | undefined, params: Params | null | undefined): string | null {
  return reason ? wordKey(`reason.${reason}`, params ?? {}) : null
}

/** Why a field was refused, in words (pydantic's error type, or a reason of the catalogue), or null. */
export function fieldReasonText(fr: FieldReason | null | undefined): string | null {
  if (!fr || !fr.reason || fr.reason === 'value_error') return null
  return wordKey(`invalid.${fr.reason}`, fr.params ?? {}) ?? reasonText(fr.reason, fr.params)
}
