/** When a schedule's occurrences fall, for the month calendar, and whether each went on air. */
import type { Schedule, Session } from '@/api/types'

const DAY_MS = 86_400_000
const PERIOD: Record<string, number> = { daily: DAY_MS, weekly: 7 * DAY_MS }

/** The start of the occurrence of `s` that begins within [from, to), or null. */
export function occurrenceIn(s: Pick<Schedule, 'start_at' | 'repeat'>, from: Date, to: Date): Date | null {
  const start = Date.parse(s.start_at)
  if (Number.isNaN(start)) return null
  const period = PERIOD[s.repeat]
  if (!period) return start >= from.getTime() && start < to.getTime() ? new Date(start) : null
  const k = Math.max(0, Math.ceil((from.getTime() - start) / period))
  const occ = start + k * period
  return occ < to.getTime() ? new Date(occ) : null
}

/**
 * The start of the next occurrence of `s` that has not started by `now` (ms), from the API's
 * `next_start` (the current or next occurrence that has not ended): an occurrence that has
 * started is on air or missed, not upcoming. Null when there is none.
 */
export function upcomingStart(s: Pick<Schedule, 'next_start' | 'repeat'>, now: number): Date | null {
  const next = s.next_start ? Date.parse(s.next_start) : NaN
  if (Number.isNaN(next)) return null
  if (next > now) return new Date(next)
  const period = PERIOD[s.repeat]
  if (!period) return null
  return new Date(next + (Math.floor((now - next) / period) + 1) * period)
}

/** Local midnight of the day `d` falls in, and of the next day. */
export function dayBounds(d: Date): [Date, Date] {
  const a = new Date(d.getFullYear(), d.getMonth(), d.getDate())
  const b = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1)
  return [a, b]
}

export interface DayItem {
  schedule: Schedule
  start: Date
  end: Date
}

/** The schedules that start on the local day of `day`, by time. */
export function itemsOnDay(schedules: readonly Schedule[], day: Date): DayItem[] {
  const [from, to] = dayBounds(day)
  const out: DayItem[] = []
  for (const s of schedules) {
    const start = occurrenceIn(s, from, to)
    if (!start) continue
    const length = Date.parse(s.end_at) - Date.parse(s.start_at)
    out.push({ schedule: s, start, end: new Date(start.getTime() + length) })
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime())
}

/** How long after its start an occurrence may still be starting (queued for a worker) before it counts as missed. */
export const START_GRACE_MS = 2 * 60_000

/**
 * What became of an occurrence by `now` (ms): 'upcoming' before its start; 'aired' when a live of
 * its schedule started in it (and did not fail); 'missed' when its time has passed without one,
 * or the live failed; 'due' in the few minutes after its start while a live may still be on its
 * way. Null for a disabled schedule, or a time before the schedule existed: nothing was to happen.
 */
export type OccurrenceState = 'upcoming' | 'due' | 'aired' | 'missed'

export type SessionTimes = Pick<Session, 'schedule_id' | 'status' | 'started_at' | 'created_at'>

export function occurrenceState(item: DayItem, sessions: readonly SessionTimes[], now: number): OccurrenceState | null {
  const { schedule, start, end } = item
  if (!schedule.enabled) return null
  if (start.getTime() > now) return 'upcoming'
  if (end.getTime() <= Date.parse(schedule.created_at)) return null
  const from = start.getTime() - START_GRACE_MS
  const aired = sessions.some((s) => {
    if (s.schedule_id !== schedule.id || s.status === 'failed') return false
    const at = Date.parse(s.started_at ?? s.created_at)
    return at >= from && at < end.getTime()
  })
  if (aired) return 'aired'
  return now < start.getTime() + START_GRACE_MS ? 'due' : 'missed'
}
