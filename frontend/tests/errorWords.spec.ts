import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { http, upload } from '@/api/http'
import { errorText, fieldErrors } from '@/lib/feedback'
import { dateTime } from '@/lib/format'
import { setLocale } from '@/i18n'
import { failure, installFakeFetch } from './fakeFetch'

/** A 409 as the API sends it since errors carry a reason (backend/errors.py). */
const OVERLAP = {
  status: 409,
  body: {
    error: {
      code: 'conflict', reason: 'schedule_overlap',
      message: 'overlaps schedule 2 of room 2 (daily, 2030-06-01T12:00:00Z to 2030-06-01T14:00:00Z): both would run at 2030-06-02T12:00:00Z',
      params: { schedule: 2, room: 2, repeat: 'daily', start: '2030-06-01T12:00:00Z', end: '2030-06-01T14:00:00Z', at: '2030-06-02T12:00:00Z' },
    },
  },
}

const INVALID = {
  status: 422,
  body: {
    error: {
      code: 'invalid', message: 'name: String should have at least 3 characters',
      fields: {
        name: 'String should have at least 3 characters',
        'settings.interrupt_gap_ms': 'Input should be greater than or equal to 0',
        server_url: 'server_url has no host (e.g. rtmp://live-push.example.com/live)',
        stream_key: 'something only the server can say',
        body: 'Input should be a valid dictionary',
      },
      field_reasons: {
        name: { reason: 'string_too_short', params: { min_length: 3 } },
        'settings.interrupt_gap_ms': { reason: 'greater_than_equal', params: { ge: 0 } },
        server_url: { reason: 'url_no_host', params: {} },
        stream_key: { reason: 'value_error', params: {} },
        body: { reason: 'dict_type', params: {} },
      },
    },
  },
}

function serverAnswering(answer: { status: number; body: unknown }) {
  return installFakeFetch({ 'POST /api/things': () => answer, 'DELETE /api/scripts/4': () => answer })
}

describe('server errors in the UI language', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('an ApiError carries the reason, its values and the field reasons of the error body', async () => {
    serverAnswering(INVALID)
    const err = await failure(http.post('/things', {}))
    expect(err.fieldReasons.name).toEqual({ reason: 'string_too_short', params: { min_length: 3 } })
    serverAnswering(OVERLAP)
    const conflict = await failure(http.post('/things', {}))
    expect(conflict.reason).toBe('schedule_overlap')
    expect(conflict.params).toMatchObject({ schedule: 2, room: 2 })
  })

  it('an upload failure (XHR) carries them too', async () => {
    class FakeXhr {
      status = 409
      statusText = 'CONFLICT'
      responseText = JSON.stringify(OVERLAP.body)
      upload = { onprogress: null }
      onload: (() => void) | null = null
      open() {}
      setRequestHeader() {}
      send() { this.onload?.() }
    }
    const original = globalThis.XMLHttpRequest
    globalThis.XMLHttpRequest = FakeXhr as unknown as typeof XMLHttpRequest
    try {
      const err = await failure(upload('/avatars', new FormData()))
      expect(err.reason).toBe('schedule_overlap')
    } finally {
      globalThis.XMLHttpRequest = original
    }
  })

  it('words a known reason in Chinese, its times in local time, and not the English message', async () => {
    serverAnswering(OVERLAP)
    const err = await failure(http.post('/things', {}))
    const text = errorText(err)
    const [start, end, at] = ['2030-06-01T12:00:00Z', '2030-06-01T14:00:00Z', '2030-06-02T12:00:00Z'].map(dateTime)
    expect(text).toBe(`与直播间 2 的排期 2（每天，${start} – ${end}）时间重叠：两者会在 ${at} 同时播出`)
    expect(text).not.toMatch(/overlaps|daily|T12:00/)
    expect(fieldErrors(err, 'start_at')).toEqual({ start_at: text })
    setLocale('en')
    const [enStart, enEnd, enAt] = ['2030-06-01T12:00:00Z', '2030-06-01T14:00:00Z', '2030-06-02T12:00:00Z'].map(dateTime)
    expect(errorText(err)).toBe(`Overlaps schedule 2 of room 2 (Daily, ${enStart} – ${enEnd}): both would run at ${enAt}`)
  })

  it('says what still uses a thing that cannot be deleted (409 in_use), the kind of thing in words', async () => {
    serverAnswering({
      status: 409,
      body: { error: { code: 'conflict', reason: 'in_use', message: 'script 4 is used by schedule 7; stop or delete those first',
        params: { what: 'script', id: 4, users: 'schedule 7' } } },
    })
    const err = await failure(http.del('/scripts/4'))
    expect(errorText(err)).toBe('脚本 4 正被使用（schedule 7），请先停止或删除它们')
  })

  it('falls back to the server message for a reason it does not know', async () => {
    serverAnswering({ status: 409, body: { error: { code: 'conflict', reason: 'brand_new', message: 'something new', params: {} } } })
    expect(errorText(await failure(http.post('/things', {})))).toBe('冲突: something new')
    serverAnswering({ status: 409, body: { error: { code: 'conflict', message: 'an old server' } } })
    expect(errorText(await failure(http.post('/things', {})))).toBe('冲突: an old server')
  })

  it('words field errors (pydantic types, the catalogue\'s field reasons); value_error keeps the server text; the body is no field', async () => {
    serverAnswering(INVALID)
    const err = await failure(http.post('/things', {}))
    expect(fieldErrors(err)).toEqual({
      name: '至少 3 个字符',
      'settings.interrupt_gap_ms': '不能小于 0',
      server_url: '推流地址缺少主机名，例如 rtmp://live-push.example.com/live',
      stream_key: 'something only the server can say',
    })
    expect(errorText(err)).toBe('输入有误: name：至少 3 个字符')
    setLocale('en')
    expect(fieldErrors(err).name).toBe('At least 3 characters')
  })
})
