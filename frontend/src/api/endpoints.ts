/** Typed calls of the admin API, one function per endpoint the dashboard uses. */
import { ApiError, apiUrl, http, upload } from './http'
import { ACTIVE_STATUSES } from './types'
import type {
  AudienceEventOut, AuditEntry, Recording, RecordingSegment, Avatar, CommandOut, Media, MediaKind, SceneCard, ScenePreviewIn, Comment, CommentIn, ComplianceEntry, Draft, DraftIn, Page, Product, ProductIn,
  ProductPatch, Room, RoomIn, RoomPatch, RoomStopResult, Schedule, ScheduleIn,
  SchedulePatch, Script, ScriptIn, ScriptPatch, Session, SessionDetail, SessionIn, TestPushIn, TestPushResult, Tokens,
  Transcriber, User, UserIn, UserPatch, Voice, VoiceIn, VoicePatch, Worker,
  RelayToken, SourceTestIn, SourceTestResult, Webhook, WebhookIn, WebhookPatch, WebhookTestResult,
} from './types'

export interface PageArgs {
  page?: number
  per_page?: number
}

export const authApi = {
  login: (username: string, password: string) =>
    http.post<Tokens>('/auth/login', { username, password }, { auth: false }),
  refresh: (refreshToken: string) =>
    http.post<Tokens>('/auth/refresh', undefined, { auth: false, headers: { Authorization: `Bearer ${refreshToken}` } }),
  logout: (accessToken: string, refreshToken: string | null) =>
    http.post<void>('/auth/logout', refreshToken ? { refresh_token: refreshToken } : undefined, {
      auth: false, headers: { Authorization: `Bearer ${accessToken}` },
    }),
  me: () => http.get<User>('/auth/me'),
}

/** CRUD of one collection under /api/<name>. */
export function collection<T extends { id: number }, In, Patch = Partial<In>>(name: string) {
  return {
    list: (args: PageArgs & Record<string, string | number | boolean | undefined> = {}) =>
      http.get<Page<T>>(`/${name}`, { per_page: 100, ...args }),
    get: (id: number) => http.get<T>(`/${name}/${id}`),
    create: (body: In) => http.post<T>(`/${name}`, body),
    update: (id: number, body: Patch) => http.patch<T>(`/${name}/${id}`, body),
    remove: (id: number) => http.del(`/${name}/${id}`),
  }
}

export const roomsApi = {
  ...collection<Room, RoomIn, RoomPatch>('rooms'),
  /** pushes a few seconds of a test card (to `server_url` and `stream_key` when given, else the saved
   * ones); resolves when done */
  testPush: (id: number, body: TestPushIn = { seconds: 3 }) => http.post<TestPushResult>(`/rooms/${id}/test-push`, body),
  /** stops every active live of the room (operator/admin) */
  stop: (id: number) => http.post<RoomStopResult>(`/rooms/${id}/stop`),
  /** a new relay token (the old one stops at once); the token is in this answer only */
  newRelayToken: (id: number) => http.post<RelayToken>(`/rooms/${id}/relay-token`),
  /** the relay token stops working; the room takes no relay events until a new one is made */
  revokeRelayToken: (id: number) => http.del(`/rooms/${id}/relay-token`),
  /** connects to one platform's chat with the saved sources, or the form's values given here */
  testSource: (id: number, body: SourceTestIn) => http.post<SourceTestResult>(`/rooms/${id}/sources/test`, body),
}
export const voicesApi = {
  ...collection<Voice, VoiceIn, VoicePatch>('voices'),
  preview: (id: number, text: string) =>
    http.post<Blob>(`/voices/${id}/preview`, undefined, { query: { text }, as: 'blob' }),
}
export const scriptsApi = {
  ...collection<Script, ScriptIn, ScriptPatch>('scripts'),
  /** the LLM drafts a script from products in a style (tens of seconds); nothing is saved */
  draft: (body: DraftIn, signal?: AbortSignal) => http.post<Draft>('/scripts/draft', body, { signal }),
}
export const schedulesApi = collection<Schedule, ScheduleIn, SchedulePatch>('schedules')
export const usersApi = collection<User, UserIn, UserPatch>('users')
export const webhooksApi = {
  ...collection<Webhook, WebhookIn, WebhookPatch>('webhooks'),
  /** sends a test alert now (one try, up to 10 s) and says whether the receiver took it */
  test: (id: number) => http.post<WebhookTestResult>(`/webhooks/${id}/test`),
}

export const avatarsApi = {
  ...collection<Avatar, never>('avatars'),
  upload: (name: string, file: File, onProgress?: (fraction: number) => void) => {
    const form = new FormData()
    form.append('name', name)
    form.append('file', file)
    return upload<Avatar>('/avatars', form, onProgress)
  },
  createDefault: () => http.post<Avatar>('/avatars/default'),
  thumbnail: (id: number) => http.get<Blob>(`/avatars/${id}/thumbnail`, undefined, { as: 'blob' }),
}

export const productsApi = {
  ...collection<Product, ProductIn, ProductPatch>('products'),
  /** one page of the products, those whose name holds `q` when given */
  search: (args: PageArgs & { q?: string } = {}) => http.get<Page<Product>>('/products', { per_page: 20, ...args }),
  /** a JPEG, PNG or WebP image of at most 5 MB (422 otherwise) */
  uploadImage: (id: number, file: File, onProgress?: (fraction: number) => void) => {
    const form = new FormData()
    form.append('file', file)
    return upload<Product>(`/products/${id}/image`, form, onProgress, 'PUT')
  },
  image: (id: number) => http.get<Blob>(`/products/${id}/image`, undefined, { as: 'blob' }),
  removeImage: (id: number) => http.del(`/products/${id}/image`),
}

export const mediaApi = {
  list: (args: PageArgs & { kind?: MediaKind } = {}) => http.get<Page<Media>>('/media', { per_page: 100, ...args }),
  get: (id: number) => http.get<Media>(`/media/${id}`),
  /** an image, video or sound; its kind is read from the file (422 for anything else) */
  upload: (file: File, name?: string, onProgress?: (fraction: number) => void) => {
    const form = new FormData()
    if (name) form.append('name', name)
    form.append('file', file)
    return upload<Media>('/media', form, onProgress)
  },
  file: (id: number) => http.get<Blob>(`/media/${id}/file`, undefined, { as: 'blob' }),
  /** 409 in_use while a room's scene names it */
  remove: (id: number) => http.del(`/media/${id}`),
}

export const sceneApi = {
  /** a PNG of the scene as viewers would see it (the unsaved scene, or the room's saved one) */
  preview: (body: ScenePreviewIn, signal?: AbortSignal) => http.post<Blob>('/scene/preview', body, { as: 'blob', signal }),
}

export const sessionsApi = {
  list: (args: PageArgs & { status?: string; room_id?: number } = {}) =>
    http.get<Page<Session>>('/sessions', { per_page: 20, ...args }),
  get: (id: number) => http.get<SessionDetail>(`/sessions/${id}`),
  /** every live that holds its room (queued, starting, live, stopping; up to 100 of each) */
  active: async (): Promise<Session[]> => {
    const pages = await Promise.all(ACTIVE_STATUSES.map((status) => sessionsApi.list({ status, per_page: 100 })))
    return pages.flatMap((p) => p.items)
  },
  create: (body: SessionIn) => http.post<Session>('/sessions', body),
  comments: (id: number, args: PageArgs = {}) => http.get<Page<Comment>>(`/sessions/${id}/comments`, { ...args }),
  comment: (id: number, body: CommentIn) =>
    http.post<Comment>(`/sessions/${id}/comments`, body),
  say: (id: number, text: string, interrupt: boolean) =>
    http.post<CommandOut>(`/sessions/${id}/say`, { text, interrupt }),
  interrupt: (id: number) => http.post<CommandOut>(`/sessions/${id}/interrupt`),
  action: (id: number, name: string) => http.post<CommandOut>(`/sessions/${id}/action`, { name }),
  pause: (id: number) => http.post<CommandOut>(`/sessions/${id}/pause`),
  resume: (id: number) => http.post<CommandOut>(`/sessions/${id}/resume`),
  /** show a card over the live instead of the host, or (null) take it away */
  card: (id: number, card: SceneCard | null) => http.post<CommandOut>(`/sessions/${id}/card`, { card }),
  stop: (id: number) => http.post<CommandOut>(`/sessions/${id}/stop`),
  /** the live's audience, newest first, with what the host did with each */
  audience: (id: number, args: PageArgs & { kind?: string; action?: string } = {}) =>
    http.get<Page<AudienceEventOut>>(`/sessions/${id}/audience`, { per_page: 100, ...args }),
  /** answer this queued comment next */
  answerAudience: (id: number, seq: number) => http.post<CommandOut>(`/sessions/${id}/audience/${seq}/answer`),
  /** drop this queued comment unanswered */
  skipAudience: (id: number, seq: number) => http.post<CommandOut>(`/sessions/${id}/audience/${seq}/skip`),
  /** what the banned-word check stopped in this live, newest first (a server without it: an empty page) */
  compliance: async (id: number, args: PageArgs = {}): Promise<Page<ComplianceEntry>> => {
    const got = await http.get<Page<ComplianceEntry> | ComplianceEntry[]>(`/sessions/${id}/compliance`, { per_page: 100, ...args })
    return Array.isArray(got) ? { items: got, page: 1, per_page: got.length, total: got.length } : got
  },
  /** the outgoing live as HLS, a few seconds behind (signed in: the token goes in the Authorization header) */
  previewUrl: (id: number) => apiUrl(`/sessions/${id}/preview/index.m3u8`),
  /** the live's recording (404 when it has none) */
  recording: (id: number) => http.get<Recording>(`/sessions/${id}/recording`),
  /** one segment of the recording, an MPEG-TS file */
  recordingSegment: (segment: RecordingSegment) => http.get<Blob>(segment.url, undefined, { as: 'blob' }),
  /** delete the recording (operator/admin; 409 while the live runs) */
  deleteRecording: (id: number) => http.del(`/sessions/${id}/recording`),
  /** block a viewer ("platform:user_id" or a name) in this live and in the room's settings */
  blockAudience: (id: number, user: string) => http.post<CommandOut>(`/sessions/${id}/audience/block`, { user }),
}

export const auditApi = {
  list: (args: PageArgs & { action?: string; username?: string; target?: string } = {}) =>
    http.get<Page<AuditEntry>>('/audit', { ...args }),
}

/** Workers and their load; an older server without the endpoint gives an empty list. */
export async function listWorkers(): Promise<Worker[]> {
  try {
    const out = await http.get<Worker[]>('/workers')
    return Array.isArray(out) ? out : []
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return []
    throw e
  }
}

export const transcriberApi = {
  /** where push-to-talk finds the transcription service; url null when none is configured */
  info: () => http.get<Transcriber>('/transcriber'),
}
