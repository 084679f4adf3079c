/** Script segments as editable rows (a stable key each, one shape for all kinds) and back. */
import type { Segment } from '@/api/types'

export type SegmentKind = 'say' | 'pause' | 'action' | 'product'

export interface SegmentRow {
  key: number
  kind: SegmentKind
  text: string
  voice: string
  ms: number
  name: string
  /** a product segment's product (null until one is chosen) */
  product: number | null
  /** banned words a draft left in this say text, for the operator to take out (moves with the row) */
  banned: string[]
}

let nextKey = 1

export function newRow(kind: SegmentKind, init: Partial<SegmentRow> = {}): SegmentRow {
  return {
    key: nextKey++, kind, text: '', voice: '', ms: kind === 'pause' ? 800 : 0, name: '', product: null, banned: [], ...init,
  }
}

/** A product id as the dashboard keeps it: a number (the API's ids), or null when it is none. */
export function productId(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN
  return Number.isInteger(n) && n > 0 ? n : null
}

/** Rows of `segments`; `banned` marks the say segments (by index) that still hold banned words. */
export function toRows(segments: readonly (Segment | string)[], banned: Readonly<Record<number, string[]>> = {}): SegmentRow[] {
  return segments.map((seg, i) => {
    if (typeof seg === 'string') return newRow('say', { text: seg, banned: banned[i] ?? [] })
    if ('say' in seg) return newRow('say', { text: seg.say ?? '', voice: seg.voice ?? '', banned: banned[i] ?? [] })
    if ('pause' in seg) return newRow('pause', { ms: Number(seg.pause) || 0 })
    if ('product' in seg) return newRow('product', { product: productId(seg.product) })
    return newRow('action', { name: (seg as { action: string }).action ?? '' })
  })
}

export function toSegment(row: SegmentRow): Segment {
  if (row.kind === 'pause') return { pause: Math.max(0, Math.round(Number(row.ms) || 0)) }
  if (row.kind === 'action') return { action: row.name.trim() }
  if (row.kind === 'product') return { product: row.product ?? 0 }
  return row.voice.trim() ? { say: row.text, voice: row.voice.trim() } : { say: row.text }
}

export function toSegments(rows: readonly SegmentRow[]): Segment[] {
  return rows.map(toSegment)
}

/** Text as the banned-word check sees it, roughly: full-width folded, lower case, no spaces or punctuation. */
export function foldText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '')
}

/** The words of `words` that `text` still holds (seen through spaces, punctuation and full-width letters). */
export function stillHolds(text: string, words: readonly string[]): string[] {
  const folded = foldText(text)
  return words.filter((w) => {
    const f = foldText(w)
    return f !== '' && folded.includes(f)
  })
}

/** A copy of `items` with the item at `from` moved to index `to`. */
export function moveItem<T>(items: readonly T[], from: number, to: number): T[] {
  const out = items.slice()
  if (from < 0 || from >= out.length || to < 0 || to >= out.length || from === to) return out
  const [item] = out.splice(from, 1)
  out.splice(to, 0, item)
  return out
}
