/** Shapes of the admin API (see /api/openapi.json); names follow the schemas there. */

export type Role = 'admin' | 'operator' | 'viewer'

export interface Page<T> {
  items: T[]
  page: number
  per_page: number
  total: number
}

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> }
}

export interface Tokens {
  access_token: string
  refresh_token?: string | null
  token_type?: string
  expires_in: number
}

export interface User {
  id: number
  username: string
  role: Role
  disabled: boolean
  created_at: string
}

export type Platform = 'douyin' | 'bilibili' | 'kuaishou' | 'youtube' | 'custom'

export interface RoomSettings {
  persona: string
  answer_immediately: boolean
  interrupt_gap_ms: number
  speech_during_action: 'wait' | 'interrupt'
  keyword_replies: Record<string, string>
  default_reply: string
  fallback_line: string
  max_reply_chars: number
}

export interface Room {
  id: number
  name: string
  platform: Platform
  server_url: string
  /** masked: '' when none is set, else '****' and at most 4 characters */
  stream_key: string
  settings: Partial<RoomSettings>
  created_at: string
}

export interface RoomIn {
  name: string
  platform: Platform
  server_url: string
  stream_key?: string
  settings?: RoomSettings
}

export interface Avatar {
  id: number
  slug: string
  name: string
  status: 'preparing' | 'ready' | 'failed' | string
  progress: number
  error: string | null
  source: string
  frames: number
  /** action clip names; older servers leave it out */
  actions?: string[]
  /** lipsync engine, when the server tells it */
  engine?: string
  created_at: string
}

export type VoiceEngine = 'espeak' | 'edge'

export interface Voice {
  id: number
  name: string
  engine: VoiceEngine
  voice: string
  rate: number
  pitch: number
  spec: string
  created_at: string
}

export interface VoiceIn {
  name: string
  engine: VoiceEngine
  voice: string
  rate: number
  pitch: number
}

export type Segment = { say: string; voice?: string } | { pause: number } | { action: string }

export interface Script {
  id: number
  name: string
  loop: number
  segments: Segment[]
  chars: number
  sentences: number
  created_at: string
  updated_at: string
}

export interface ScriptIn {
  name: string
  loop: number
  segments: Segment[]
}

export type Repeat = 'none' | 'daily' | 'weekly'

export interface Schedule {
  id: number
  room_id: number
  script_id: number
  avatar_id: number
  voice_id: number
  start_at: string
  end_at: string
  repeat: Repeat
  enabled: boolean
  next_start: string | null
  created_by: number | null
  created_at: string
}

export interface ScheduleIn {
  room_id: number
  script_id: number
  avatar_id: number
  voice_id: number
  start_at: string
  end_at: string
  repeat: Repeat
  enabled: boolean
}

export type SessionStatus = 'queued' | 'starting' | 'live' | 'stopping' | 'ended' | 'failed'
export const TERMINAL_STATUSES: readonly string[] = ['ended', 'failed']

export interface Session {
  id: number
  schedule_id: number | null
  room_id: number
  script_id: number
  avatar_id: number
  voice_id: number
  status: SessionStatus
  worker: string | null
  planned_end_at: string | null
  started_at: string | null
  ended_at: string | null
  last_error: string | null
  attempts: number
  position: Record<string, unknown>
  created_by: number | null
  created_at: string
}

/** The worker's heartbeat; every field may be null when the worker did not write it. */
export interface LiveStatus {
  state?: string | null
  seconds?: number | null
  fps?: number | null
  bitrate?: number | null
  speaking?: string | null
  action?: string | null
  paused?: boolean | null
  pending_replies?: number | null
  position?: Record<string, unknown> | null
  queues?: Record<string, number> | null
  connected?: boolean | null
  errors?: number | null
  worker?: string | null
  updated_at?: number | null
}

export interface SessionDetail extends Session {
  live: LiveStatus | null
  queue_position: number | null
  estimated_wait_s?: number | null
}

export interface SessionIn {
  room_id: number
  script_id: number
  avatar_id: number
  voice_id: number
  duration_s?: number | null
}

export interface CommandOut {
  command_id: string
  type: string
  status: string
}

export interface Comment {
  id: number
  session_id: number
  user: string
  text: string
  interrupt: boolean
  reply: string | null
  created_by: number | null
  created_at: string
}

export interface AuditEntry {
  id: number
  created_at: string
  user_id: number | null
  username: string
  action: string
  target: string
  detail: Record<string, unknown>
  ip: string
}

export interface Worker {
  name: string
  slots: number
  running: number
  updated_at: number
}

/** One event of a live, as the event stream sends it (its `type` is also the SSE event name). */
export interface LiveEvent {
  type: string
  at?: number
  [field: string]: unknown
}

/** POST /api/rooms/{id}/test-push */
export interface TestPushResult {
  ok: boolean
  url: string
  seconds: number
  connect_ms: number | null
  /** why it failed (the key masked); null when ok */
  error: string | null
}
