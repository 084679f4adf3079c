/**
 * One store per API collection (rooms, avatars, voices, scripts, schedules, media): the whole list,
 * loaded page by page, and create/update/remove that keep the list in step with the server.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, type Ref } from 'vue'
import { avatarsApi, mediaApi, roomsApi, schedulesApi, scriptsApi, voicesApi } from '@/api/endpoints'
import type {
  Avatar, Media, Page, Room, RoomIn, RoomPatch, Schedule, ScheduleIn, SchedulePatch, Script, ScriptIn, ScriptPatch, Voice,
  VoiceIn, VoicePatch,
} from '@/api/types'

interface CollectionApi<T, In, Patch> {
  list: (args?: { page?: number; per_page?: number }) => Promise<Page<T>>
  create?: (body: In) => Promise<T>
  update?: (id: number, body: Patch) => Promise<T>
  remove: (id: number) => Promise<unknown>
}

const PER_PAGE = 100
const MAX_PAGES = 50

export function defineResourceStore<T extends { id: number }, In = never, Patch = Partial<In>>(
  id: string, api: CollectionApi<T, In, Patch>,
) {
  return defineStore(`resource:${id}`, () => {
    const items = ref([]) as Ref<T[]>
    const loading = ref(false)
    const loaded = ref(false)
    const error = shallowRef<unknown>(null)
    let pending: Promise<T[]> | null = null

    const byId = computed(() => new Map(items.value.map((x) => [x.id, x])))

    /** The whole collection; `force` reloads even when loaded already. */
    function load(force = false): Promise<T[]> {
      if (loaded.value && !force) return Promise.resolve(items.value)
      if (pending) return pending
      loading.value = true
      pending = (async () => {
        try {
          const all: T[] = []
          for (let page = 1; page <= MAX_PAGES; page++) {
            const res = await api.list({ page, per_page: PER_PAGE })
            all.push(...res.items)
            if (all.length >= res.total || res.items.length === 0) break
          }
          items.value = all
          loaded.value = true
          error.value = null
          return all
        } catch (e) {
          error.value = e
          throw e
        } finally {
          loading.value = false
          pending = null
        }
      })()
      return pending
    }

    function upsert(item: T): T {
      const i = items.value.findIndex((x) => x.id === item.id)
      if (i >= 0) items.value.splice(i, 1, item)
      else items.value.push(item)
      return item
    }

    async function create(body: In): Promise<T> {
      if (!api.create) throw new Error(`${id} cannot be created here`)
      return upsert(await api.create(body))
    }

    async function update(itemId: number, body: Patch): Promise<T> {
      if (!api.update) throw new Error(`${id} cannot be changed here`)
      return upsert(await api.update(itemId, body))
    }

    async function remove(itemId: number): Promise<void> {
      await api.remove(itemId)
      items.value = items.value.filter((x) => x.id !== itemId)
    }

    function name(itemId: number | null | undefined): string {
      if (itemId == null) return '—'
      const item = byId.value.get(itemId) as (T & { name?: string }) | undefined
      return item?.name ?? `#${itemId}`
    }

    return { items, loading, loaded, error, byId, load, upsert, create, update, remove, name }
  })
}

export const useRoomsStore = defineResourceStore<Room, RoomIn, RoomPatch>('rooms', roomsApi)
export const useVoicesStore = defineResourceStore<Voice, VoiceIn, VoicePatch>('voices', voicesApi)
export const useScriptsStore = defineResourceStore<Script, ScriptIn, ScriptPatch>('scripts', scriptsApi)
export const useSchedulesStore = defineResourceStore<Schedule, ScheduleIn, SchedulePatch>('schedules', schedulesApi)
export const useAvatarsStore = defineResourceStore<Avatar>('avatars', {
  list: avatarsApi.list,
  remove: avatarsApi.remove,
})

/** The media library (images, videos, sounds), for the scene's pickers and the media page. */
export const useMediaStore = defineResourceStore<Media>('media', {
  list: mediaApi.list,
  remove: mediaApi.remove,
})
