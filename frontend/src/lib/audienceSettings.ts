/**
 * A room's audience triage settings (settings.audience): the API's defaults and limits, a fresh
 * copy for the form to edit, and the lists tidied before they are sent (trimmed, no blanks, no
 * repeats, within the API's limits).
 */
import type { AudienceAnswer, AudienceInterrupt, AudienceSettings, AudienceThank } from '@/api/types'

export const ANSWER_CHOICES: readonly AudienceAnswer[] = ['all', 'questions', 'keywords', 'mentions']
export const INTERRUPT_CHOICES: readonly AudienceInterrupt[] = ['superchat', 'gift', 'guard', 'question']
export const THANK_CHOICES: readonly AudienceThank[] = ['gift', 'follow', 'guard', 'superchat']

/** Each list's limits: how many items, and how long one may be (characters). */
export const LIST_LIMITS = {
  keywords: { items: 100, chars: 50 },
  host_names: { items: 20, chars: 50 },
  blocked_words: { items: 500, chars: 50 },
  blocked_users: { items: 1000, chars: 100 },
} as const
export type ListSetting = keyof typeof LIST_LIMITS

/** Each number's range, and its default. */
export const NUMBER_LIMITS = {
  replies_per_minute: { min: 0, max: 60 },
  queue_size: { min: 1, max: 500 },
  max_wait_s: { min: 5, max: 600 },
  dedupe_window_s: { min: 0, max: 3600 },
  thank_min_value: { min: 0, max: 100000 },
  thank_batch_s: { min: 1, max: 300 },
} as const
export type NumberSetting = keyof typeof NUMBER_LIMITS

export const DEFAULT_AUDIENCE: Readonly<AudienceSettings> = {
  answer: 'all',
  keywords: [],
  host_names: [],
  replies_per_minute: 6,
  queue_size: 30,
  max_wait_s: 60,
  dedupe_window_s: 120,
  blocked_words: [],
  blocked_users: [],
  interrupt_on: ['superchat'],
  thank: ['gift', 'guard', 'follow'],
  thank_min_value: 0,
  thank_batch_s: 10,
  read_names: true,
}

/** A fresh copy of `saved` over the defaults (its lists copied too: editing it touches neither). */
export function audienceSettings(saved?: Partial<AudienceSettings> | null): AudienceSettings {
  const merged = { ...DEFAULT_AUDIENCE, ...(saved ?? {}) }
  return {
    ...merged,
    keywords: [...merged.keywords],
    host_names: [...merged.host_names],
    blocked_words: [...merged.blocked_words],
    blocked_users: [...merged.blocked_users],
    interrupt_on: [...merged.interrupt_on],
    thank: [...merged.thank],
  }
}

/** Trimmed, without blanks or repeats, each item and the list cut to the limits. */
export function tidyList(items: readonly string[], limits: { items: number; chars: number }): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  for (const raw of items) {
    const item = String(raw).trim().slice(0, limits.chars)
    if (!item || seen.has(item)) continue
    seen.add(item)
    out.push(item)
    if (out.length >= limits.items) break
  }
  return out
}

function inRange(v: unknown, name: NumberSetting): number {
  const { min, max } = NUMBER_LIMITS[name]
  const n = typeof v === 'number' && Number.isFinite(v) ? v : DEFAULT_AUDIENCE[name]
  return Math.min(max, Math.max(min, n))
}

/** What the form sends: the settings with their lists tidied and a cleared number back at its default. */
export function audiencePayload(s: AudienceSettings): AudienceSettings {
  const out = audienceSettings(s)
  for (const name of Object.keys(LIST_LIMITS) as ListSetting[]) out[name] = tidyList(out[name], LIST_LIMITS[name])
  for (const name of Object.keys(NUMBER_LIMITS) as NumberSetting[]) out[name] = inRange(out[name], name)
  for (const name of ['replies_per_minute', 'queue_size', 'max_wait_s', 'dedupe_window_s', 'thank_batch_s'] as const) {
    out[name] = Math.round(out[name])
  }
  out.interrupt_on = INTERRUPT_CHOICES.filter((c) => s.interrupt_on.includes(c))
  out.thank = THANK_CHOICES.filter((c) => s.thank.includes(c))
  return out
}
