/**
 * A room's selling settings (knowledge, banned_words, products, reword_loops): the API's defaults
 * and limits, a fresh copy for the form to edit, and what the form sends (lists tidied).
 */
import type { RoomSettings, SellingSettings } from '@/api/types'
import { tidyList } from './audienceSettings'

export const SELLING_LIMITS = {
  knowledge: 8000,
  /** banned words added, and exceptions: items each */
  words: 500,
  wordChars: 30,
  products: 200,
} as const

export const DEFAULT_SELLING: Readonly<SellingSettings> = {
  knowledge: '',
  banned_words: { add: [], allow: [] },
  products: [],
  reword_loops: true,
}

/** A fresh copy of a room's saved selling settings over the defaults. */
export function sellingSettings(saved?: Partial<Record<keyof SellingSettings, unknown>> | null): SellingSettings {
  const words = (saved?.banned_words ?? {}) as Partial<Record<'add' | 'allow', unknown>>
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : [])
  return {
    knowledge: typeof saved?.knowledge === 'string' ? saved.knowledge : '',
    banned_words: { add: list(words.add), allow: list(words.allow) },
    products: Array.isArray(saved?.products) ? saved.products.map(Number).filter((n) => Number.isInteger(n) && n > 0) : [],
    reword_loops: typeof saved?.reword_loops === 'boolean' ? saved.reword_loops : DEFAULT_SELLING.reword_loops,
  }
}

/** What the form sends: the knowledge trimmed, word lists tidied, the shelf without repeats. */
export function sellingPayload(s: Pick<RoomSettings, keyof SellingSettings>): SellingSettings {
  const limits = { items: SELLING_LIMITS.words, chars: SELLING_LIMITS.wordChars }
  return {
    knowledge: s.knowledge.trim().slice(0, SELLING_LIMITS.knowledge),
    banned_words: { add: tidyList(s.banned_words.add, limits), allow: tidyList(s.banned_words.allow, limits) },
    products: [...new Set(s.products)].slice(0, SELLING_LIMITS.products),
    reword_loops: !!s.reword_loops,
  }
}
