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

/** Why a request failed: a reason from the API's catalogue (backend/errors.py REASONS) and its
 * values, for the dashboard to word; pydantic's error type and context for a field. */
export interface FieldReason {
  reason: string
  params?: Record<string, unknown>
}
export type ErrorBody = With<Schemas['Error'], {
  error: Schemas['Error']['error'] & {
    reason?: string | null
    params?: Record<string, unknown> | null
    field_reasons?: Record<string, FieldReason> | null
  }
}>
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

/**
 * How the host triages its audience (RoomSettings.audience); the API fills the keys left out
 * with its defaults.
 */
export type AudienceSettings = Required<Schemas['AudienceSettings']>
/** Which viewer comments the host answers. */
export type AudienceAnswer = AudienceSettings['answer']
/** What cuts the host off at once. */
export type AudienceInterrupt = AudienceSettings['interrupt_on'][number]
/** What the host thanks (gathered, then said in one line). */
export type AudienceThank = AudienceSettings['thank'][number]
/** A room's banned words (违禁词) besides the built-in list: its additions and its exceptions. */
export type BannedWordsSettings = Required<Schemas['BannedWordsSettings']>
/**
 * What a room adds for selling: shop facts (shipping, returns ...) the host answers from, banned
 * words, its shelf (products the host knows besides the script's), and whether a looping script is
 * re-worded by the LLM for the next loop.
 */
export type SellingSettings = With<Required<Pick<Schemas['RoomSettings'], 'knowledge' | 'products' | 'reword_loops'>>, {
  banned_words: BannedWordsSettings
}>
/** Every setting of a room (the API fills the ones left out with its defaults). */
export type RoomSettings = With<Required<Schemas['RoomSettings']>, { audience: AudienceSettings; scene: SceneSettings } & SellingSettings>

/**
 * Where a room's live chat comes from, as sent (POST, PATCH). The secrets are write-only: a
 * string replaces the stored one, "" clears it, and a field left out keeps it.
 */
export type RoomSourcesIn = Schemas['SourcesIn']
/** A room's live chat sources as the API shows them: the secrets only as set or not. */
export type RoomSources = Schemas['SourcesOut']
/** POST /api/rooms/{id}/relay-token: the new token, shown only in this answer. */
export type RelayToken = Schemas['RelayTokenOut']
export type SourcePlatform = Schemas['SourcesTestIn']['platform']
/** POST /api/rooms/{id}/sources/test: the platform, and the form's values not yet saved. */
export type SourceTestIn = Schemas['SourcesTestIn']
/**
 * How a connection test went: `detail` is what the platform said (room id, title, ...); when it
 * failed, `reason` (the API's catalogue: source_unreachable, ...) with its `params`, and `error`
 * in English.
 */
export type SourceTestResult = Schemas['SourcesTestOut']

/** `stream_key` is masked: '' when none is set, else '****' and at most 4 characters. */
export type Room = With<Schemas['RoomOut'], {
  platform: Platform
  settings: Partial<With<RoomSettings, { audience: Partial<AudienceSettings>; banned_words: Partial<BannedWordsSettings> }>>
  /** missing from a server older than the audience */
  sources?: RoomSources | null
}>
/**
 * Another RTMP server a room's lives are pushed to (the same encoding), as sent: a saved one is
 * named by `id`, and its key is kept when `stream_key` is null or left out.
 */
export type DestinationIn = Schemas['DestinationIn']
/** A room's extra destination as the API shows it: `stream_key` masked ('' when none is set). */
export type Destination = Schemas['DestinationOut']
/** The most extra destinations a room may have (besides its own server). */
export const MAX_DESTINATIONS = 5
export type RoomIn = With<Schemas['RoomIn'], { settings?: Partial<RoomSettings> }>
export type RoomPatch = With<Schemas['RoomPatch'], { settings?: Partial<RoomSettings> | null }>

/** What a media file is: a picture, a video (a moving background) or a sound (background music). */
export type MediaKind = 'image' | 'video' | 'audio'
/**
 * A file of the media library (GET /api/media): its kind (from its content), size in bytes, and
 * for a video or a sound its duration in seconds; the file itself is at /api/media/{id}/file.
 */
export interface Media {
  id: number
  name: string
  kind: MediaKind
  content_type?: string | null
  size?: number | null
  duration?: number | null
  width?: number | null
  height?: number | null
  created_at: string
}

/** A rectangle of the canvas as fractions (0..1) of its width and height. */
export interface SceneBox { x: number; y: number; w: number; h: number }
export type CaptionStyle = 'band' | 'outline'
export type AiLabelMode = 'auto' | 'on' | 'off'
export type Corner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right'
export type BackgroundType = 'blur' | 'image' | 'video'
/** A card shown over the live instead of the host ("starting soon", "be right back"). */
export type SceneCard = 'starting_soon' | 'be_right_back'
/**
 * What is drawn around the host (RoomSettings.scene): captions, the AI label, background, logo,
 * title, product card, the cards' texts, background music and the mix's loudness. Media are ids
 * of the media library.
 */
export interface SceneSettings {
  captions: boolean
  caption_style: CaptionStyle
  caption_box: SceneBox
  caption_size: number
  ai_label: AiLabelMode
  ai_label_text: string
  ai_label_corner: Corner
  background: { type: BackgroundType; media?: number | null }
  logo: { media: number; box: SceneBox } | null
  title: { text: string; box: SceneBox; size: number } | null
  product_card: boolean
  product_card_box: SceneBox
  cards: Record<SceneCard, string>
  music: { playlist: number[]; volume_db: number; duck_db: number }
  loudness: number
}
/** POST /api/scene/preview: the scene (unsaved), a canvas size and what to show in it. */
export interface ScenePreviewIn {
  scene?: SceneSettings
  room_id?: number
  avatar?: string
  width: number
  height: number
  caption?: string
  product?: number
  card?: SceneCard
}

export type Avatar = Schemas['AvatarOut']

export type VoiceEngine = NonNullable<Schemas['VoiceIn']['engine']>
export type Voice = With<Schemas['VoiceOut'], { engine: VoiceEngine }>
export type VoiceIn = Schemas['VoiceIn']
export type VoicePatch = Schemas['VoicePatch']

/** A script's segment; `product` makes that product the current one for what follows. */
export type Segment = { say: string; voice?: string } | { pause: number } | { action: string } | { product: number | string }
export type Script = With<Schemas['ScriptOut'], { segments: Segment[] }>
export type ScriptIn = With<Schemas['ScriptIn'], { segments: Segment[] }>
export type ScriptPatch = With<Schemas['ScriptPatch'], { segments?: Segment[] | null }>

export type Repeat = NonNullable<Schemas['ScheduleIn']['repeat']>
export type Schedule = With<Schemas['ScheduleOut'], { repeat: Repeat }>
export type ScheduleIn = Schemas['ScheduleIn']
export type SchedulePatch = Schemas['SchedulePatch']

export const TERMINAL_STATUSES: readonly string[] = ['ended', 'failed']
/** a live that holds its room: most advanced first */
export const ACTIVE_STATUSES = ['live', 'starting', 'stopping', 'queued'] as const

export type Session = Schemas['SessionOut']
/** What a live came to, set once its worker ended it: media sent (seconds), viewers' messages,
 * of them answered on air, destination reconnects, and its recording (null: none kept). */
export type SessionSummary = Schemas['SessionSummary']

/** A product's question and its answer, for the host to answer from. */
export type Faq = Schemas['FaqOut']
/**
 * A product as the API shows it: `link` is the shop's link number ("3号链接"), `stock` a note
 * ("现货", "仅剩20件"), `image_url` set once an image is uploaded; `archived` when it was deleted
 * while a script or a room named it.
 */
export type Product = Schemas['ProductOut']
/** What a product form sends (POST, PATCH). */
export type ProductIn = Schemas['ProductIn']
export type ProductPatch = Schemas['ProductPatch']

/** How a drafted script sounds (streamer/selling/copywriter.py STYLES). */
export type DraftStyle = Schemas['DraftIn']['style']
export const DRAFT_STYLES: readonly DraftStyle[] = ['lively', 'calm', 'professional', 'warm', 'humorous']
export type DraftLanguage = NonNullable<Schemas['DraftIn']['language']>
/** POST /api/scripts/draft: which products, how it sounds, and the room whose facts and banned words apply. */
export type DraftIn = Required<Schemas['DraftIn']>
/** A segment of a draft that still holds banned words (0-based), for the operator to edit. */
export type DraftBanned = Schemas['DraftBanned']
/** The LLM's draft of a script: not saved; the operator edits it before saving. */
export type Draft = With<Schemas['DraftOut'], { segments: Segment[] }>

/** Where the banned-word check stopped something: an LLM reply, a re-worded line, a viewer's words, a draft. */
export type ComplianceWhere = 'reply' | 'rewording' | 'viewer' | 'draft'
/** What came of it: asked again, replaced (fallback line), dropped, or the original line said instead. */
export type ComplianceAction = 'reasked' | 'replaced' | 'dropped' | 'original'
/** GET /api/sessions/{id}/compliance: one stored check of a live, newest first. */
export type ComplianceEntry = With<Schemas['ComplianceOut'], { where: ComplianceWhere | string; action: ComplianceAction | string }>
/** The product the host presents now (status.product; a "product" event names its id as a string). */
export interface CurrentProduct {
  id: number | string
  name: string
}

export type AudienceSourceStatus = Schemas['SourceStatus']
/** The live's audience in its heartbeat: its sources and counters. */
export type AudienceStatus = Schemas['AudienceStatus']
/** The background music in the heartbeat: the file playing, the playlist's length, whether it
 * plays (false once no file can be played), files that failed, and lowered under the voice now. */
export interface MusicStatus {
  track?: string | null
  tracks?: number | null
  playing?: boolean | null
  errors?: number | null
  ducked?: boolean | null
}
/** The scene in the heartbeat: the card over the picture (null: none), the music (null: none). */
export interface SceneStatus {
  card?: SceneCard | string | null
  music?: MusicStatus | null
}
/**
 * One place the live goes, in the heartbeat: `name` is the push URL with its key masked, or
 * 'recording' or 'preview'; `bitrate` in bit/s; `dropped` packets dropped because it fell behind.
 */
export type DestinationStatus = Schemas['DestinationStatus']
/** The names the heartbeat gives the outputs that are not an RTMP server. */
export const LOCAL_OUTPUTS = ['recording', 'preview'] as const
/** The worker's heartbeat; every field may be missing or null when the worker did not write it. */
export type LiveStatus = With<Schemas['LiveStatus'], { scene?: SceneStatus | null }>
export type SessionDetail = With<Schemas['SessionDetail'], { live: LiveStatus | null }>

/** What viewers do (comment, gift, paid message, ...). */
export type AudienceKind = 'comment' | 'gift' | 'superchat' | 'follow' | 'enter' | 'like' | 'guard' | 'online'
/**
 * What the host did with it: received (not triaged yet); on arrival queued, skipped, thanks (waits
 * for the thank-you batch) or seen (counted only); later answering (handed to the host), answered,
 * thanked, skipped (by the operator) or dropped.
 */
export type AudienceAction = 'received' | 'queued' | 'skipped' | 'thanks' | 'seen' | 'answering' | 'answered' | 'thanked'
  | 'dropped'
/** GET /api/sessions/{id}/audience: one stored event of a live's audience, with what came of it. */
export type AudienceEventOut = Schemas['AudienceEventOut']

/** GET /api/sessions/{id}/recording: a live kept on disk, in MPEG-TS segments (seconds, bytes). */
export type Recording = Schemas['RecordingOut']
/** One segment of a recording; `url` downloads it (signed in). */
export type RecordingSegment = Schemas['SegmentOut']

export type SessionIn = Schemas['SessionIn']
export type CommandOut = Schemas['CommandOut']
export type Comment = Schemas['CommentOut']
export type CommentIn = Schemas['CommentIn']

export type AuditEntry = Schemas['AuditOut']
export type Worker = Schemas['WorkerOut']
/**
 * POST /api/rooms/{id}/test-push: the form's server URL and key when given, else the saved ones
 * (of the room, or of its saved extra destination `destination`).
 */
export interface TestPushIn {
  seconds?: number
  destination?: number
  server_url?: string
  stream_key?: string
}
/** Why a test push failed (null when it did not). */
export type TestPushReason = 'rtmp_unreachable' | 'rtmp_refused' | 'rtmp_dropped' | 'key_unreadable'
/**
 * The test push's result: `reason` and `params` say why it failed, `warnings` what looks wrong
 * even when it worked ("no_stream_key"); `error` is the same in English (the key masked).
 */
export type TestPushResult = With<Schemas['TestPushOut'], {
  reason?: TestPushReason | string | null
  params?: Record<string, unknown> | null
  warnings?: string[] | null
}>
/** POST /api/rooms/{id}/stop: the lives it stopped. */
export interface RoomStopResult {
  stopped: number[]
}
export type Transcriber = Schemas['TranscriberOut']

/** GET /api/events: a live changed state (the only event the overview needs). */
export interface StateChange {
  type: 'state'
  session_id: number
  state: string
  [field: string]: unknown
}

/** One event of a live, as the event stream sends it (its `type` is also the SSE event name). */
export interface LiveEvent {
  type: string
  at?: number
  [field: string]: unknown
}

/** Where a webhook's alerts go, by the JSON the receiver reads. */
export type WebhookFormat = NonNullable<Schemas['WebhookIn']['format']>
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['generic', 'wecom', 'dingtalk', 'feishu', 'slack']
/** What a webhook is told of: a live started, failed, lost a destination, or ended. */
export type WebhookEvent = NonNullable<Schemas['WebhookIn']['events']>[number]
export const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['started', 'failed', 'disconnected', 'ended']
/** A webhook as the API shows it: its URL only as its host, its signing secret only as set or not. */
export type Webhook = With<Schemas['WebhookOut'], { format: WebhookFormat | string; events: (WebhookEvent | string)[] }>
/** What a webhook form sends: POST (the URL required) ... */
export type WebhookIn = Schemas['WebhookIn']
/** ... or PATCH (a URL or secret given replaces the saved one; secret '' removes it). */
export type WebhookPatch = Schemas['WebhookPatch']
/** POST /api/webhooks/{id}/test: whether the receiver took the test alert, else why not (English). */
export type WebhookTestResult = Schemas['TestOut']
