/**
 * A save refused for banned words (违禁词): the API's 422 `banned_words` names, per field
 * ("segments.2.say", "selling_points.0", "settings.persona", ...), the words found there. Here: which
 * words at which field, the message under each field and a summary naming every word and where it
 * is, in the UI's language.
 *
 * The words come from the field's reason (`field_reasons[field].params.words`) when the API gives
 * one, else from its English message ("banned words: 最低价, 第一").
 */
import { ApiError } from '@/api/http'
import { t, type MessageKey } from '@/i18n'

/** The banned words found in one field. */
export interface BannedAt {
  field: string
  words: string[]
}

export const BANNED_WORDS = 'banned_words'

/** Is `e` a save refused for banned words? */
export function isBannedWords(e: unknown): boolean {
  return e instanceof ApiError && e.status === 422 && (e.code === BANNED_WORDS || e.reason === BANNED_WORDS)
}

function wordList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((w) => String(w).trim()).filter(Boolean)
  if (typeof value === 'string') return value.split(/\s*[,，、]\s*/).map((w) => w.trim()).filter(Boolean)
  return []
}

/** The words of a field's English message: what follows its last colon, split at commas. */
function wordsOfMessage(message: string): string[] {
  const colon = Math.max(message.lastIndexOf(':'), message.lastIndexOf('：'))
  return wordList(colon >= 0 ? message.slice(colon + 1) : message)
}

/** Each field with the banned words found there, in the API's order; [] when `e` is no such error. */
export function bannedFields(e: unknown): BannedAt[] {
  if (!(e instanceof ApiError) || !isBannedWords(e)) return []
  const out: BannedAt[] = []
  const fields = new Set([...Object.keys(e.fields), ...Object.keys(e.fieldReasons)])
  for (const field of fields) {
    if (field === 'body' || field === 'query') continue
    const fr = e.fieldReasons[field]
    const words = fr && fr.reason === BANNED_WORDS && fr.params ? wordList(fr.params.words) : []
    out.push({ field, words: words.length ? words : wordsOfMessage(e.fields[field] ?? '') })
  }
  if (!out.length) {
    const words = wordList(e.params.words)
    if (words.length) out.push({ field: '', words })
  }
  return out
}

/** Every distinct word of the refusal, in order. */
export function bannedWordsIn(found: readonly BannedAt[]): string[] {
  return [...new Set(found.flatMap((f) => f.words))]
}

/** Words joined as the UI's language lists them ("最低价、第一" / "最低价, 第一"). */
export function joinWords(words: readonly string[]): string {
  return words.join(t('common.listSep'))
}

/** The message under a field that holds banned words. */
export function bannedFieldText(words: readonly string[]): string {
  return t('banned.atField', { words: joinWords(words) })
}

/** Messages by field for the form (the same keys as the API's fields). */
export function bannedFieldErrors(found: readonly BannedAt[]): Record<string, string> {
  return Object.fromEntries(found.filter((f) => f.field).map((f) => [f.field, bannedFieldText(f.words)]))
}

const LABELS: Record<string, MessageKey> = {
  name: 'banned.where.name',
  'settings.persona': 'banned.where.persona',
  'settings.default_reply': 'banned.where.defaultReply',
  'settings.fallback_line': 'banned.where.fallbackLine',
}

/** Where a field is, for a person: "段落 3", "卖点 1", "FAQ 2 的回答", "关键词“价格”的回复". */
export function fieldLabel(field: string): string {
  if (LABELS[field]) return t(LABELS[field])
  let m = /^segments\.(\d+)(?:\.\w+)?$/.exec(field)
  if (m) return t('banned.where.segment', { n: Number(m[1]) + 1 })
  m = /^selling_points\.(\d+)$/.exec(field)
  if (m) return t('banned.where.sellingPoint', { n: Number(m[1]) + 1 })
  m = /^faq\.(\d+)\.(q|a)$/.exec(field)
  if (m) return t(m[2] === 'q' ? 'banned.where.faqQuestion' : 'banned.where.faqAnswer', { n: Number(m[1]) + 1 })
  m = /^settings\.keyword_replies\.(.+)$/.exec(field)
  if (m) return t('banned.where.keywordReply', { keyword: m[1] })
  return field
}

/** One sentence naming every word and where it is, or '' when nothing was found. */
export function bannedSummary(found: readonly BannedAt[]): string {
  if (!found.length) return ''
  const parts = found.map((f) => (f.field
    ? t('banned.part', { where: fieldLabel(f.field), words: joinWords(f.words) })
    : joinWords(f.words)))
  return t('banned.summary', { list: parts.join(t('banned.partSep')) })
}
