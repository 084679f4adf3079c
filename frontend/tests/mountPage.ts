/**
 * A page as the app shows it: the app's routes (in memory), a fresh Pinia, and a signed-in user
 * of `role` (its token in localStorage, as after a sign-in). The fake server is installed first.
 */
import { h } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { RouterView, createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { useAuthStore } from '@/stores/auth'
import type { Role } from '@/api/types'

export async function mountPage(path: string, role: Role = 'admin') {
  localStorage.setItem('livehost.access', 'tok')
  const pinia = createPinia()
  setActivePinia(pinia)
  useAuthStore().user = { id: 1, username: 'anna', role, disabled: false, created_at: '2030-01-01T00:00:00Z' }
  const router = createRouter({ history: createMemoryHistory(), routes })
  await router.push(path)
  await router.isReady()
  const wrapper = mount({ render: () => h(RouterView) }, { global: { plugins: [pinia, router] }, attachTo: document.body })
  await flushPromises()
  return { wrapper, router }
}

/** Element Plus shows a form item's error after a short debounce. */
export const settle = () => new Promise((r) => setTimeout(r, 250))
