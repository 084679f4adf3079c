/**
 * The one way the dashboard talks to the admin API: fetch (and XHR for uploads with progress)
 * under the relative prefix /api, JSON in and out, every failure turned into an ApiError.
 *
 * A 401 on a signed-in request asks the auth hooks for a fresh access token once and retries the
 * request once; when that fails the hooks are told the sign-in has expired.
 */
import type { ErrorBody, FieldReason } from './types'

export const API_PREFIX = '/api'

/** What an error body says beyond its code and English message, for the UI to word it. */
export interface ErrorDetail {
  /** the precise failure, from the API's catalogue (backend/errors.py REASONS) */
  reason?: string | null
  /** the reason's values (times as ISO 8601) */
  params?: Record<string, unknown> | null
  /** per field: pydantic's error type and its context */
  fieldReasons?: Record<string, FieldReason> | null
}

/**
 * An API failure: HTTP status (0 when the server could not be reached), code, the server's
 * English message and per-field messages, and the reason and values to word it in the UI's
 * language (lib/feedback.ts errorText).
 */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>
  readonly reason: string | null
  readonly params: Record<string, unknown>
  readonly fieldReasons: Record<string, FieldReason>

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}, detail: ErrorDetail = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
    this.reason = detail.reason ?? null
    this.params = detail.params ?? {}
    this.fieldReasons = detail.fieldReasons ?? {}
  }
}

/** The ApiError an error body describes, or null when `body` is not one. */
function errorOfBody(status: number, body: unknown): ApiError | null {
  const err = body && typeof body === 'object' ? (body as Partial<ErrorBody>).error : undefined
  if (!err || typeof err.message !== 'string') return null
  return new ApiError(status, err.code || 'error', err.message, err.fields || {}, {
    reason: typeof err.reason === 'string' ? err.reason : null,
    params: err.params && typeof err.params === 'object' ? err.params : {},
    fieldReasons: err.field_reasons && typeof err.field_reasons === 'object' ? err.field_reasons : {},
  })
}

/** What the HTTP layer needs from whoever holds the tokens (the auth store installs these). */
export interface AuthHooks {
  accessToken(): string | null
  /** Get a new access token with the refresh token; true when there is one now. */
  refresh(): Promise<boolean>
  /** The sign-in is over (refresh failed): forget it and send the user to the login page. */
  expired(): void
}

let hooks: AuthHooks = {
  accessToken: () => null,
  refresh: async () => false,
  expired: () => {},
}

export function setAuthHooks(h: AuthHooks): void {
  hooks = h
}

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  query?: Query
  /** JSON body (or FormData, sent as is) */
  body?: unknown
  headers?: Record<string, string>
  /** send the access token and handle 401 (default true) */
  auth?: boolean
  /** what to read from a successful answer (default json) */
  as?: 'json' | 'blob' | 'text'
  signal?: AbortSignal
}

export function apiUrl(path: string, query?: Query): string {
  let url = path.startsWith(API_PREFIX) ? path : API_PREFIX + path
  if (query) {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
    }
    const qs = params.toString()
    if (qs) url += (url.includes('?') ? '&' : '?') + qs
  }
  return url
}

/** The ApiError for an answer that is not 2xx, from its JSON error body when it has one. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    body = null
  }
  return errorOfBody(res.status, body) ?? new ApiError(res.status, 'http', `HTTP ${res.status} ${res.statusText || ''}`.trim())
}

function buildInit(method: string, opts: RequestOptions, token: string | null): RequestInit {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers || {}) }
  let body: BodyInit | undefined
  if (opts.body instanceof FormData) {
    body = opts.body
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  if (token && !headers.Authorization) headers.Authorization = `Bearer ${token}`
  return { method, headers, body, signal: opts.signal }
}

async function send(method: string, url: string, opts: RequestOptions, token: string | null): Promise<Response> {
  try {
    return await fetch(url, buildInit(method, opts, token))
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(0, 'network', 'the server cannot be reached')
  }
}

async function read<T>(res: Response, as: RequestOptions['as']): Promise<T> {
  if (res.status === 204) return undefined as T
  if (as === 'blob') return (await res.blob()) as T
  if (as === 'text') return (await res.text()) as T
  const text = await res.text()
  if (!text) return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ApiError(res.status, 'bad_response', 'the server answered something that is not JSON')
  }
}

/** Call the API: `request('GET', '/rooms', {query: {page: 1}})`. Throws ApiError. */
export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const url = apiUrl(path, opts.query)
  const useAuth = opts.auth !== false
  const token = useAuth ? hooks.accessToken() : null
  let res = await send(method, url, opts, token)
  if (res.status === 401 && useAuth && token) {
    if (await hooks.refresh()) {
      res = await send(method, url, opts, hooks.accessToken())
    }
    if (res.status === 401) {
      const err = await errorFrom(res)
      hooks.expired()
      throw new ApiError(401, 'session_expired', err.message, {}, err)
    }
  }
  if (!res.ok) throw await errorFrom(res)
  return read<T>(res, opts.as)
}

export const http = {
  get: <T>(path: string, query?: Query, opts: RequestOptions = {}) => request<T>('GET', path, { ...opts, query }),
  post: <T>(path: string, body?: unknown, opts: RequestOptions = {}) => request<T>('POST', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts: RequestOptions = {}) => request<T>('PATCH', path, { ...opts, body }),
  del: <T = void>(path: string, opts: RequestOptions = {}) => request<T>('DELETE', path, opts),
}

function xhrOnce<T>(method: string, url: string, form: FormData, token: string | null, onProgress?: (fraction: number) => void)
  : Promise<{ status: number; json: unknown; statusText: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    xhr.setRequestHeader('Accept', 'application/json')
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total)
    }
    xhr.onload = () => {
      let json: unknown = null
      try {
        json = xhr.responseText ? JSON.parse(xhr.responseText) : null
      } catch {
        json = null
      }
      resolve({ status: xhr.status, json: json as T, statusText: xhr.statusText })
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the server cannot be reached'))
    xhr.send(form)
  })
}

/** POST (or PUT) multipart form data with upload progress (0..1); same 401 handling as request(). */
export async function upload<T>(path: string, form: FormData, onProgress?: (fraction: number) => void, method: 'POST' | 'PUT' = 'POST'): Promise<T> {
  const url = apiUrl(path)
  const token = hooks.accessToken()
  let res = await xhrOnce<T>(method, url, form, token, onProgress)
  if (res.status === 401 && token) {
    if (await hooks.refresh()) res = await xhrOnce<T>(method, url, form, hooks.accessToken(), onProgress)
    if (res.status === 401) {
      hooks.expired()
      throw new ApiError(401, 'session_expired', 'the sign-in has expired')
    }
  }
  if (res.status < 200 || res.status >= 300) {
    throw errorOfBody(res.status, res.json) ?? new ApiError(res.status, 'http', `HTTP ${res.status} ${res.statusText}`.trim())
  }
  return res.json as T
}
