import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useAuthStore } from '@/stores/auth'
import { ApiError, http } from '@/api/http'
import { bearer, failure, installFakeFetch, jsonError, page } from './fakeFetch'

const ADMIN = { id: 1, username: 'anna', role: 'admin', disabled: false, created_at: '2030-01-01T00:00:00Z' }

function server() {
  let access = 'access-1'
  let refreshes = 0
  const fake = installFakeFetch({
    'POST /api/auth/login': (req) => {
      const { username, password } = req.body as { username: string; password: string }
      if (username === 'anna' && password === 'secret') {
        return { body: { access_token: access, refresh_token: 'refresh-1', token_type: 'Bearer', expires_in: 900 } }
      }
      if (username === 'flood') return jsonError(429, 'rate_limited', 'too many failed sign-ins; wait and retry')
      return jsonError(401, 'unauthorized', 'wrong username or password')
    },
    'POST /api/auth/refresh': (req) => {
      if (bearer(req) !== 'refresh-1') return jsonError(401, 'unauthorized', 'the token is not valid')
      refreshes++
      access = `access-${refreshes + 1}`
      return { body: { access_token: access, token_type: 'Bearer', expires_in: 900 } }
    },
    'GET /api/auth/me': (req) => (bearer(req) === access ? { body: ADMIN } : jsonError(401, 'unauthorized', 'the token has expired; refresh or sign in again')),
    'GET /api/rooms': (req) => (bearer(req) === access ? { body: page([]) } : jsonError(401, 'unauthorized', 'the token has expired; refresh or sign in again')),
    'POST /api/auth/logout': () => ({ status: 204 }),
  })
  return {
    ...fake,
    expireAccess: () => { access = `rotated-${Math.random()}` },
    get refreshes() { return refreshes },
  }
}

describe('auth store', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('signs in: keeps both tokens (also in localStorage) and learns the user and role', async () => {
    const fake = server()
    const auth = useAuthStore()
    const user = await auth.login('anna', 'secret')
    expect(user.username).toBe('anna')
    expect(auth.signedIn).toBe(true)
    expect(auth.isAdmin).toBe(true)
    expect(auth.canOperate).toBe(true)
    expect(localStorage.getItem('livehost.access')).toBe('access-1')
    expect(localStorage.getItem('livehost.refresh')).toBe('refresh-1')
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/auth/login', 'GET /api/auth/me'])
    expect(fake.calls[0].headers.authorization).toBeUndefined()
  })

  it('a wrong password is an ApiError 401 and signs nobody in', async () => {
    server()
    const auth = useAuthStore()
    await expect(auth.login('anna', 'nope')).rejects.toMatchObject({ status: 401, message: 'wrong username or password' })
    expect(auth.signedIn).toBe(false)
  })

  it('too many sign-ins: the 429 message comes through', async () => {
    server()
    const auth = useAuthStore()
    const err = await failure(auth.login('flood', 'x'))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(429)
    expect(err.message).toContain('too many failed sign-ins')
  })

  it('on 401 refreshes the access token once and retries the request', async () => {
    const fake = server()
    const auth = useAuthStore()
    await auth.login('anna', 'secret')
    fake.expireAccess()
    const out = await http.get('/rooms')
    expect(out).toEqual(page([]))
    const trail = fake.calls.slice(2).map((c) => `${c.method} ${c.path} ${bearer(c)}`)
    expect(trail[0]).toMatch(/^GET \/api\/rooms access-1$/)
    expect(trail[1]).toBe('POST /api/auth/refresh refresh-1')
    expect(trail[2]).toMatch(/^GET \/api\/rooms access-2$/)
    expect(auth.accessToken).toBe('access-2')
    expect(localStorage.getItem('livehost.access')).toBe('access-2')
  })

  it('requests failing together share one refresh', async () => {
    const fake = server()
    const auth = useAuthStore()
    await auth.login('anna', 'secret')
    fake.expireAccess()
    await Promise.all([http.get('/rooms'), http.get('/rooms'), http.get('/rooms')])
    expect(fake.refreshes).toBe(1)
  })

  it('when the refresh fails too: forgets the sign-in, says why and tells the listeners', async () => {
    const fake = server()
    const auth = useAuthStore()
    await auth.login('anna', 'secret')
    auth.refreshToken = 'revoked'
    fake.expireAccess()
    const expired = vi.fn()
    auth.onExpired(expired)
    const err = await failure(http.get('/rooms'))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('session_expired')
    expect(expired).toHaveBeenCalledOnce()
    expect(auth.signedIn).toBe(false)
    expect(auth.signedOutReason).toBe('expired')
    expect(localStorage.getItem('livehost.access')).toBeNull()
  })

  it('logs out: revokes both tokens on the server and forgets them', async () => {
    const fake = server()
    const auth = useAuthStore()
    await auth.login('anna', 'secret')
    await auth.logout()
    const call = fake.calls.at(-1)!
    expect(`${call.method} ${call.path}`).toBe('POST /api/auth/logout')
    expect(bearer(call)).toBe('access-1')
    expect(call.body).toEqual({ refresh_token: 'refresh-1' })
    expect(auth.signedIn).toBe(false)
    expect(auth.user).toBeNull()
    expect(localStorage.getItem('livehost.refresh')).toBeNull()
  })

  it('restores a stored sign-in after a reload', async () => {
    server()
    localStorage.setItem('livehost.access', 'access-1')
    localStorage.setItem('livehost.refresh', 'refresh-1')
    const auth = useAuthStore()
    expect(await auth.restore()).toBe(true)
    expect(auth.user?.role).toBe('admin')
  })

  it('an unreachable server is a network ApiError (status 0), not a crash', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch') }))
    const auth = useAuthStore()
    await expect(auth.login('anna', 'secret')).rejects.toMatchObject({ status: 0, code: 'network' })
  })
})
