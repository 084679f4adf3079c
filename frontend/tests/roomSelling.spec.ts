import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage, settle } from './mountPage'
import RoomForm from '@/components/RoomForm.vue'
import type { Room } from '@/api/types'

const ROOM: Room = {
  id: 3, name: 'Tea', platform: 'custom', server_url: 'rtmp://ingest.example.com/live', stream_key: '',
  settings: { persona: 'Mia', knowledge: '48 小时内发货', banned_words: { add: ['秒杀'], allow: ['最'] }, products: [7], reword_loops: false },
  created_at: '2030-01-01T00:00:00Z',
} as Room
const TEA = { id: 7, name: '明前龙井', price: 99, currency: 'CNY', selling_points: [], faq: [], link: '3号链接', stock: '',
  image_url: null, archived: false, created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' }

describe('the room form\'s selling settings', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('shows the saved knowledge, banned words, shelf and re-wording, notes the built-in list, and sends them back', async () => {
    installFakeFetch({ 'GET /api/products/7': () => ({ body: TEA }) })
    const w = mount(RoomForm, { props: { room: ROOM }, attachTo: document.body })
    await flushPromises()
    expect((w.get('textarea[data-test="room-knowledge"]').element as HTMLTextAreaElement).value).toBe('48 小时内发货')
    const tags = (name: string) => w.get(`[data-test="${name}"]`).element.closest('.el-form-item')?.textContent ?? ''
    expect(tags('room-banned-add')).toContain('秒杀')
    expect(tags('room-banned-allow')).toContain('最')
    expect(w.get('[data-test="room-banned-note"]').text()).toContain('内置的违禁词表始终生效')
    expect(w.get('[data-test="selling-settings"]').text()).toContain('明前龙井')
    await w.get('textarea[data-test="room-knowledge"]').setValue('  全场包邮  ')
    const vm = w.vm as unknown as { payload: () => { settings: Record<string, unknown> } }
    expect(vm.payload().settings).toMatchObject({
      knowledge: '全场包邮', banned_words: { add: ['秒杀'], allow: ['最'] }, products: [7], reword_loops: false, persona: 'Mia',
    })
  })

  it('a new room re-words its loops by default and has no banned words of its own', () => {
    const w = mount(RoomForm, { props: { room: null } })
    const vm = w.vm as unknown as { payload: () => unknown }
    w.get('input[data-test="room-name"]').setValue('New')
    expect((vm.payload() as { settings: Record<string, unknown> }).settings).toMatchObject({
      knowledge: '', banned_words: { add: [], allow: [] }, products: [], reword_loops: true,
    })
  })

  it('a save refused for a banned word in the persona says so under the persona and above the form', async () => {
    installFakeFetch({
      'GET /api/rooms': () => ({ body: page([ROOM]) }),
      'GET /api/sessions': () => ({ body: page([]) }),
      'GET /api/products/7': () => ({ body: TEA }),
      'PATCH /api/rooms/3': () => ({ status: 422, body: { error: { code: 'banned_words', reason: 'banned_words', message: 'banned words …',
        params: { words: ['国家级'] }, fields: { 'settings.persona': 'banned words: 国家级' },
        field_reasons: { 'settings.persona': { reason: 'banned_words', params: { words: ['国家级'] } } } } } }),
    })
    const { wrapper } = await mountPage('/rooms', 'operator')
    await wrapper.get('[data-test="room-edit-3"]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-test="room-save"]') as HTMLElement).click()
    await flushPromises()
    await settle()
    expect(document.querySelector('[data-test="banned-summary-text"]')?.textContent).toBe('人设：国家级。请改掉这些词后再保存。')
    const persona = document.querySelector('[data-test="room-persona"]')?.closest('.el-form-item')
    expect(persona?.querySelector('.el-form-item__error')?.textContent?.trim()).toBe('含违禁词：国家级')
    expect(document.querySelector('.el-message')).toBeNull()
  })
})
