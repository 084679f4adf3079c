/**
 * What people paste into a room's live chat fields, read as the API wants it: a YouTube live's
 * video id from the id itself or any of its links (watch?v=, youtu.be/, /live/, /embed/, /shorts/,
 * the chat pop-out), a Bilibili room id from the number or the room's link. Pure functions.
 */

/** A YouTube video id as the API takes it. */
export const YOUTUBE_ID = /^[A-Za-z0-9_-]{1,64}$/
/** The largest room id the API takes (2^53). */
export const MAX_BILIBILI_ROOM = 2 ** 53

/** What reading a field gave: the value (null: the field is empty), or why it is not one. */
export type Parsed<T> = { value: T | null; problem: null } | { value: null; problem: 'invalid' | 'channel' }

const YOUTUBE_HOSTS = /(^|\.)(youtube\.com|youtube-nocookie\.com|youtu\.be)$/i
const PATH_ID = /^\/(?:live|embed|shorts|v|e)\/([^/?#]+)/

function asUrl(text: string): URL | null {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`
  try {
    return new URL(withScheme)
  } catch {
    return null
  }
}

/**
 * The video id in `input`: "dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
 * "youtu.be/dQw4w9WgXcQ?si=x", "https://youtube.com/live/dQw4w9WgXcQ?feature=share", ... A
 * channel's live page ("/@name/live", "/channel/…/live") names no video: problem "channel".
 */
export function parseYoutubeVideoId(input: string): Parsed<string> {
  const text = input.trim()
  if (!text) return { value: null, problem: null }
  if (YOUTUBE_ID.test(text)) return { value: text, problem: null }
  const url = asUrl(text)
  if (!url || !YOUTUBE_HOSTS.test(url.hostname)) return { value: null, problem: 'invalid' }
  let id: string | null = null
  if (/(^|\.)youtu\.be$/i.test(url.hostname)) id = url.pathname.split('/')[1] ?? null
  else if (url.searchParams.get('v')) id = url.searchParams.get('v')
  else id = PATH_ID.exec(url.pathname)?.[1] ?? null
  if (id && YOUTUBE_ID.test(id)) return { value: id, problem: null }
  if (/^\/(@[^/]+|channel\/[^/]+|c\/[^/]+|user\/[^/]+)(\/(live|streams))?\/?$/.test(url.pathname)) {
    return { value: null, problem: 'channel' }
  }
  return { value: null, problem: 'invalid' }
}

/** The room id in `input`: "21452505", "https://live.bilibili.com/21452505?spm_id_from=…", "live.bilibili.com/h5/21452505". */
export function parseBilibiliRoomId(input: string): Parsed<number> {
  const text = input.trim()
  if (!text) return { value: null, problem: null }
  let digits: string | null = /^\d+$/.test(text) ? text : null
  if (!digits) {
    const url = asUrl(text)
    if (url && /(^|\.)live\.bilibili\.com$/i.test(url.hostname)) {
      digits = /^\/(?:h5\/|blanc\/)?(\d+)\/?$/.exec(url.pathname)?.[1] ?? null
    }
  }
  const n = digits ? Number(digits) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_BILIBILI_ROOM) return { value: null, problem: 'invalid' }
  return { value: n, problem: null }
}

/** An absolute URL for a path of the API ("/api/rooms/3/relay/ws"), in ws(s):// when `ws`. */
export function absoluteUrl(path: string, origin: string, ws = false): string {
  const url = new URL(path, origin)
  if (ws) url.protocol = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol
  return url.toString()
}
