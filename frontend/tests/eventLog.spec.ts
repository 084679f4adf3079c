import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import EventLog from '@/components/EventLog.vue'
import { clockTime, describeEvent, formatEvent } from '@/lib/liveEvents'
import { setLocale } from '@/i18n'
import type { LiveEvent } from '@/api/types'

const at = new Date(2030, 5, 1, 20, 3, 7).getTime() / 1000

describe('live events in words', () => {
  it('gives each event its local time', () => {
    expect(clockTime(at)).toBe('20:03:07')
    expect(clockTime(undefined)).toBe('')
    expect(formatEvent({ type: 'paused', paused: true, at }).time).toBe('20:03:07')
  })

  it('words every event type (Chinese)', () => {
    const cases: [LiveEvent, string][] = [
      [{ type: 'state', state: 'live' }, '状态：直播中'],
      [{ type: 'utterance', state: 'start', id: 3, text: '大家好', source: 'script' }, '开始说（脚本）：“大家好”'],
      [{ type: 'utterance', state: 'end', id: 3, text: '大家好', source: 'script', cut: true }, '被打断（脚本）：“大家好”'],
      [{ type: 'reply', comment_id: 12, text: '九块九', source: 'rules', cut: false }, '回复评论 #12（关键词）：“九块九”'],
      [{ type: 'interrupt', resume: { round: 0, segment: 1, sentence: 0 } }, '已打断，稍后从第 2 段 第 1 句继续'],
      [{ type: 'cut', frame: 1234, latency_ms: 61.5 }, '画面在第 1234 帧静音（延迟 61.5 毫秒）'],
      [{ type: 'action', name: 'nod', state: 'start' }, '开始动作：nod'],
      [{ type: 'paused', paused: false }, '脚本已继续'],
      [{ type: 'error', source: 'voice', message: 'edge: no internet' }, '错误（voice）：edge: no internet'],
      [{ type: 'output', state: 'disconnected', url: 'rtmp://x/***', reason: 'timeout' }, '推流断开：rtmp://x/*** timeout'],
    ]
    for (const [event, words] of cases) expect(describeEvent(event).text).toBe(words)
  })

  it('words them in English too, and marks errors and cuts', () => {
    setLocale('en')
    expect(describeEvent({ type: 'reply', comment_id: 4, text: 'Thanks!', source: 'llm' }).text).toBe('Reply to comment #4 (LLM): “Thanks!”')
    expect(describeEvent({ type: 'state', state: 'failed' })).toEqual({ text: 'State: Failed', level: 'danger' })
    expect(describeEvent({ type: 'cut', frame: 1, latency_ms: 40 }).level).toBe('warning')
    expect(describeEvent({ type: 'something_new', x: 1 }).text).toBe('something_new: x=1')
  })
})

describe('EventLog', () => {
  it('lists events newest first, each with its type and time', () => {
    const w = mount(EventLog, {
      props: {
        events: [
          { key: '1-0', event: { type: 'state', state: 'live', at } },
          { key: '2-0', event: { type: 'utterance', state: 'start', text: 'Hi', source: 'say', at: at + 1 } },
        ],
      },
    })
    const items = w.findAll('[data-test="event-item"]')
    expect(items.map((i) => i.attributes('data-type'))).toEqual(['utterance', 'state'])
    expect(items[0].text()).toContain('20:03:08')
    expect(items[0].text()).toContain('开始说（插话）：“Hi”')
    expect(w.find('[data-test="event-log"]').exists()).toBe(true)
  })

  it('says so when there is nothing yet', () => {
    const w = mount(EventLog, { props: { events: [] } })
    expect(w.get('[data-test="event-log"]').text()).toBe('暂无事件')
  })
})
