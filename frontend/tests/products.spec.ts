import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage, settle } from './mountPage'
import SegmentEditor from '@/components/SegmentEditor.vue'
import type { Segment } from '@/api/types'

const TEA = {
  id: 7, name: '明前龙井', price: 99, currency: 'CNY', selling_points: ['明前头采'], faq: [{ q: '包邮吗', a: '包邮' }],
  link: '3号链接', stock: '现货', image_url: null, archived: false, created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z',
}

const BANNED = {
  status: 422,
  body: { error: { code: 'banned_words', reason: 'banned_words', message: 'banned words: faq.0.a: 最低价',
    params: { words: ['最低价'] }, fields: { 'faq.0.a': 'banned words: 最低价' },
    field_reasons: { 'faq.0.a': { reason: 'banned_words', params: { words: ['最低价'] } } } } },
}

function shop(answers: { status?: number; body?: unknown }[] = []) {
  return installFakeFetch({
    'GET /api/products': () => ({ body: page([TEA], 1, 1, 20) }),
    'GET /api/products/7': () => ({ body: TEA }),
    'POST /api/products': (req) => answers.shift() ?? { status: 201, body: { ...TEA, id: 8, ...(req.body as object) } },
  })
}

const input = (name: string) => document.querySelector(`[data-test="${name}"] input, [data-test="${name}"] textarea, input[data-test="${name}"], textarea[data-test="${name}"]`) as HTMLInputElement

async function type(name: string, value: string) {
  const el = input(name)
  el.value = value
  el.dispatchEvent(new Event('input'))
  await flushPromises()
}

describe('the products page', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('lists products with their price and link, and finds them by name', async () => {
    const fake = shop()
    const { wrapper } = await mountPage('/products')
    const table = wrapper.get('[data-test="products-table"]').text()
    expect(table).toContain('明前龙井')
    expect(table).toContain('3号链接')
    expect(table).toContain('99.00')
    await wrapper.get('input[data-test="product-search"]').setValue('龙井')
    await new Promise((r) => setTimeout(r, 400))
    await flushPromises()
    expect(fake.calls.filter((c) => c.path === '/api/products').map((c) => c.query.get('q'))).toEqual([null, '龙井'])
  })

  it('an operator creates a product with a FAQ; a banned word is named under its answer and above the form', async () => {
    const fake = shop([BANNED])
    const { wrapper } = await mountPage('/products', 'operator')
    await wrapper.get('[data-test="product-create"]').trigger('click')
    await flushPromises()
    await type('product-name', '春茶礼盒')
    await type('product-link', '5号链接')
    ;(document.querySelector('[data-test="product-faq-add"]') as HTMLElement).click()
    await flushPromises()
    await type('product-faq-q-0', '多少钱')
    await type('product-faq-a-0', '全网最低价')
    ;(document.querySelector('[data-test="product-save"]') as HTMLElement).click()
    await flushPromises()
    await settle()
    const posted = fake.calls.filter((c) => c.method === 'POST')
    expect(posted[0].body).toMatchObject({ name: '春茶礼盒', link: '5号链接', faq: [{ q: '多少钱', a: '全网最低价' }], currency: 'CNY' })
    expect(document.querySelector('[data-test="product-faq-error-0"]')?.textContent).toBe('含违禁词：最低价')
    expect(document.querySelector('[data-test="banned-summary-text"]')?.textContent).toBe('问答 1 的答案：最低价。请改掉这些词后再保存。')
    expect(document.querySelector('.el-message')).toBeNull() // said at the field and above the form, no toast

    await type('product-faq-a-0', '今天下单立减十元')
    ;(document.querySelector('[data-test="product-save"]') as HTMLElement).click()
    await flushPromises()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(2)
    expect(document.body.textContent).toContain('已保存')
  })

  it('asks for the answer of a question before sending', async () => {
    const fake = shop()
    const { wrapper } = await mountPage('/products', 'operator')
    await wrapper.get('[data-test="product-create"]').trigger('click')
    await flushPromises()
    await type('product-name', '春茶')
    ;(document.querySelector('[data-test="product-faq-add"]') as HTMLElement).click()
    await flushPromises()
    await type('product-faq-q-0', '包邮吗')
    ;(document.querySelector('[data-test="product-save"]') as HTMLElement).click()
    await flushPromises()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(0)
    expect(document.querySelector('[data-test="product-faq-error-0"]')?.textContent).toBe('请填写答案')
  })

  it('a viewer sees a product read-only', async () => {
    shop()
    const { wrapper } = await mountPage('/products', 'viewer')
    expect(wrapper.find('[data-test="product-create"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="product-delete-7"]').exists()).toBe(false)
    await wrapper.get('[data-test="product-edit-7"]').trigger('click')
    await flushPromises()
    expect(input('product-name').value).toBe('明前龙井')
    expect(input('product-name').disabled).toBe(true)
    expect(document.querySelector('[data-test="product-save"]')).toBeNull()
    expect(document.querySelector('[data-test="product-faq-add"]')).toBeNull()
  })
})

describe('product segments and alternatives in the segment editor', () => {
  it('shows the product of a product segment by its name', async () => {
    shop()
    const w = mount(SegmentEditor, { props: { modelValue: [{ product: 7 }, { say: '介绍一下' }] as Segment[] }, attachTo: document.body })
    await flushPromises()
    expect(w.get('[data-test="segment-0"]').attributes('data-kind')).toBe('product')
    expect(w.get('[data-test="segment-0"]').text()).toContain('明前龙井')
  })

  it('adds a product segment, empty until a product is chosen', async () => {
    installFakeFetch({})
    const w = mount(SegmentEditor, {
      props: { modelValue: [] as Segment[], 'onUpdate:modelValue': (v: Segment[]) => w.setProps({ modelValue: v }) },
    })
    await w.get('[data-test="segment-add-product"]').trigger('click')
    expect(w.props('modelValue')).toEqual([{ product: 0 }])
  })

  it('highlights the choices of a say text, and says where a brace does not pair up', async () => {
    const w = mount(SegmentEditor, {
      props: { modelValue: [{ say: '{今天|现在}下单' }] as Segment[], 'onUpdate:modelValue': (v: Segment[]) => w.setProps({ modelValue: v }) },
    })
    expect(w.get('[data-test="segment-alts-0"] .alt-choice').text()).toBe('{今天|现在}')
    expect(w.get('[data-test="segment-alts-0"]').text()).toContain('共 2 种说法')
    await w.get('textarea[data-test="segment-text-0"]').setValue('{今天|现在下单')
    expect(w.get('[data-test="segment-alt-problem-0"]').text()).toBe('第 1 个字符的“{”没有配对的“}”')
    expect(w.find('[data-test="segment-alts-0"] .alt-bad').exists()).toBe(true)
  })

  it('marks a say text a draft left with banned words until they are gone', async () => {
    const w = mount(SegmentEditor, {
      props: {
        modelValue: [{ say: '全网最低价' }, { say: '好茶' }] as Segment[], banned: { 0: ['最低价'] },
        'onUpdate:modelValue': (v: Segment[]) => w.setProps({ modelValue: v }),
      },
    })
    expect(w.get('[data-test="segment-banned-0"]').text()).toContain('最低价')
    expect(w.get('[data-test="segment-0"]').classes()).toContain('flagged')
    await w.get('[data-test="segment-down-0"]').trigger('click') // the mark moves with its row
    expect(w.find('[data-test="segment-banned-0"]').exists()).toBe(false)
    expect(w.get('[data-test="segment-banned-1"]').text()).toContain('最低价')
    await w.get('textarea[data-test="segment-text-1"]').setValue('今天特价')
    expect(w.find('[data-test="segment-banned-1"]').exists()).toBe(false)
  })
})
