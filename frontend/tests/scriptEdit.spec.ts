import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage, settle } from './mountPage'

const SCRIPT = { id: 5, name: 'Morning', loop: 1, segments: [{ say: 'hello' }], chars: 5, sentences: 1,
  created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z' }

function server(answers: { status?: number; body: unknown }[]) {
  return installFakeFetch({
    'GET /api/avatars': () => ({ body: page([]) }),
    'GET /api/voices': () => ({ body: page([]) }),
    'GET /api/scripts': () => ({ body: page([]) }),
    'GET /api/scripts/5': () => ({ body: SCRIPT }),
    'POST /api/scripts': () => answers.shift() ?? { status: 201, body: SCRIPT },
  })
}

const tooLong = {
  status: 422,
  body: { error: { code: 'invalid', message: 'segments.0.say: String should have at most 2000 characters',
    fields: { 'segments.0.say': 'String should have at most 2000 characters' },
    field_reasons: { 'segments.0.say': { reason: 'string_too_long', params: { max_length: 2000 } } } } },
}

describe('the script editor\'s errors', { timeout: 30_000 }, () => {
  beforeEach(() => { document.body.innerHTML = '' })

  it('a field\'s error goes when the field changes', async () => {
    server([])
    const { wrapper: w } = await mountPage('/scripts/new')
    await w.get('[data-test="script-save"]').trigger('click')
    await settle()
    expect(w.text()).toContain('请输入名称')
    expect(w.text()).toContain('说话内容不能为空')
    await w.get('input[data-test="script-name"]').setValue('Morning')
    await settle()
    expect(w.text()).not.toContain('请输入名称')
    expect(w.text()).toContain('说话内容不能为空')
    await w.get('textarea[data-test="segment-text-0"]').setValue('hello')
    await settle()
    expect(w.text()).not.toContain('说话内容不能为空')
    expect(w.text()).not.toContain('脚本至少要有一段说话')
  })

  it('a server error at a segment goes when that segment changes, and the form\'s on a successful save', async () => {
    const fake = server([tooLong])
    const { wrapper: w, router } = await mountPage('/scripts/new')
    await w.get('input[data-test="script-name"]').setValue('Morning')
    await w.get('textarea[data-test="segment-text-0"]').setValue('x'.repeat(50))
    await w.get('[data-test="script-save"]').trigger('click')
    await flushPromises()
    await settle()
    expect(w.text()).toContain('最多 2000 个字符')
    expect(document.querySelector('.el-message')).toBeNull() // said once, at the segment
    await w.get('textarea[data-test="segment-text-0"]').setValue('hello')
    await settle()
    expect(w.text()).not.toContain('最多 2000 个字符')
    await w.get('[data-test="script-save"]').trigger('click')
    await flushPromises()
    await settle()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(2)
    expect(router.currentRoute.value.fullPath).toBe('/scripts/5')
    expect(w.find('.el-form-item__error').exists()).toBe(false)
  })
})
