/**
 * Products as the pickers need them: found by name one page at a time (a shop may hold thousands),
 * and the products already named somewhere (a script's product segments, a room's shelf) fetched
 * once each and kept, so their names show without loading the whole collection.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { productsApi } from '@/api/endpoints'
import { ApiError } from '@/api/http'
import type { Product } from '@/api/types'

/** ids fetched at once when names are missing */
const BATCH = 8

export const useProductCatalog = defineStore('productCatalog', () => {
  /** every product seen, by id */
  const known = ref(new Map<number, Product>())
  /** ids the API says do not exist (deleted) */
  const gone = ref(new Set<number>())

  function remember(items: readonly Product[]): void {
    const next = new Map(known.value)
    for (const p of items) next.set(p.id, p)
    known.value = next
  }

  function forget(id: number): void {
    const next = new Map(known.value)
    next.delete(id)
    known.value = next
  }

  /** The products whose name holds `q` (the first `perPage`), remembered for their names. */
  async function search(q = '', perPage = 30): Promise<Product[]> {
    const page = await productsApi.search({ q: q.trim() || undefined, per_page: perPage })
    remember(page.items)
    return page.items
  }

  /** Fetch the products of `ids` not known yet (a missing one is marked gone); failures are quiet. */
  async function ensure(ids: readonly (number | null | undefined)[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id): id is number =>
      typeof id === 'number' && id > 0 && !known.value.has(id) && !gone.value.has(id))
    for (let i = 0; i < missing.length; i += BATCH) {
      const got = await Promise.all(missing.slice(i, i + BATCH).map(async (id) => {
        try {
          return await productsApi.get(id)
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) gone.value = new Set([...gone.value, id])
          return null
        }
      }))
      remember(got.filter((p): p is Product => p !== null))
    }
  }

  /** A product's name, "#12" while unknown. */
  function name(id: number | null | undefined): string {
    if (id == null) return ''
    return known.value.get(id)?.name ?? `#${id}`
  }

  return { known, gone, remember, forget, search, ensure, name }
})
