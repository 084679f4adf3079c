/**
 * A live's chat feed as the console keeps it: one row per viewer event (a comment, gift, paid
 * message, guard, follow), with what the host did about it, merged from three places that may
 * arrive in any order and more than once: the stored history (GET /sessions/{id}/audience, with
 * the final outcome), `audience` events (the outcome on arrival) and `audience_action` events
 * (what came of it later). Pure: no Vue, no timers.
 *
 * Rows are immutable: a change makes a new row object, so a view can skip the rows it has drawn.
 * At most `max` rows are kept (the newest by `seq`); events that are only counted ("seen": enter,
 * like, online) are not rows.
 */
import type { AudienceEventOut, LiveEvent } from '@/api/types'

/** Outcomes that are settled: later news of a row's arrival never undoes them. */
export const SETTLED_ACTIONS: ReadonlySet<string> = new Set(['answered', 'thanked', 'skipped', 'dropped'])

export interface ChatRow {
  seq: number
  platform: string
  kind: string
  userId: string
  user: string
  text: string
  gift: string
  count: number
  value: number
  currency: string
  /** Unix time, seconds */
  at: number
  /** received, queued, thanks, skipped, answered, thanked, dropped (see AudienceAction) */
  action: string
  reason: string | null
  reply: string | null
}

/** An `audience_action` that came before its row. */
interface Outcome {
  action: string
  reason: string | null
  reply: string | null
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v))
const num = (v: unknown): number => {
  const n = Number(v)
  return Number.isFinite(n) ? n : 0
}
const optStr = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : String(v))

/** Unix seconds from a number (seconds) or an ISO 8601 time; 0 when unknown. */
function seconds(at: unknown): number {
  if (typeof at === 'number') return Number.isFinite(at) ? at : 0
  if (typeof at === 'string' && at) {
    const n = Number(at)
    if (Number.isFinite(n)) return n
    const ms = Date.parse(at)
    return Number.isFinite(ms) ? ms / 1000 : 0
  }
  return 0
}

/** A row from an `audience` event (its kind in `event`) or a stored event (`kind`); null for what
 * is not a row. */
export function rowOf(e: Record<string, unknown>): ChatRow | null {
  const seq = Number(e.seq)
  const action = str(e.action) || 'received'
  if (!Number.isSafeInteger(seq) || action === 'seen') return null
  return {
    seq,
    platform: str(e.platform),
    kind: str(e.event) || str(e.kind) || 'comment',
    userId: str(e.user_id),
    user: str(e.user),
    text: str(e.text),
    gift: str(e.gift),
    count: num(e.count),
    value: num(e.value),
    currency: str(e.currency),
    at: seconds(e.at),
    action,
    reason: optStr(e.reason),
    reply: optStr(e.reply),
  }
}

/** `row` with the outcome applied (the same row when nothing changes). */
function withOutcome(row: ChatRow, o: Outcome): ChatRow {
  const reply = o.reply ?? (o.action === row.action ? row.reply : null)
  if (row.action === o.action && row.reason === o.reason && row.reply === reply) return row
  return { ...row, action: o.action, reason: o.reason, reply }
}

/**
 * `incoming` (news of the row's arrival, or its stored state) merged into what is known: its
 * outcome counts unless the known one is settled and the incoming one is not.
 */
function merged(known: ChatRow, incoming: ChatRow): ChatRow {
  if (SETTLED_ACTIONS.has(known.action) && !SETTLED_ACTIONS.has(incoming.action)) {
    return { ...incoming, action: known.action, reason: known.reason, reply: known.reply }
  }
  if (incoming.action === known.action && !incoming.reply && known.reply) return { ...incoming, reply: known.reply }
  return incoming
}

export class ChatFeed {
  private readonly rows = new Map<number, ChatRow>()
  private readonly early = new Map<number, Outcome>()
  private floor = -Infinity // rows below this seq were let go; their news is ignored
  private changed = false

  constructor(readonly max = 500) {}

  /** the number of rows kept */
  get size(): number {
    return this.rows.size
  }

  /** Takes a live event; true when the feed changed (other event types are ignored). */
  add(e: LiveEvent): boolean {
    if (e.type === 'audience') return this.put(rowOf(e))
    if (e.type === 'audience_action') return this.settle(e)
    return false
  }

  /** Takes stored events (any order, e.g. newest first as the API gives them). */
  addHistory(items: readonly AudienceEventOut[]): boolean {
    let changed = false
    for (const item of items) changed = this.put(rowOf(item as unknown as Record<string, unknown>)) || changed
    return changed
  }

  /** The rows, newest first; also clears "changed". */
  snapshot(): ChatRow[] {
    this.changed = false
    return [...this.rows.values()].sort((a, b) => b.seq - a.seq).slice(0, this.max)
  }

  /** true when rows changed since the last snapshot */
  get dirty(): boolean {
    return this.changed
  }

  clear(): void {
    this.rows.clear()
    this.early.clear()
    this.floor = -Infinity
    this.changed = true
  }

  private put(row: ChatRow | null): boolean {
    if (!row || row.seq < this.floor) return false
    const known = this.rows.get(row.seq)
    let next = known ? merged(known, row) : row
    const early = this.early.get(row.seq)
    if (early) {
      this.early.delete(row.seq)
      next = withOutcome(next, early)
    }
    if (known && sameRow(known, next)) return false
    this.rows.set(row.seq, next)
    this.trim()
    return this.mark()
  }

  private settle(e: LiveEvent): boolean {
    const seq = Number(e.seq)
    const action = str(e.action)
    if (!Number.isSafeInteger(seq) || !action || seq < this.floor) return false
    const outcome: Outcome = { action, reason: optStr(e.reason), reply: optStr(e.reply) }
    const row = this.rows.get(seq)
    if (!row) {
      this.early.set(seq, outcome) // its row may come with the history, or a moment later
      if (this.early.size > this.max) this.early.delete(this.early.keys().next().value as number)
      return false
    }
    const next = withOutcome(row, outcome)
    if (next === row) return false
    this.rows.set(seq, next)
    return this.mark()
  }

  /** Lets the oldest rows go, a slice at a time (cheap under a flood). */
  private trim(): void {
    if (this.rows.size <= this.max + Math.max(10, this.max >> 3)) return
    const seqs = [...this.rows.keys()].sort((a, b) => a - b)
    const drop = seqs.length - this.max
    for (let i = 0; i < drop; i++) this.rows.delete(seqs[i])
    this.floor = seqs[drop]
    for (const seq of this.early.keys()) if (seq < this.floor) this.early.delete(seq)
  }

  private mark(): true {
    this.changed = true
    return true
  }
}

function sameRow(a: ChatRow, b: ChatRow): boolean {
  return (Object.keys(a) as (keyof ChatRow)[]).every((k) => a[k] === b[k])
}
