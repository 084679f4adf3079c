/**
 * A fake server at the HTTP boundary: `fetch` answers from a table of "METHOD /path" handlers,
 * and every request is recorded (method, path, query, headers, JSON body) for assertions.
 */
import { vi } from 'vitest'

export interface FakeRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body: unknown
}

export interface FakeAnswer {
  status?: number
  body?: unknown
  contentType?: string
}

export type Handler = (req: FakeRequest) => FakeAnswer | Promise<FakeAnswer>

export function jsonError(status: number, code: string, message: string, fields?: Record<string, string>): FakeAnswer {
  return { status, body: { error: { code, message, ...(fields ? { fields } : {}) } } }
}

export function page<T>(items: T[], total = items.length, pageNo = 1, perPage = 100) {
  return { items, total, page: pageNo, per_page: perPage }
}

export function installFakeFetch(routes: Record<string, Handler>) {
  const calls: FakeRequest[] = []
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://dashboard.test')
    const method = (init.method || 'GET').toUpperCase()
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((v, k) => { headers[k.toLowerCase()] = v })
    let body: unknown = init.body
    if (typeof body === 'string') {
      try { body = JSON.parse(body) } catch { /* keep text */ }
    }
    const req: FakeRequest = { method, path: url.pathname, query: url.searchParams, headers, body }
    calls.push(req)
    const handler = routes[`${method} ${url.pathname}`]
    const answer: FakeAnswer = handler ? await handler(req) : { status: 404, body: { error: { code: 'not_found', message: 'no such endpoint' } } }
    const status = answer.status ?? 200
    if (status === 204) return new Response(null, { status })
    const isJson = !answer.contentType || answer.contentType.includes('json')
    return new Response(isJson ? JSON.stringify(answer.body ?? null) : (answer.body as BodyInit), {
      status,
      headers: { 'Content-Type': answer.contentType ?? 'application/json' },
    })
  })
  vi.stubGlobal('fetch', fetch)
  return { fetch, calls }
}

/** "Bearer x" -> "x" */
export function bearer(req: FakeRequest): string | null {
  const h = req.headers.authorization
  return h?.startsWith('Bearer ') ? h.slice(7) : null
}

/** The error a promise fails with (the test fails if it does not). */
export async function failure(p: Promise<unknown>): Promise<import('@/api/http').ApiError> {
  try {
    await p
  } catch (e) {
    return e as import('@/api/http').ApiError
  }
  throw new Error('expected the call to fail')
}
