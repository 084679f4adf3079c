/**
 * A drafted script (POST /api/scripts/draft) made ready for the segment editor: its segments in the
 * form the editor and the API take (product ids as numbers; anything else the editor cannot show
 * left out), and the say segments that still hold banned words, by their index after that.
 */
import type { Draft, DraftIn, DraftLanguage, DraftStyle, Segment } from '@/api/types'
import { DRAFT_STYLES } from '@/api/types'
import { productId } from './segments'

/** How many products one draft may present. */
export const DRAFT_PRODUCTS = { min: 1, max: 20 } as const

export interface DraftForEditor {
  title: string
  segments: Segment[]
  /** index of a say segment in `segments` -> the banned words it still holds */
  banned: Record<number, string[]>
}

/** One segment of a draft in the editor's form, or null when it is none the editor knows. */
function segmentOf(seg: unknown): Segment | null {
  if (typeof seg === 'string') return seg.trim() ? { say: seg } : null
  if (!seg || typeof seg !== 'object') return null
  const s = seg as Record<string, unknown>
  if (typeof s.say === 'string') return typeof s.voice === 'string' && s.voice ? { say: s.say, voice: s.voice } : { say: s.say }
  if ('pause' in s) {
    const ms = Number(s.pause)
    return Number.isFinite(ms) && ms > 0 ? { pause: Math.round(ms) } : null
  }
  if ('product' in s) {
    const id = productId(s.product)
    return id === null ? null : { product: id }
  }
  if (typeof s.action === 'string' && s.action) return { action: s.action }
  return null
}

/** The draft's segments for the editor, and which of them (by their new index) still hold banned words. */
export function draftForEditor(draft: Draft): DraftForEditor {
  const segments: Segment[] = []
  const newIndex = new Map<number, number>()
  ;(Array.isArray(draft.segments) ? draft.segments : []).forEach((raw, i) => {
    const seg = segmentOf(raw)
    if (!seg) return
    newIndex.set(i, segments.length)
    segments.push(seg)
  })
  const banned: Record<number, string[]> = {}
  for (const b of Array.isArray(draft.banned) ? draft.banned : []) {
    const at = newIndex.get(Number(b?.segment))
    const words = Array.isArray(b?.words) ? b.words.map(String).filter(Boolean) : []
    if (at === undefined || !words.length || !('say' in segments[at])) continue
    banned[at] = [...new Set([...(banned[at] ?? []), ...words])]
  }
  return { title: typeof draft.title === 'string' ? draft.title.trim() : '', segments, banned }
}

/** The draft request's mistakes by field ('product_ids', 'style'), before anything is sent. */
export function draftProblems(body: Partial<DraftIn>): Record<string, 'none' | 'tooMany' | 'style'> {
  const out: Record<string, 'none' | 'tooMany' | 'style'> = {}
  const n = body.product_ids?.length ?? 0
  if (n < DRAFT_PRODUCTS.min) out.product_ids = 'none'
  else if (n > DRAFT_PRODUCTS.max) out.product_ids = 'tooMany'
  if (!DRAFT_STYLES.includes(body.style as DraftStyle)) out.style = 'style'
  return out
}

/** The language a draft is written in by default: the UI's. */
export function draftLanguageFor(locale: string): DraftLanguage {
  return locale.startsWith('zh') ? 'zh' : 'en'
}
