import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/http'
import { bannedFields, bannedSummary, fieldLabel } from '@/lib/bannedWords'
import { errorText, fieldErrors } from '@/lib/feedback'
import { setLocale } from '@/i18n'
import { stillHolds } from '@/lib/segments'

/** A 422 as the API sends it for a script holding banned words in two segments. */
function refusal(withReasons = true) {
  const fields = { 'segments.2.say': 'banned words: 最低价, 第一', 'segments.0.say': 'banned words: 国家级' }
  return new ApiError(422, 'banned_words', 'banned words: segments.2.say: 最低价, 第一; segments.0.say: 国家级', fields, {
    reason: 'banned_words',
    params: { words: ['最低价', '第一', '国家级'] },
    fieldReasons: withReasons ? {
      'segments.2.say': { reason: 'banned_words', params: { words: ['最低价', '第一'] } },
      'segments.0.say': { reason: 'banned_words', params: { words: ['国家级'] } },
    } : {},
  })
}

describe('a save refused for banned words', () => {
  it('names the words of each field, from the field reasons or else from the English message', () => {
    const expected = [{ field: 'segments.2.say', words: ['最低价', '第一'] }, { field: 'segments.0.say', words: ['国家级'] }]
    expect(bannedFields(refusal())).toEqual(expected)
    expect(bannedFields(refusal(false))).toEqual(expected)
  })

  it('puts a message in the UI language under each field it is about', () => {
    expect(fieldErrors(refusal())).toEqual({ 'segments.2.say': '含违禁词：最低价、第一', 'segments.0.say': '含违禁词：国家级' })
    setLocale('en')
    expect(fieldErrors(refusal(false))['segments.2.say']).toBe('Banned words: 最低价, 第一')
  })

  it('sums up every word and where it is, in words, as the toast would say it', () => {
    const text = bannedSummary(bannedFields(refusal()))
    expect(text).toBe('第 3 段：最低价、第一；第 1 段：国家级。请改掉这些词后再保存。')
    expect(errorText(refusal())).toBe(text)
    setLocale('en')
    expect(bannedSummary(bannedFields(refusal()))).toBe('segment 3: 最低价, 第一; segment 1: 国家级. Change these words, then save again.')
  })

  it('words the fields of products and rooms', () => {
    expect(fieldLabel('selling_points.0')).toBe('卖点 1')
    expect(fieldLabel('faq.1.a')).toBe('问答 2 的答案')
    expect(fieldLabel('settings.persona')).toBe('人设')
    expect(fieldLabel('settings.keyword_replies.价格')).toBe('关键词“价格”的回复')
    expect(fieldLabel('name')).toBe('名称')
  })

  it('is nothing for other errors (a 422 of another kind keeps its own words)', () => {
    const other = new ApiError(422, 'invalid', 'name: too short', { name: 'too short' })
    expect(bannedFields(other)).toEqual([])
    expect(fieldErrors(other)).toEqual({ name: 'too short' })
    expect(bannedFields(new Error('x'))).toEqual([])
  })

  it('a marked text still holds a word through spaces, punctuation and full-width letters', () => {
    expect(stillHolds('全网 最低价！', ['最低价', '第一'])).toEqual(['最低价'])
    expect(stillHolds('ＴＯＰ１品牌', ['top1'])).toEqual(['top1'])
    expect(stillHolds('超值好价', ['最低价'])).toEqual([])
  })
})
