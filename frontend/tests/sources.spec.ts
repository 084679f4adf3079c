import { describe, expect, it } from 'vitest'
import { absoluteUrl, parseBilibiliRoomId, parseYoutubeVideoId } from '@/lib/sources'
import { secretValue, sourceTestBody, sourcesDraft, sourcesPayload } from '@/lib/sourcesDraft'
import { audiencePayload, audienceSettings, DEFAULT_AUDIENCE, tidyList } from '@/lib/audienceSettings'
import type { RoomSources } from '@/api/types'

describe('a YouTube live named by whatever is pasted', () => {
  it('takes the video id itself', () => {
    expect(parseYoutubeVideoId('dQw4w9WgXcQ')).toEqual({ value: 'dQw4w9WgXcQ', problem: null })
    expect(parseYoutubeVideoId('  jfKfPfyJRdk \n')).toEqual({ value: 'jfKfPfyJRdk', problem: null })
  })

  it('reads the id from every kind of link to the live', () => {
    const links = [
      'https://www.youtube.com/watch?v=jfKfPfyJRdk',
      'https://www.youtube.com/watch?v=jfKfPfyJRdk&t=42s&ab_channel=LofiGirl',
      'https://m.youtube.com/watch?feature=share&v=jfKfPfyJRdk',
      'youtube.com/watch?v=jfKfPfyJRdk',
      'https://youtu.be/jfKfPfyJRdk',
      'youtu.be/jfKfPfyJRdk?si=AbCdEf',
      'https://www.youtube.com/live/jfKfPfyJRdk?feature=shared',
      'https://youtube.com/live/jfKfPfyJRdk/',
      'https://www.youtube.com/embed/jfKfPfyJRdk',
      'https://www.youtube.com/shorts/jfKfPfyJRdk',
      'https://www.youtube.com/live_chat?is_popout=1&v=jfKfPfyJRdk',
      'HTTPS://WWW.YOUTUBE.COM/watch?v=jfKfPfyJRdk',
    ]
    for (const link of links) expect(parseYoutubeVideoId(link), link).toEqual({ value: 'jfKfPfyJRdk', problem: null })
  })

  it('says a channel link names no video, and refuses what is not YouTube', () => {
    expect(parseYoutubeVideoId('https://www.youtube.com/@LofiGirl/live').problem).toBe('channel')
    expect(parseYoutubeVideoId('https://www.youtube.com/channel/UCSJ4gkVC6NrvII8umztf0Ow').problem).toBe('channel')
    expect(parseYoutubeVideoId('https://vimeo.com/watch?v=jfKfPfyJRdk').problem).toBe('invalid')
    expect(parseYoutubeVideoId('https://www.youtube.com/watch?v=not/an id').problem).toBe('invalid')
    expect(parseYoutubeVideoId('two words').problem).toBe('invalid')
    expect(parseYoutubeVideoId('x'.repeat(65)).problem).toBe('invalid')
  })

  it('reads an empty field as "no video"', () => {
    expect(parseYoutubeVideoId('  ')).toEqual({ value: null, problem: null })
  })
})

describe('a Bilibili room named by its number or its link', () => {
  it('reads the room id', () => {
    expect(parseBilibiliRoomId('21452505').value).toBe(21452505)
    expect(parseBilibiliRoomId('https://live.bilibili.com/21452505?spm_id_from=333.1007').value).toBe(21452505)
    expect(parseBilibiliRoomId('live.bilibili.com/h5/21452505').value).toBe(21452505)
    expect(parseBilibiliRoomId('').value).toBeNull()
  })

  it('refuses what is not a room', () => {
    for (const bad of ['0', '-3', '12a', 'https://www.bilibili.com/video/BV1xx411c7mD', String(2 ** 53 + 2)]) {
      expect(parseBilibiliRoomId(bad).problem, bad).toBe('invalid')
    }
  })
})

describe('the relay addresses', () => {
  it('are made absolute, the WebSocket one in ws(s)://', () => {
    expect(absoluteUrl('/api/rooms/3/relay/events', 'https://live.example.com')).toBe('https://live.example.com/api/rooms/3/relay/events')
    expect(absoluteUrl('/api/rooms/3/relay/ws', 'https://live.example.com', true)).toBe('wss://live.example.com/api/rooms/3/relay/ws')
    expect(absoluteUrl('/api/rooms/3/relay/ws', 'http://127.0.0.1:5173', true)).toBe('ws://127.0.0.1:5173/api/rooms/3/relay/ws')
    expect(absoluteUrl('wss://api.example.com/api/rooms/3/relay/ws', 'http://x', true)).toBe('wss://api.example.com/api/rooms/3/relay/ws')
  })
})

const saved: RoomSources = {
  bilibili_room_id: 21452505, bilibili_cookie_set: true, bilibili_buvid_set: false, youtube_video_id: 'jfKfPfyJRdk',
  youtube_api_key_set: true, youtube_oauth_token_set: false, relay: true, relay_token_set: true, relay_token_hint: 'x9Qz',
  relay_events_url: '/api/rooms/3/relay/events', relay_ws_url: '/api/rooms/3/relay/ws',
}

describe('what the room form sends of its sources', () => {
  it('keeps stored secrets unless one is typed or cleared', () => {
    expect(secretValue({ value: '', clear: false })).toBeUndefined()
    expect(secretValue({ value: ' SESSDATA=abc ', clear: false })).toBe('SESSDATA=abc')
    expect(secretValue({ value: '', clear: true })).toBe('')
    const d = sourcesDraft(saved)
    expect(sourcesPayload(d).sources).toEqual({ bilibili_room_id: 21452505, youtube_video_id: 'jfKfPfyJRdk', relay: true })
    d.bilibiliCookie = { value: '', clear: true }
    d.youtubeApiKey = { value: 'AIza-new', clear: false }
    expect(sourcesPayload(d).sources).toEqual({
      bilibili_room_id: 21452505, youtube_video_id: 'jfKfPfyJRdk', relay: true, bilibili_cookie: '', youtube_api_key: 'AIza-new',
    })
  })

  it('sends the id a pasted link names, null for an empty field, and says which field is wrong', () => {
    const d = sourcesDraft(null)
    d.youtubeVideo = 'https://youtu.be/jfKfPfyJRdk?si=1'
    expect(sourcesPayload(d)).toEqual({ sources: { bilibili_room_id: null, youtube_video_id: 'jfKfPfyJRdk', relay: false }, problems: {} })
    d.bilibiliRoom = 'not a room'
    d.youtubeVideo = 'https://www.youtube.com/@someone/live'
    expect(sourcesPayload(d).problems).toEqual({ bilibili_room_id: 'invalid', youtube_video_id: 'channel' })
  })

  it('tests one platform with the form\'s unsaved values of that platform only', () => {
    const d = sourcesDraft(saved)
    d.bilibiliRoom = 'https://live.bilibili.com/777'
    d.bilibiliBuvid = { value: 'buvid-1', clear: false }
    d.youtubeOauthToken = { value: 'ya29.token', clear: false }
    expect(sourceTestBody(d, 'bilibili')).toEqual({
      body: { platform: 'bilibili', bilibili_room_id: 777, bilibili_buvid: 'buvid-1' }, problem: null,
    })
    expect(sourceTestBody(d, 'youtube').body).toEqual({ platform: 'youtube', youtube_video_id: 'jfKfPfyJRdk', youtube_oauth_token: 'ya29.token' })
    d.youtubeVideo = 'https://vimeo.com/1'
    expect(sourceTestBody(d, 'youtube').problem).toBe('invalid')
  })
})

describe('the audience settings the room form sends', () => {
  it('starts from the API\'s defaults, in a copy the form may edit', () => {
    const a = audienceSettings()
    expect(a).toEqual(DEFAULT_AUDIENCE)
    a.blocked_words.push('spam')
    a.thank.pop()
    expect(DEFAULT_AUDIENCE.blocked_words).toEqual([])
    expect(DEFAULT_AUDIENCE.thank).toEqual(['gift', 'guard', 'follow'])
    expect(audienceSettings({ answer: 'questions', replies_per_minute: 2 })).toMatchObject({ answer: 'questions', replies_per_minute: 2, queue_size: 30 })
  })

  it('tidies lists: trimmed, no blanks or repeats, within the limits', () => {
    expect(tidyList([' 价格 ', '价格', '', '  ', 'size'], { items: 100, chars: 50 })).toEqual(['价格', 'size'])
    expect(tidyList(['a', 'b', 'c'], { items: 2, chars: 50 })).toEqual(['a', 'b'])
    expect(tidyList(['x'.repeat(60)], { items: 2, chars: 50 })).toEqual(['x'.repeat(50)])
  })

  it('puts a cleared number back at its default and keeps numbers in range', () => {
    const a = audienceSettings({ blocked_users: [' bilibili:42 ', 'bilibili:42'], interrupt_on: ['question', 'superchat'] })
    ;(a as unknown as Record<string, unknown>).queue_size = null
    a.replies_per_minute = 99
    a.thank_min_value = 1.5
    expect(audiencePayload(a)).toMatchObject({
      queue_size: 30, replies_per_minute: 60, thank_min_value: 1.5, blocked_users: ['bilibili:42'], interrupt_on: ['superchat', 'question'],
    })
  })
})
