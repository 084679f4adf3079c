import { afterEach, beforeEach, vi } from 'vitest'
import { setLocale } from '@/i18n'

beforeEach(() => {
  localStorage.clear()
  setLocale('zh-CN')
})

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})
