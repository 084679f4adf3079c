/** Script segments as editable rows (a stable key each, one shape for all kinds) and back. */
import type { Segment } from '@/api/types'

export type SegmentKind = 'say' | 'pause' | 'action'

export interface SegmentRow {
  key: number
  kind: SegmentKind
  text: string
  voice: string
  ms: number
  name: string
}

let nextKey = 1

export function newRow(kind: SegmentKind, init: Partial<SegmentRow> = {}): SegmentRow {
  return { key: nextKey++, kind, text: '', voice: '', ms: kind === 'pause' ? 800 : 0, name: '', ...init }
}

export function toRows(segments: readonly (Segment | string)[]): SegmentRow[] {
  return segments.map((seg) => {
    if (typeof seg === 'string') return newRow('say', { text: seg })
    if ('say' in seg) return newRow('say', { text: seg.say ?? '', voice: seg.voice ?? '' })
    if ('pause' in seg) return newRow('pause', { ms: Number(seg.pause) || 0 })
    return newRow('action', { name: (seg as { action: string }).action ?? '' })
  })
}

export function toSegment(row: SegmentRow): Segment {
  if (row.kind === 'pause') return { pause: Math.max(0, Math.round(Number(row.ms) || 0)) }
  if (row.kind === 'action') return { action: row.name.trim() }
  return row.voice.trim() ? { say: row.text, voice: row.voice.trim() } : { say: row.text }
}

export function toSegments(rows: readonly SegmentRow[]): Segment[] {
  return rows.map(toSegment)
}

/** A copy of `items` with the item at `from` moved to index `to`. */
export function moveItem<T>(items: readonly T[], from: number, to: number): T[] {
  const out = items.slice()
  if (from < 0 || from >= out.length || to < 0 || to >= out.length || from === to) return out
  const [item] = out.splice(from, 1)
  out.splice(to, 0, item)
  return out
}
