/**
 * Shapes of the admin API under the names the dashboard uses. They come from schema.d.ts, which
 * is generated from the API's OpenAPI document (`npm run gen:api`; never edit it by hand).
 *
 * A few fields are narrowed here: the document's output models say only "string" where the value
 * is one of the input model's choices (a room's platform, a voice's engine, ...), and it says
 * nothing of a script segment's shape or of the live event stream.
 */
import type { components } from './schema'

type Schemas = components['schemas']
/** `T` with the fields of `U` in place of its own. */
type With<T, U> = Omit<T, keyof U> & U

export type ErrorBody = Schemas['Error']
export type Tokens = Schemas['Tokens']

/** One page of a collection (the document has one Page_<Out> per collection, all of this shape). */
export interface Page<T> {
  items: T[]
  page: number
  per_page: number
  total: number
}

export type Role = NonNullable<Schemas['UserIn']['role']>
export type User = With<Schemas['UserOut'], { role: Role }>
export type UserIn = Schemas['UserIn']
export type UserPatch = Schemas['UserPatch']

export type Platform = NonNullable<Schemas['RoomIn']['platform']>
/** Every setting of a room (the API fills the ones left out with its defaults). */
export type RoomSettings = Required<Schemas['RoomSettings']>
/** `stream_key` is masked: '' when none is set, else '****' and at most 4 characters. */
export type Room = With<Schemas['RoomOut'], { platform: Platform; settings: Partial<RoomSettings> }>
export type RoomIn = Schemas['RoomIn']
export type RoomPatch = Schemas['RoomPatch']

export type Avatar = Schemas['AvatarOut']

export type VoiceEngine = NonNullable<Schemas['VoiceIn']['engine']>
export type Voice = With<Schemas['VoiceOut'], { engine: VoiceEngine }>
export type VoiceIn = Schemas['VoiceIn']
export type VoicePatch = Schemas['VoicePatch']

export type Segment = { say: string; voice?: string } | { pause: number } | { action: string }
export type Script = With<Schemas['ScriptOut'], { segments: Segment[] }>
export type ScriptIn = With<Schemas['ScriptIn'], { segments: Segment[] }>
export type ScriptPatch = With<Schemas['ScriptPatch'], { segments?: Segment[] | null }>

export type Repeat = NonNullable<Schemas['ScheduleIn']['repeat']>
export type Schedule = With<Schemas['ScheduleOut'], { repeat: Repeat }>
export type ScheduleIn = Schemas['ScheduleIn']
export type SchedulePatch = Schemas['SchedulePatch']

export const TERMINAL_STATUSES: readonly string[] = ['ended', 'failed']

export type Session = Schemas['SessionOut']
/** The worker's heartbeat; every field may be missing or null when the worker did not write it. */
export type LiveStatus = Schemas['LiveStatus']
export type SessionDetail = Schemas['SessionDetail']
export type SessionIn = Schemas['SessionIn']
export type CommandOut = Schemas['CommandOut']
export type Comment = Schemas['CommentOut']
export type CommentIn = Schemas['CommentIn']

export type AuditEntry = Schemas['AuditOut']
export type Worker = Schemas['WorkerOut']
/** POST /api/rooms/{id}/test-push; `error` says why it failed (the key masked), null when ok. */
export type TestPushResult = Schemas['TestPushOut']
export type Transcriber = Schemas['TranscriberOut']

/** One event of a live, as the event stream sends it (its `type` is also the SSE event name). */
export interface LiveEvent {
  type: string
  at?: number
  [field: string]: unknown
}
