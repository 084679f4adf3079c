import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page, type FakeAnswer } from './fakeFetch'
import { mountPage, settle } from './mountPage'
import { setLocale } from '@/i18n'
import ProductSelect from '@/components/ProductSelect.vue'

// "Replace the segments?" is answered yes
vi.mock('@/lib/feedback', async (original) => ({
  ...(await original<typeof import('@/lib/feedback')>()),
  confirmDanger: vi.fn(async () => true),
}))

const TEA = { id: 7, name: '明前龙井', price: 99, currency: 'CNY', selling_points: [], faq: [], link: '3号链接', stock: '',
  image_url: null, archived: false, created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' }
const SCRIPT = { id: 5, name: '春茶专场', loop: 1, segments: [], chars: 5, sentences: 1,
  created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' }

function server(draft: FakeAnswer, save: FakeAnswer[] = []) {
  return installFakeFetch({
    'GET /api/avatars': () => ({ body: page([]) }),
    'GET /api/voices': () => ({ body: page([]) }),
    'GET /api/scripts': () => ({ body: page([]) }),
    'GET /api/rooms': () => ({ body: page([]) }),
    'GET /api/products': () => ({ body: page([TEA], 1, 1, 30) }),
    'GET /api/products/7': () => ({ body: TEA }),
    'POST /api/scripts/draft': () => draft,
    'POST /api/scripts': () => save.shift() ?? { status: 201, body: SCRIPT },
  })
}

const click = async (name: string) => {
  ;(document.querySelector(`[data-test="${name}"]`) as HTMLElement).click()
  await flushPromises()
}

/** Open "Draft with AI", choose the tea and a warm style, and ask for the draft. */
async function askForDraft() {
  const { wrapper } = await mountPage('/scripts/new', 'operator')
  await click('script-draft')
  // the product picker as the operator leaves it (choosing in its dropdown is the e2e test's part)
  wrapper.findComponent(ProductSelect).vm.$emit('update:modelValue', [7])
  await flushPromises()
  await click('draft-style-warm')
  await click('draft-submit')
  await settle()
  return wrapper
}

describe('drafting a script with AI', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('fills the editor with the draft, marks what still holds banned words, and saves nothing by itself', async () => {
    const fake = server({ body: { title: '春茶专场', segments: [{ say: '{今天|现在}来看看明前龙井' }, { product: '7' }, { say: '全网最低价' }],
      banned: [{ segment: 2, words: ['最低价'] }] } })
    const wrapper = await askForDraft()
    const asked = fake.calls.find((c) => c.path === '/api/scripts/draft')
    expect(asked?.body).toEqual({ product_ids: [7], style: 'warm', language: 'zh', room_id: null })
    expect(fake.calls.filter((c) => c.method === 'POST' && c.path === '/api/scripts')).toHaveLength(0)
    expect(wrapper.findAll('[data-test^="segment-"][data-kind]').map((r) => r.attributes('data-kind'))).toEqual(['say', 'product', 'say'])
    expect((wrapper.get('input[data-test="script-name"]').element as HTMLInputElement).value).toBe('春茶专场')
    expect(wrapper.get('[data-test="segment-banned-2"]').text()).toContain('最低价')
    expect(wrapper.get('[data-test="draft-filled"]').text()).toContain('尚未保存')
    expect(wrapper.get('[data-test="segment-1"]').text()).toContain('明前龙井')
  })

  it('says in the user\'s language that no LLM is configured, or that the LLM failed', async () => {
    server({ status: 409, body: { error: { code: 'no_llm', reason: 'no_llm', message: 'no LLM is configured: set llm_base_url …' } } })
    await askForDraft()
    expect(document.querySelector('[data-test="draft-error"]')?.textContent).toContain('没有配置大模型，无法生成文案')
    expect(document.querySelector('[data-test="draft-error"]')?.textContent).not.toContain('no LLM')

    document.body.innerHTML = ''
    setLocale('en')
    server({ status: 502, body: { error: { code: 'llm_failed', reason: 'llm_failed', message: 'the LLM could not draft the script: timed out after 60 s',
      params: { error: 'timed out after 60 s' } } } })
    await askForDraft()
    const text = document.querySelector('[data-test="draft-error"]')?.textContent ?? ''
    expect(text).toContain('The LLM failed to draft the script')
    expect(text).toContain('timed out after 60 s')
  })

  it('a save refused for banned words names them at their segment and above the form', async () => {
    server({ status: 200, body: { title: '', segments: [], banned: [] } }, [{
      status: 422, body: { error: { code: 'banned_words', reason: 'banned_words', message: 'banned words …',
        params: { words: ['第一'] }, fields: { 'segments.0.say': 'banned words: 第一' },
        field_reasons: { 'segments.0.say': { reason: 'banned_words', params: { words: ['第一'] } } } } },
    }])
    const { wrapper } = await mountPage('/scripts/new', 'operator')
    await wrapper.get('input[data-test="script-name"]').setValue('Morning')
    await wrapper.get('textarea[data-test="segment-text-0"]').setValue('第一品牌')
    await wrapper.get('[data-test="script-save"]').trigger('click')
    await flushPromises()
    await settle()
    expect(wrapper.get('[data-test="segment-0"]').text()).toContain('含违禁词：第一')
    expect(wrapper.get('[data-test="banned-summary-text"]').text()).toBe('第 1 段：第一。请改掉这些词后再保存。')
    expect(document.querySelector('.el-message')).toBeNull()
  })

  it('refuses to save unbalanced braces, saying where', async () => {
    const fake = server({ body: {} })
    const { wrapper } = await mountPage('/scripts/new', 'operator')
    await wrapper.get('input[data-test="script-name"]').setValue('Morning')
    await wrapper.get('textarea[data-test="segment-text-0"]').setValue('欢迎{今天|现在来到直播间')
    await wrapper.get('[data-test="script-save"]').trigger('click')
    await settle()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(0)
    expect(wrapper.get('[data-test="segment-0"]').text()).toContain('第 3 个字符的“{”没有配对的“}”')
  })
})
