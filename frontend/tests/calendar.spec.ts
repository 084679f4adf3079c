import { beforeEach, describe, expect, it, vi } from 'vitest'
import { occurrenceState, upcomingStart, itemsOnDay, START_GRACE_MS, type SessionTimes } from '@/lib/calendar'
import type { Schedule } from '@/api/types'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'

const HOUR = 3600_000
const iso = (ms: number) => new Date(ms).toISOString()

function schedule(id: number, start: number, repeat: Schedule['repeat'] = 'none', enabled = true): Schedule {
  return { id, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, start_at: iso(start), end_at: iso(start + HOUR),
    repeat, enabled, next_start: null, created_by: 1, created_at: iso(start - 24 * HOUR) }
}

function session(scheduleId: number, startedAt: number | null, status = 'ended', createdAt = startedAt ?? 0): SessionTimes {
  return { schedule_id: scheduleId, status, started_at: startedAt === null ? null : iso(startedAt), created_at: iso(createdAt) }
}

describe('which occurrences went on air', () => {
  const start = Date.parse('2030-06-01T12:00:00Z')
  const item = (s: Schedule) => ({ schedule: s, start: new Date(Date.parse(s.start_at)), end: new Date(Date.parse(s.end_at)) })

  it('an occurrence whose time passed without a live of its schedule is missed', () => {
    const s = schedule(1, start)
    expect(occurrenceState(item(s), [], start - 1)).toBe('upcoming')
    expect(occurrenceState(item(s), [], start + 1000)).toBe('due') // the scheduler may still be starting it
    expect(occurrenceState(item(s), [], start + START_GRACE_MS + 1)).toBe('missed')
    expect(occurrenceState(item(s), [session(2, start + 1000)], start + 2 * HOUR)).toBe('missed') // another schedule's live
    expect(occurrenceState(item(s), [session(1, start - 3 * HOUR)], start + 2 * HOUR)).toBe('missed') // another time's live
  })

  it('is aired when a live of its schedule started in it, and missed when that live failed', () => {
    const s = schedule(1, start)
    expect(occurrenceState(item(s), [session(1, start + 30_000)], start + 2 * HOUR)).toBe('aired')
    expect(occurrenceState(item(s), [session(1, null, 'queued', start + 1000)], start + 10 * 60_000)).toBe('aired')
    expect(occurrenceState(item(s), [session(1, start + 30_000, 'failed')], start + 2 * HOUR)).toBe('missed')
  })

  it('a disabled schedule misses nothing', () => {
    expect(occurrenceState(item(schedule(1, start, 'none', false)), [], start + 2 * HOUR)).toBeNull()
  })

  it('each day of a daily schedule is judged on its own', () => {
    const s = schedule(1, start, 'daily')
    const day2 = itemsOnDay([s], new Date(start + 24 * HOUR))[0]
    const sessions = [session(1, start + 1000)]
    expect(occurrenceState(itemsOnDay([s], new Date(start))[0], sessions, start + 3 * 24 * HOUR)).toBe('aired')
    expect(occurrenceState(day2, sessions, start + 3 * 24 * HOUR)).toBe('missed')
  })

  it('upcoming means not started: a started one-off has none, a daily one has tomorrow\'s', () => {
    const now = start + 10 * 60_000
    expect(upcomingStart({ next_start: iso(start), repeat: 'none' }, now)).toBeNull()
    expect(upcomingStart({ next_start: iso(start), repeat: 'daily' }, now)?.toISOString()).toBe(iso(start + 24 * HOUR))
    expect(upcomingStart({ next_start: iso(start + HOUR), repeat: 'none' }, now)?.toISOString()).toBe(iso(start + HOUR))
  })
})

describe('the schedule calendar', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('marks a missed occurrence (colour and label), not the one that went on air', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date(2030, 5, 15, 15, 0)) // 15:00 local; the calendar shows June 2030
    const missed = schedule(1, new Date(2030, 5, 15, 9, 0).getTime())
    const aired = schedule(2, new Date(2030, 5, 15, 11, 0).getTime())
    const lives = [{ id: 9, ...session(2, Date.parse(aired.start_at) + 1000), room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1,
      worker: 'w', planned_end_at: null, ended_at: null, last_error: null, attempts: 1, position: {}, created_by: 1 }]
    installFakeFetch({
      'GET /api/schedules': () => ({ body: page([missed, aired]) }),
      'GET /api/sessions': () => ({ body: page(lives) }),
      'GET /api/rooms': () => ({ body: page([]) }),
      'GET /api/scripts': () => ({ body: page([]) }),
      'GET /api/avatars': () => ({ body: page([]) }),
      'GET /api/voices': () => ({ body: page([]) }),
    })
    const { wrapper } = await mountPage('/schedules')
    const one = wrapper.get('[data-test="calendar-item-1"]')
    expect(one.classes()).toContain('missed')
    expect(one.text()).toContain('错过')
    const two = wrapper.get('[data-test="calendar-item-2"]')
    expect(two.classes()).not.toContain('missed')
    expect(two.attributes('data-state')).toBe('aired')
  })
})
