import { describe, expect, it } from 'vitest'
import { draftForEditor, draftLanguageFor, draftProblems } from '@/lib/draft'
import { toRows, toSegments } from '@/lib/segments'
import type { Draft } from '@/api/types'

describe('a draft for the segment editor', () => {
  it('keeps say, pause and product segments, product ids as numbers, and the banned marks by segment', () => {
    const draft = {
      title: ' 春茶专场 ',
      segments: [{ say: '欢迎来到直播间' }, { product: '12' }, { say: '全网最低价，第一品牌' }, { pause: 800 }],
      banned: [{ segment: 2, words: ['最低价', '第一'] }],
    } as unknown as Draft
    expect(draftForEditor(draft)).toEqual({
      title: '春茶专场',
      segments: [{ say: '欢迎来到直播间' }, { product: 12 }, { say: '全网最低价，第一品牌' }, { pause: 800 }],
      banned: { 2: ['最低价', '第一'] },
    })
  })

  it('leaves out what the editor cannot show, and moves the marks with the segments that stay', () => {
    const draft = {
      title: '',
      segments: [{ nonsense: 1 }, { product: 'abc' }, { say: '第一' }, { pause: 0 }, { say: '好' }],
      banned: [{ segment: 2, words: ['第一'] }, { segment: 1, words: ['x'] }, { segment: 9, words: ['y'] }, { segment: 4, words: [] }],
    } as unknown as Draft
    const out = draftForEditor(draft)
    expect(out.segments).toEqual([{ say: '第一' }, { say: '好' }])
    expect(out.banned).toEqual({ 0: ['第一'] })
  })

  it('becomes editor rows with the marks on their say rows, and back to the same segments', () => {
    const { segments, banned } = draftForEditor({ title: 't', segments: [{ product: 3 }, { say: '最好的茶' }], banned: [{ segment: 1, words: ['最'] }] })
    const rows = toRows(segments, banned)
    expect(rows.map((r) => [r.kind, r.product, r.banned])).toEqual([['product', 3, []], ['say', null, ['最']]])
    expect(toSegments(rows)).toEqual(segments)
  })

  it('asks for 1 to 20 products and a known style before anything is sent', () => {
    expect(draftProblems({ product_ids: [], style: 'lively' })).toEqual({ product_ids: 'none' })
    expect(draftProblems({ product_ids: Array.from({ length: 21 }, (_, i) => i + 1), style: 'calm' })).toEqual({ product_ids: 'tooMany' })
    expect(draftProblems({ product_ids: [1], style: 'shouty' as never })).toEqual({ style: 'style' })
    expect(draftProblems({ product_ids: [1, 2], style: 'humorous' })).toEqual({})
    expect(draftLanguageFor('zh-CN')).toBe('zh')
    expect(draftLanguageFor('en')).toBe('en')
  })
})
