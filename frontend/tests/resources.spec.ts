import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRoomsStore } from '@/stores/resources'
import { useAuthStore } from '@/stores/auth'
import { ApiError } from '@/api/http'
import { fieldErrors } from '@/lib/feedback'
import type { Room } from '@/api/types'
import { failure, installFakeFetch, jsonError } from './fakeFetch'

function room(id: number, name = `room ${id}`): Room {
  return {
    id, name, platform: 'bilibili', server_url: 'rtmp://live-push.bilivideo.com/live-bvc/',
    stream_key: '****abcd', settings: {}, destinations: [], created_at: '2030-01-01T00:00:00Z',
  }
}

describe('rooms store (a resource store)', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.setItem('livehost.access', 'tok')
  })

  function serverWith(rooms: Room[]) {
    let nextId = rooms.length + 1
    return installFakeFetch({
      'GET /api/rooms': (req) => {
        const p = Number(req.query.get('page'))
        const per = Number(req.query.get('per_page'))
        return { body: { items: rooms.slice((p - 1) * per, p * per), page: p, per_page: per, total: rooms.length } }
      },
      'POST /api/rooms': (req) => {
        const body = req.body as Partial<Room>
        if (!String(body.server_url).startsWith('rtmp')) {
          return jsonError(422, 'invalid', 'server_url: server_url must start with rtmp:// or rtmps://', {
            server_url: 'server_url must start with rtmp:// or rtmps://',
          })
        }
        const created = { ...room(nextId++), name: body.name as string }
        rooms.push(created)
        return { status: 201, body: created }
      },
      'PATCH /api/rooms/1': (req) => ({ body: { ...rooms[0], ...(req.body as object) } }),
      'DELETE /api/rooms/2': () => ({ status: 204 }),
      'DELETE /api/rooms/1': () => jsonError(409, 'conflict', 'room 1 has a live session'),
    })
  }

  it('loads the whole collection, page after page, with the sign-in', async () => {
    useAuthStore()
    const fake = serverWith(Array.from({ length: 150 }, (_, i) => room(i + 1)))
    const rooms = useRoomsStore()
    const items = await rooms.load()
    expect(items).toHaveLength(150)
    expect(fake.calls.map((c) => c.query.get('page'))).toEqual(['1', '2'])
    expect(fake.calls[0].headers.authorization).toBe('Bearer tok')
    expect(rooms.loaded).toBe(true)
    expect(rooms.name(3)).toBe('room 3')
    expect(rooms.name(999)).toBe('#999')
    await rooms.load()
    expect(fake.calls).toHaveLength(2) // loaded once; load(true) would reload
  })

  it('create, update and remove keep the list in step with the server', async () => {
    useAuthStore()
    serverWith([room(1), room(2)])
    const rooms = useRoomsStore()
    await rooms.load()
    const created = await rooms.create({ name: 'new', platform: 'douyin', server_url: 'rtmp://x/y' })
    expect(rooms.items.map((r) => r.id)).toEqual([1, 2, created.id])
    await rooms.update(1, { name: 'renamed' })
    expect(rooms.byId.get(1)?.name).toBe('renamed')
    await rooms.remove(2)
    expect(rooms.items.map((r) => r.id)).toEqual([1, created.id])
  })

  it('validation errors come back with their fields; a conflict keeps the item', async () => {
    useAuthStore()
    serverWith([room(1)])
    const rooms = useRoomsStore()
    await rooms.load()
    const err = await failure(rooms.create({ name: 'bad', platform: 'custom', server_url: 'http://nope' }))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(fieldErrors(err)).toEqual({ server_url: 'server_url must start with rtmp:// or rtmps://' })
    const conflict = await failure(rooms.remove(1))
    expect(conflict.status).toBe(409)
    expect(fieldErrors(conflict, 'name')).toEqual({ name: 'room 1 has a live session' })
    expect(rooms.items).toHaveLength(1)
  })
})
