import { describe, expect, it, vi } from 'vitest'
import { effectScope, watch } from 'vue'
import { ChatFeed, type ChatRow } from '@/lib/chatFeed'
import { useChatFeed, type Scheduler } from '@/lib/useChatFeed'
import { actionText, blockKey, isPaid, platformBadge, reasonWords, rowText, valueText } from '@/lib/audienceWords'
import { setLocale } from '@/i18n'
import type { AudienceEventOut, LiveEvent } from '@/api/types'

const at = 1_900_000_000

function comment(seq: number, fields: Record<string, unknown> = {}): LiveEvent {
  return { type: 'audience', seq, kind: 'comment', platform: 'bilibili', user_id: `u${seq}`, user: `viewer ${seq}`,
    text: `hello ${seq}`, gift: '', count: 0, value: 0, currency: '', at: at + seq, action: 'queued', reason: null, ...fields }
}
const action = (seq: number, fields: Record<string, unknown>): LiveEvent => ({ type: 'audience_action', seq, ...fields })

function stored(seq: number, fields: Partial<AudienceEventOut> = {}): AudienceEventOut {
  return { id: seq + 1000, seq, platform: 'youtube', kind: 'comment', user_id: `yt${seq}`, user: `fan ${seq}`, text: `q ${seq}`,
    gift: '', count: 0, value: 0, currency: '', at: new Date((at + seq) * 1000).toISOString(), action: 'queued', reason: null,
    reply: null, ...fields }
}

const seqs = (rows: ChatRow[]) => rows.map((r) => r.seq)

describe('the chat feed', () => {
  it('lists viewer events newest first, and leaves out what is only counted (enter, like, online)', () => {
    const feed = new ChatFeed()
    feed.add(comment(1))
    feed.add(comment(2, { kind: 'enter', action: 'seen' }))
    feed.add(comment(3, { event: 'gift', gift: '小心心', count: 3, value: 0.3, currency: 'CNY', action: 'thanks' }))
    feed.add({ type: 'utterance', state: 'start', text: 'not chat' })
    const rows = feed.snapshot()
    expect(seqs(rows)).toEqual([3, 1])
    expect(rows[0]).toMatchObject({ kind: 'gift', gift: '小心心', count: 3, value: 0.3, action: 'thanks', user: 'viewer 3' })
  })

  it('keeps at most `max` rows: the newest', () => {
    const feed = new ChatFeed(500)
    for (let seq = 1; seq <= 2000; seq++) feed.add(comment(seq))
    const rows = feed.snapshot()
    expect(rows).toHaveLength(500)
    expect(rows[0].seq).toBe(2000)
    expect(rows[499].seq).toBe(1501)
    expect(feed.size).toBeLessThanOrEqual(600)
    // news of a row let go is ignored
    expect(feed.add(action(3, { action: 'answered', reply: 'late' }))).toBe(false)
    expect(feed.add(comment(4))).toBe(false)
  })

  it('merges what the host did into the row: answered with the reply, skipped or dropped with the reason', () => {
    const feed = new ChatFeed()
    feed.add(comment(1))
    feed.add(comment(2))
    feed.add(comment(3))
    const before = feed.snapshot()
    feed.add(action(1, { action: 'answered', reply: '九块九包邮' }))
    feed.add(action(2, { action: 'skipped', reason: 'operator' }))
    feed.add(action(3, { action: 'dropped', reason: 'stale' }))
    const rows = feed.snapshot()
    expect(rows.map((r) => [r.seq, r.action, r.reason, r.reply])).toEqual([
      [3, 'dropped', 'stale', null], [2, 'skipped', 'operator', null], [1, 'answered', null, '九块九包邮'],
    ])
    // rows are replaced, not edited: a view can tell what changed
    expect(before.find((r) => r.seq === 1)?.action).toBe('queued')
  })

  it('keeps an outcome that came before its row, and applies it when the row comes', () => {
    const feed = new ChatFeed()
    expect(feed.add(action(7, { action: 'answered', reply: 'hi!' }))).toBe(false)
    feed.add(comment(7))
    expect(feed.snapshot()[0]).toMatchObject({ seq: 7, action: 'answered', reply: 'hi!' })
  })

  it('merges the stored history with the stream in any order; a settled outcome is never undone by an old "queued"', () => {
    const feed = new ChatFeed()
    feed.add(comment(5))
    feed.add(action(5, { action: 'answered', reply: 'yes' }))
    feed.addHistory([stored(6), stored(5, { action: 'queued' }), stored(4, { action: 'skipped', reason: 'duplicate' })])
    const rows = feed.snapshot()
    expect(seqs(rows)).toEqual([6, 5, 4])
    expect(rows[1]).toMatchObject({ action: 'answered', reply: 'yes' })
    expect(rows[2]).toMatchObject({ action: 'skipped', reason: 'duplicate', at: at + 4 })
    // the stream replays an event the history already has: one row, outcome kept
    feed.add(comment(4))
    expect(feed.snapshot().filter((r) => r.seq === 4)).toEqual([expect.objectContaining({ action: 'skipped' })])
  })

  it('says when nothing changed (the same event again)', () => {
    const feed = new ChatFeed()
    expect(feed.add(comment(1))).toBe(true)
    feed.snapshot()
    expect(feed.add(comment(1))).toBe(false)
    expect(feed.dirty).toBe(false)
  })
})

describe('the chat feed under a flood', () => {
  /** a frame the test fires by hand */
  function manualFrames() {
    const queue: (() => void)[] = []
    const frame: Scheduler = (fn) => {
      queue.push(fn)
      return () => { const i = queue.indexOf(fn); if (i >= 0) queue.splice(i, 1) }
    }
    return { frame, fire: () => queue.splice(0).forEach((fn) => fn()), pending: () => queue.length }
  }

  it('refreshes the rows once a frame, however many events came', () => {
    const frames = manualFrames()
    const scope = effectScope()
    let updates = 0
    const view = scope.run(() => {
      const v = useChatFeed(500, frames.frame)
      watch(v.rows, () => { updates++ }, { flush: 'sync' })
      return v
    })!
    for (let seq = 1; seq <= 3000; seq++) view.add(comment(seq))
    view.add(action(2999, { action: 'answered', reply: 'ok' }))
    expect(view.rows.value).toEqual([]) // nothing drawn until the frame
    expect(frames.pending()).toBe(1)
    frames.fire()
    expect(updates).toBe(1)
    expect(view.rows.value).toHaveLength(500)
    expect(view.rows.value[0].seq).toBe(3000)
    expect(view.rows.value[1]).toMatchObject({ seq: 2999, action: 'answered' })
    scope.stop()
  })

  it('waits a little between refreshes, and stops with its scope (no refresh after the console is left)', () => {
    vi.useFakeTimers()
    const frames = manualFrames()
    const scope = effectScope()
    const view = scope.run(() => useChatFeed(500, frames.frame))!
    view.add(comment(1))
    frames.fire()
    expect(view.rows.value).toHaveLength(1)
    view.add(comment(2))
    expect(frames.pending()).toBe(0) // too soon after the last refresh
    vi.advanceTimersByTime(200)
    expect(frames.pending()).toBe(1)
    frames.fire()
    expect(view.rows.value).toHaveLength(2)
    view.add(comment(3))
    scope.stop()
    vi.advanceTimersByTime(200)
    expect(frames.pending()).toBe(0)
    expect(view.rows.value).toHaveLength(2)
  })
})

describe('the chat in words', () => {
  const row = (fields: Partial<ChatRow>): ChatRow => ({ seq: 1, platform: 'bilibili', kind: 'comment', userId: '42', user: '小明',
    text: '多少钱？', gift: '', count: 0, value: 0, currency: '', at, action: 'queued', reason: null, reply: null, ...fields })

  it('says what the host did, and why it skipped or dropped a message (Chinese)', () => {
    expect(actionText(row({}))).toBe('等待回答')
    expect(actionText(row({ action: 'answered', reply: '九块九' }))).toBe('已回答')
    expect(actionText(row({ action: 'skipped', reason: 'blocked_word' }))).toBe('已跳过：含屏蔽词')
    expect(actionText(row({ action: 'skipped', reason: 'operator' }))).toBe('已跳过：操作员跳过')
    expect(actionText(row({ action: 'dropped', reason: 'queue_full' }))).toBe('未回答：队列已满')
    expect(actionText(row({ action: 'thanks' }))).toBe('稍后感谢')
  })

  it('in English too; a reason it does not know keeps its name', () => {
    setLocale('en')
    expect(actionText(row({ action: 'skipped', reason: 'not_question' }))).toBe('skipped: not a question')
    expect(actionText(row({ action: 'dropped', reason: 'stale' }))).toBe('dropped: waited too long')
    expect(actionText(row({ action: 'skipped', reason: 'something_new' }))).toBe('skipped: something_new')
    expect(actionText(row({ action: 'dropped' }))).toBe('dropped')
    expect(reasonWords('no_replies')).toBe('replies are off (0 a minute)')
    expect(rowText(row({ kind: 'gift', gift: 'Rocket', count: 3 }))).toBe('sent Rocket ×3')
    expect(rowText(row({ kind: 'guard', gift: '舰长', count: 2 }))).toBe('joined as 舰长 (2 months)')
    expect(rowText(row({ kind: 'follow' }))).toBe('followed')
    expect(platformBadge('bilibili').name).toBe('Bilibili')
  })

  it('shows what a paid message was worth, and which are highlighted', () => {
    expect(valueText(30, 'CNY')).toMatch(/30\.00/)
    expect(valueText(5, 'USD')).toContain('5.00')
    expect(valueText(100, 'coins')).toBe('100 coins')
    expect(valueText(0, 'CNY')).toBe('')
    expect(isPaid(row({ kind: 'superchat', value: 30 }))).toBe(true)
    expect(isPaid(row({ kind: 'gift', value: 0 }))).toBe(false)
    expect(isPaid(row({ kind: 'gift', value: 0.1 }))).toBe(true)
    expect(isPaid(row({ kind: 'comment' }))).toBe(false)
  })

  it('names a platform it does not know by its own name, and blocks by platform id or name', () => {
    expect(platformBadge('weibo')).toEqual({ name: 'weibo', color: '#94a3b8' })
    expect(platformBadge('douyin').name).toBe('抖音')
    expect(blockKey(row({}))).toBe('bilibili:42')
    expect(blockKey(row({ platform: 'relay', userId: '', user: 'Tom' }))).toBe('Tom')
  })
})
