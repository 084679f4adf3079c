import { afterEach, beforeEach, vi } from 'vitest'
import { enableAutoUnmount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { setLocale } from '@/i18n'

// a test's components (their timers, streams and re-renders on a change of language) end with it
enableAutoUnmount(afterEach)

beforeEach(() => {
  localStorage.clear()
  setLocale('zh-CN')
  // components that use a store (the product pickers) work when mounted alone, too
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})
