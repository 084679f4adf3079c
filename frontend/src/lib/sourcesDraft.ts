/**
 * A room's live chat sources as the room form holds them while they are edited, and what the form
 * sends from them: the room id and video id read from whatever was pasted, and each write-only
 * secret sent only when typed (its new value) or cleared (""); left alone, the stored one stays.
 */
import type { RoomSources, RoomSourcesIn, SourcePlatform, SourceTestIn } from '@/api/types'
import { t, type MessageKey } from '@/i18n'
import { parseBilibiliRoomId, parseYoutubeVideoId } from './sources'

/** A write-only secret in the form: what is typed, and whether the stored one is to be cleared. */
export interface SecretDraft {
  value: string
  clear: boolean
}

export interface SourcesDraft {
  /** as typed: the id or the room's link */
  bilibiliRoom: string
  bilibiliCookie: SecretDraft
  bilibiliBuvid: SecretDraft
  /** as typed: the id or any link to the live */
  youtubeVideo: string
  youtubeApiKey: SecretDraft
  youtubeOauthToken: SecretDraft
  relay: boolean
}

/** The form's fields of the sources, by the API's field name. */
export type SourceField = 'bilibili_room_id' | 'youtube_video_id'
/** Why a field cannot be sent: not an id or link we can read, or a channel's link (no video). */
export type SourceProblem = 'invalid' | 'channel'

const secret = (): SecretDraft => ({ value: '', clear: false })

/** The form's draft of saved sources (none for a new room). */
export function sourcesDraft(saved?: RoomSources | null): SourcesDraft {
  return {
    bilibiliRoom: saved?.bilibili_room_id != null ? String(saved.bilibili_room_id) : '',
    bilibiliCookie: secret(),
    bilibiliBuvid: secret(),
    youtubeVideo: saved?.youtube_video_id ?? '',
    youtubeApiKey: secret(),
    youtubeOauthToken: secret(),
    relay: saved?.relay ?? false,
  }
}

/** What to send of a secret: the typed value, "" to clear, or nothing (keep the stored one). */
export function secretValue(d: SecretDraft): string | undefined {
  const typed = d.value.trim()
  if (typed) return typed
  return d.clear ? '' : undefined
}

interface Read {
  bilibili_room_id: number | null
  youtube_video_id: string | null
  problems: Partial<Record<SourceField, SourceProblem>>
}

function read(d: SourcesDraft): Read {
  const room = parseBilibiliRoomId(d.bilibiliRoom)
  const video = parseYoutubeVideoId(d.youtubeVideo)
  const problems: Read['problems'] = {}
  if (room.problem) problems.bilibili_room_id = room.problem
  if (video.problem) problems.youtube_video_id = video.problem
  return { bilibili_room_id: room.value, youtube_video_id: video.value, problems }
}

function withSecrets(body: RoomSourcesIn, d: SourcesDraft, platforms: readonly SourcePlatform[]): void {
  const put = (name: 'bilibili_cookie' | 'bilibili_buvid' | 'youtube_api_key' | 'youtube_oauth_token', s: SecretDraft) => {
    const v = secretValue(s)
    if (v !== undefined) body[name] = v
  }
  if (platforms.includes('bilibili')) {
    put('bilibili_cookie', d.bilibiliCookie)
    put('bilibili_buvid', d.bilibiliBuvid)
  }
  if (platforms.includes('youtube')) {
    put('youtube_api_key', d.youtubeApiKey)
    put('youtube_oauth_token', d.youtubeOauthToken)
  }
}

/** The sources to save, or the problems of the fields that cannot be read. */
export function sourcesPayload(d: SourcesDraft): { sources: RoomSourcesIn; problems: Read['problems'] } {
  const r = read(d)
  const sources: RoomSourcesIn = {
    bilibili_room_id: r.bilibili_room_id,
    youtube_video_id: r.youtube_video_id,
    relay: d.relay,
  }
  withSecrets(sources, d, ['bilibili', 'youtube'])
  return { sources, problems: r.problems }
}

/**
 * What a connection test of `platform` sends: the platform and the form's values of its fields
 * (the saved ones are used for what is left out), or the problem of its id field.
 */
export function sourceTestBody(d: SourcesDraft, platform: SourcePlatform): { body: SourceTestIn; problem: SourceProblem | null } {
  const r = read(d)
  const body: SourceTestIn = { platform }
  const field: SourceField = platform === 'bilibili' ? 'bilibili_room_id' : 'youtube_video_id'
  if (platform === 'bilibili' && r.bilibili_room_id !== null) body.bilibili_room_id = r.bilibili_room_id
  if (platform === 'youtube' && r.youtube_video_id !== null) body.youtube_video_id = r.youtube_video_id
  withSecrets(body, d, [platform])
  return { body, problem: r.problems[field] ?? null }
}

const PROBLEM_WORDS: Record<SourceField, Record<SourceProblem, MessageKey>> = {
  bilibili_room_id: { invalid: 'sources.bilibiliRoomInvalid', channel: 'sources.bilibiliRoomInvalid' },
  youtube_video_id: { invalid: 'sources.youtubeVideoInvalid', channel: 'sources.youtubeVideoChannel' },
}

/** Why a field cannot be sent, in words. */
export function problemText(field: SourceField, problem: SourceProblem): string {
  return t(PROBLEM_WORDS[field][problem])
}
