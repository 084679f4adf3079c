/**
 * Whether the window is phone-narrow (below 768 px, Element Plus's `sm`), following resizes and
 * rotation until the component unmounts. Pages lay themselves out in one column when it is.
 */
import { onBeforeUnmount, ref, type Ref } from 'vue'

export const NARROW_QUERY = '(max-width: 767.98px)'

export function useNarrow(): Ref<boolean> {
  const mq = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(NARROW_QUERY) : null
  const narrow = ref(mq?.matches ?? false)
  const update = (e: MediaQueryListEvent) => { narrow.value = e.matches }
  mq?.addEventListener?.('change', update)
  onBeforeUnmount(() => mq?.removeEventListener?.('change', update))
  return narrow
}
