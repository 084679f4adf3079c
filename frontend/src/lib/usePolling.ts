/**
 * Call `fn` now and then every `intervalMs` after each call ends (so slow answers never pile
 * up), until the component unmounts. Errors go to `onError`; by default the first of a run of
 * failures is shown, so a passing outage does not flood the screen.
 */
import { onBeforeUnmount, onMounted, ref } from 'vue'
import { showError } from './feedback'

export function usePolling(fn: () => Promise<unknown>, intervalMs: number, onError?: (e: unknown) => void) {
  const failing = ref(false)
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = true
  let running = false
  let again = false

  async function tick(): Promise<void> {
    if (running) {
      again = true
      return
    }
    running = true
    timer = null
    try {
      await fn()
      failing.value = false
    } catch (e) {
      if (onError) onError(e)
      else if (!failing.value) showError(e)
      failing.value = true
    } finally {
      running = false
    }
    if (stopped) return
    if (again) {
      again = false
      return tick()
    }
    timer = setTimeout(tick, intervalMs)
  }

  function stop(): void {
    stopped = true
    if (timer) clearTimeout(timer)
    timer = null
  }

  /** poll now (e.g. after a change), then keep the rhythm */
  function now(): Promise<void> {
    if (stopped) return Promise.resolve()
    if (timer) clearTimeout(timer)
    timer = null
    return tick()
  }

  onMounted(() => {
    stopped = false
    void tick()
  })
  onBeforeUnmount(stop)
  return { failing, stop, now }
}
