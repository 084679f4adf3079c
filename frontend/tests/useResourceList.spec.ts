import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { usersApi } from '@/api/endpoints'
import type { Room, RoomIn, User } from '@/api/types'
import { useRoomsStore } from '@/stores/resources'
import { usePagedList, useResourceList } from '@/lib/useResourceList'
import { installFakeFetch, jsonError, page } from './fakeFetch'

// "Delete ...?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

function room(id: number, name = `room ${id}`): Room {
  return {
    id, name, platform: 'custom', server_url: 'rtmp://ingest.example.com/live', stream_key: '',
    settings: {}, destinations: [], created_at: '2030-01-01T00:00:00Z',
  }
}

function user(id: number, role: User['role'] = 'viewer'): User {
  return { id, username: `user${id}`, role, disabled: false, created_at: '2030-01-01T00:00:00Z' }
}

/** Mounts a page-like component that runs `setup` (so onMounted fires) and returns what it returned. */
function onPage<R>(setup: () => R): R {
  let out: R | undefined
  mount(defineComponent({ setup: () => { out = setup(); return () => null } }), { attachTo: document.body })
  return out as R
}

describe('useResourceList (a list page on a resource store)', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.setItem('livehost.access', 'tok')
    document.body.innerHTML = ''
  })

  it('loads when the page opens; a refused save keeps the dialog with the field error (no toast), a good one closes it', async () => {
    const rooms = [room(1)]
    let taken = true
    const fake = installFakeFetch({
      'GET /api/rooms': () => ({ body: page(rooms) }),
      'POST /api/rooms': (req) => {
        if (taken) return jsonError(409, 'conflict', 'a room named Tea exists')
        const created = { ...room(2), name: (req.body as RoomIn).name }
        rooms.push(created)
        return { status: 201, body: created }
      },
    })
    const store = useRoomsStore()
    const form = { name: '' }
    const list = onPage(() => useResourceList<Room, RoomIn>(store, {
      fill: () => { form.name = '' },
      validate: (): Record<string, string> => (form.name ? {} : { name: 'a name is needed' }),
      body: () => ({ name: form.name, platform: 'custom', server_url: 'rtmp://ingest.example.com/live' }),
      conflictField: 'name',
      confirmDelete: (r) => `delete ${r.name}?`,
    }))
    await flushPromises()
    expect(store.items.map((r) => r.name)).toEqual(['room 1'])

    list.openCreate()
    expect(list.dialog.value).toBe(true)
    expect(list.editing.value).toBeNull()
    await list.save()
    expect(list.errors.value).toEqual({ name: 'a name is needed' })
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(0) // refused before sending

    form.name = 'Tea'
    await list.save()
    expect(list.errors.value).toEqual({ name: 'a room named Tea exists' })
    expect(list.dialog.value).toBe(true)
    expect(document.querySelector('.el-message')).toBeNull() // said once: at the field, not in a toast too

    taken = false
    await list.save()
    expect(list.dialog.value).toBe(false)
    expect(list.saving.value).toBe(false)
    expect(store.items.map((r) => r.name)).toEqual(['room 1', 'Tea'])
    expect(document.body.textContent).toContain('已保存')
  })

  it('edits the item it was opened with, and deletes after asking', async () => {
    const fake = installFakeFetch({
      'GET /api/rooms': () => ({ body: page([room(1), room(2)]) }),
      'PATCH /api/rooms/2': (req) => ({ body: { ...room(2), ...(req.body as object) } }),
      'DELETE /api/rooms/1': () => ({ status: 204 }),
    })
    const store = useRoomsStore()
    const filled: (Room | null)[] = []
    const list = onPage(() => useResourceList<Room, RoomIn>(store, {
      fill: (r) => { filled.push(r) },
      body: () => ({ name: 'renamed', platform: 'custom', server_url: 'rtmp://ingest.example.com/live' }),
      confirmDelete: (r) => `delete ${r.name}?`,
    }))
    await flushPromises()

    list.openEdit(store.items[1])
    expect(filled.map((r) => r?.id)).toEqual([2])
    await list.save()
    expect(fake.calls.at(-1)).toMatchObject({ method: 'PATCH', path: '/api/rooms/2', body: { name: 'renamed' } })
    expect(store.items.map((r) => r.name)).toEqual(['room 1', 'renamed'])

    await list.remove(store.items[0])
    expect(store.items.map((r) => r.id)).toEqual([2])
    expect(document.body.textContent).toContain('已删除')
  })
})

describe('usePagedList (a list page one page at a time)', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.setItem('livehost.access', 'tok')
  })

  it('shows the page asked for, changes a row in place, and reloads the page after a create or a delete', async () => {
    let users = [user(1, 'admin'), user(2), user(3)]
    const fake = installFakeFetch({
      'GET /api/users': (req) => {
        const p = Number(req.query.get('page'))
        const per = Number(req.query.get('per_page'))
        return { body: page(users.slice((p - 1) * per, p * per), users.length, p, per) }
      },
      'PATCH /api/users/2': (req) => ({ body: { ...user(2), ...(req.body as object) } }),
      'POST /api/users': () => {
        users = [...users, user(4)]
        return { status: 201, body: user(4) }
      },
      'DELETE /api/users/1': () => {
        users = users.slice(1)
        return { status: 204 }
      },
    })
    const list = usePagedList(usersApi, 2)
    await list.load()
    expect(list.items.map((u) => u.id)).toEqual([1, 2])
    expect(list.total).toBe(3)

    await list.update(2, { role: 'operator' })
    expect(list.items.map((u) => u.role)).toEqual(['admin', 'operator'])

    list.page = 2
    await list.load()
    expect(list.items.map((u) => u.id)).toEqual([3])
    await list.create({ username: 'user4', password: 'correct horse battery', role: 'viewer' })
    expect(list.items.map((u) => u.id)).toEqual([3, 4])
    await list.remove(1)
    expect(list.items.map((u) => u.id)).toEqual([4])
    expect(list.total).toBe(3)
    expect(fake.calls.filter((c) => c.method === 'GET').map((c) => c.query.get('page'))).toEqual(['1', '2', '2', '2'])
  })
})
