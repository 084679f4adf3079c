/** When a schedule's occurrences fall, for the month calendar. */
import type { Schedule } from '@/api/types'

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
