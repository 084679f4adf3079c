/**
 * Who is signed in: the tokens (kept in localStorage so a reload stays signed in), the user and
 * their role. Installs the HTTP layer's auth hooks: one shared refresh at a time, and "expired"
 * listeners (the router sends the user to the login page with a message).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api/endpoints'
import { ApiError, setAuthHooks } from '@/api/http'
import type { Role, User } from '@/api/types'

const ACCESS_KEY = 'livehost.access'
const REFRESH_KEY = 'livehost.refresh'

function load(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function save(key: string, value: string | null): void {
  try {
    if (value) localStorage.setItem(key, value)
    else localStorage.removeItem(key)
  } catch {
    /* private mode: tokens live in memory only */
  }
}

export const useAuthStore = defineStore('auth', () => {
  const accessToken = ref<string | null>(load(ACCESS_KEY))
  const refreshToken = ref<string | null>(load(REFRESH_KEY))
  const user = ref<User | null>(null)
  /** why the user was signed out, shown on the login page ('expired' or null) */
  const signedOutReason = ref<'expired' | null>(null)
  const expiredListeners: Array<() => void> = []
  let refreshing: Promise<boolean> | null = null

  const signedIn = computed(() => !!accessToken.value)
  const role = computed<Role | null>(() => user.value?.role ?? null)
  const isAdmin = computed(() => role.value === 'admin')
  const canOperate = computed(() => role.value === 'admin' || role.value === 'operator')

  function setTokens(access: string | null, refresh?: string | null): void {
    accessToken.value = access
    save(ACCESS_KEY, access)
    if (refresh !== undefined) {
      refreshToken.value = refresh
      save(REFRESH_KEY, refresh)
    }
  }

  function clear(): void {
    setTokens(null, null)
    user.value = null
  }

  async function login(username: string, password: string): Promise<User> {
    const tokens = await authApi.login(username, password)
    setTokens(tokens.access_token, tokens.refresh_token ?? null)
    signedOutReason.value = null
    return fetchMe()
  }

  async function fetchMe(): Promise<User> {
    user.value = await authApi.me()
    return user.value
  }

  /** A new access token from the refresh token; concurrent callers share one request. */
  function refresh(): Promise<boolean> {
    if (refreshing) return refreshing
    const token = refreshToken.value
    if (!token) return Promise.resolve(false)
    refreshing = authApi
      .refresh(token)
      .then((tokens) => {
        setTokens(tokens.access_token, tokens.refresh_token ?? undefined)
        return true
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null
      })
    return refreshing
  }

  function expire(): void {
    if (!accessToken.value && !refreshToken.value) return
    clear()
    signedOutReason.value = 'expired'
    for (const fn of expiredListeners) fn()
  }

  function onExpired(fn: () => void): void {
    expiredListeners.push(fn)
  }

  async function logout(): Promise<void> {
    const access = accessToken.value
    const refreshTok = refreshToken.value
    clear()
    signedOutReason.value = null
    if (!access) return
    try {
      await authApi.logout(access, refreshTok)
    } catch (e) {
      // an expired token is already useless; anything else is not worth keeping the user here
      if (!(e instanceof ApiError)) throw e
    }
  }

  /** On start: if tokens are stored, learn who we are (refreshing once if needed). */
  async function restore(): Promise<boolean> {
    if (!accessToken.value) return false
    if (user.value) return true
    try {
      await fetchMe()
      return true
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return false
      throw e
    }
  }

  setAuthHooks({ accessToken: () => accessToken.value, refresh, expired: expire })

  return {
    accessToken, refreshToken, user, signedOutReason, signedIn, role, isAdmin, canOperate,
    login, logout, refresh, fetchMe, restore, expire, onExpired, clear,
  }
})
