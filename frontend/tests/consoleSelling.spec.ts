import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'

// ECharts cannot draw in happy-dom; the console's charts are not what these tests are about
vi.mock('@/components/LiveCharts.vue', () => ({ default: { name: 'LiveCharts', render: () => null } }))

/** An EventSource stand-in the test drives by hand. */
class FakeSource extends EventTarget {
  static made: FakeSource[] = []
  readyState = 0
  onopen: (() => void) | null = null
  private n = 0
  constructor(public url: string) {
    super()
    FakeSource.made.push(this)
  }
  emit(type: string, data: object) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify({ type, ...data }), lastEventId: `${++this.n}-0` }))
  }
  close() { this.readyState = 2 }
}

const now = () => Date.now() / 1000
const session = (live: Record<string, unknown> | null, status = 'live') => ({
  id: 9, schedule_id: null, room_id: 1, script_id: 1, avatar_id: 1, voice_id: 1, status, worker: 'w1',
  planned_end_at: null, started_at: '2030-01-01T00:00:00Z', ended_at: null, last_error: null, attempts: 1, position: {},
  created_by: 1, created_at: '2030-01-01T00:00:00Z', queue_position: null, live,
})
const product = (id: number, name: string) => ({ id, name, price: 99, currency: 'CNY', selling_points: [], faq: [], link: `${id}号链接`,
  stock: '现货', image_url: null, archived: false, created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' })

const STORED = { id: 1, at: new Date(Date.now() - 60_000).toISOString(), where: 'reply', words: ['最低价'], text: '我们是全网最低价', action: 'reasked' }

function server(detail: ReturnType<typeof session>) {
  return installFakeFetch({
    'GET /api/sessions/9': () => ({ body: detail }),
    'GET /api/sessions/9/compliance': () => ({ body: page([STORED], 1, 1, 100) }),
    'GET /api/sessions/9/audience': () => ({ body: page([]) }),
    'GET /api/sessions/9/comments': () => ({ body: page([]) }),
    'GET /api/avatars/1': () => ({ body: { id: 1, name: 'Mia', actions: [] } }),
    'GET /api/products/3': () => ({ body: product(3, '明前龙井') }),
    'GET /api/products/4': () => ({ body: product(4, '桂花乌龙') }),
    'GET /api/rooms': () => ({ body: page([]) }),
    'GET /api/scripts': () => ({ body: page([]) }),
    'GET /api/voices': () => ({ body: page([]) }),
  })
}

const settle = async () => {
  await flushPromises()
  await new Promise((r) => setTimeout(r, 150))
  await flushPromises()
}

describe('the live console of a selling host', { timeout: 30_000 }, () => {
  beforeEach(() => {
    document.body.innerHTML = ''
    FakeSource.made = []
    vi.stubGlobal('EventSource', FakeSource)
  })

  it('shows the current product with its link number and price, and follows the product events', async () => {
    server(session({ state: 'live', seconds: 10, fps: 25, updated_at: now() - 1, product: { id: 3, name: '明前龙井' } }))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.get('[data-test="current-product-name"]').text()).toBe('明前龙井')
    expect(wrapper.get('[data-test="current-product-facts"]').text()).toContain('3号链接')
    FakeSource.made[0].emit('product', { product: '4', name: '桂花乌龙', at: now() + 5 })
    await settle()
    expect(wrapper.get('[data-test="current-product-name"]').text()).toBe('桂花乌龙')
    expect(wrapper.get('[data-test="current-product-facts"]').text()).toContain('4号链接')
    expect(wrapper.findAll('[data-test="event-item"]').map((e) => e.text()).join('\n')).toContain('当前商品：桂花乌龙')
  })

  it('lists what the banned-word check stopped: stored checks and the ones heard live, newest first', async () => {
    server(session({ state: 'live', seconds: 10, fps: 25, updated_at: now() }))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(wrapper.find('[data-test="current-product"]').exists()).toBe(false)
    FakeSource.made[0].emit('compliance', { where: 'rewording', words: ['第一', '国家级'], action: 'original', text: '国家级第一好茶', at: now() })
    await settle()
    const items = wrapper.findAll('[data-test="compliance-item"]')
    expect(items).toHaveLength(2)
    expect(items[0].get('[data-test="compliance-where"]').text()).toBe('脚本改写')
    expect(items[0].get('[data-test="compliance-words"]').text()).toBe('第一、国家级')
    expect(items[0].get('[data-test="compliance-action"]').text()).toBe('改说原句')
    expect(items[0].get('[data-test="compliance-text"]').text()).toContain('国家级第一好茶')
    expect(items[1].get('[data-test="compliance-where"]').text()).toBe('回复')
    expect(items[1].get('[data-test="compliance-action"]').text()).toBe('已重新生成')
  })

  it('shows a past live\'s stored checks', async () => {
    server(session(null, 'ended'))
    const { wrapper } = await mountPage('/sessions/9', 'viewer')
    await settle()
    expect(FakeSource.made).toHaveLength(0)
    expect(wrapper.get('[data-test="compliance-item"]').text()).toContain('我们是全网最低价')
  })
})
