import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { installFakeFetch, page, type FakeRequest } from './fakeFetch'
import { mountPage, settle } from './mountPage'
import { createAppRouter } from '@/router'
import { useAuthStore } from '@/stores/auth'
import { setLocale } from '@/i18n'

const WECOM = {
  id: 1, name: 'Ops group', format: 'wecom', host: 'qyapi.weixin.qq.com', secret_set: false,
  events: ['failed', 'disconnected'], enabled: true, created_at: '2030-01-01T00:00:00Z',
}
const DINGTALK = {
  id: 2, name: 'Night shift', format: 'dingtalk', host: 'oapi.dingtalk.com', secret_set: true,
  events: ['started', 'failed', 'disconnected', 'ended'], enabled: false, created_at: '2030-01-02T00:00:00Z',
}

function server(hooks: Record<string, unknown>[], testAnswer: { ok: boolean; error: string | null } = { ok: true, error: null }) {
  return installFakeFetch({
    'GET /api/webhooks': () => ({ body: page(hooks) }),
    'POST /api/webhooks': (req: FakeRequest) => {
      const made = { id: 3, host: 'hooks.slack.com', secret_set: false, created_at: '2030-01-03T00:00:00Z', ...(req.body as object) }
      delete (made as Record<string, unknown>).url
      hooks.push(made)
      return { status: 201, body: made }
    },
    'POST /api/webhooks/1/test': () => ({ body: testAnswer }),
    'POST /api/webhooks/2/test': () => ({ body: testAnswer }),
  })
}

const text = (w: VueWrapper, test: string) => w.get(`[data-test="${test}"]`).text()

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('the alerts page (admins)', { timeout: 60_000 }, () => {
  it('lists each webhook: name, receiver, where it sends, its events, whether it is on', async () => {
    server([WECOM, DINGTALK])
    const { wrapper } = await mountPage('/alerts')
    expect(text(wrapper, 'webhook-name-1')).toBe('Ops group')
    expect(text(wrapper, 'webhook-format-1')).toBe('企业微信')
    expect(text(wrapper, 'webhook-host-1')).toBe('qyapi.weixin.qq.com')
    expect(text(wrapper, 'webhook-events-1')).toBe('失败推流目标断开')
    expect(text(wrapper, 'webhook-enabled-1')).toBe('开')
    expect(text(wrapper, 'webhook-format-2')).toBe('钉钉')
    expect(text(wrapper, 'webhook-enabled-2')).toBe('关')
  })

  it('creates one: sends its name, receiver, URL and events, then lists it', async () => {
    setLocale('en')
    const { calls } = server([])
    const { wrapper } = await mountPage('/alerts')
    await wrapper.get('[data-test="webhook-create"]').trigger('click')
    await flushPromises()
    expect(text(wrapper, 'webhook-format-help')).toMatch(/own JSON/)
    await wrapper.get('input[data-test="webhook-form-name"]').setValue('Slack #live')
    const format = wrapper.findAllComponents({ name: 'ElSelect' }).find((c) => c.attributes('data-test') === 'webhook-form-format')!
    format.vm.$emit('update:modelValue', 'slack')
    await flushPromises()
    expect(text(wrapper, 'webhook-format-help')).toBe('A Slack incoming webhook (https://hooks.slack.com/…).')
    expect(wrapper.find('[data-test="webhook-form-secret"]').exists()).toBe(false) // Slack does not sign
    await wrapper.get('input[data-test="webhook-form-url"]').setValue('https://hooks.slack.com/services/T0/B0/xyz')
    await wrapper.get('[data-test="webhook-form-event-started"] input').setValue(false)
    await wrapper.get('[data-test="webhook-save"]').trigger('click')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST' && c.path === '/api/webhooks')
    expect(post?.body).toEqual({
      name: 'Slack #live', format: 'slack', url: 'https://hooks.slack.com/services/T0/B0/xyz',
      events: ['failed', 'disconnected', 'ended'], enabled: true,
    })
    expect(text(wrapper, 'webhook-name-3')).toBe('Slack #live')
    expect(text(wrapper, 'webhook-host-3')).toBe('hooks.slack.com')
  })

  it('asks for a signing secret only for DingTalk and Feishu, and never shows a saved URL', async () => {
    setLocale('en')
    server([WECOM, DINGTALK])
    const { wrapper } = await mountPage('/alerts')
    await wrapper.get('[data-test="webhook-edit-2"]').trigger('click')
    await flushPromises()
    const url = wrapper.get('input[data-test="webhook-form-url"]')
    expect((url.element as HTMLInputElement).value).toBe('')
    expect(url.attributes('placeholder')).toBe('Saved (oapi.dingtalk.com); leave empty to keep it')
    expect(text(wrapper, 'webhook-form-secret-state')).toBe('set')
  })

  it('sends a test alert and says it was delivered', async () => {
    server([WECOM])
    const { wrapper } = await mountPage('/alerts')
    await wrapper.get('[data-test="webhook-test-1"]').trigger('click')
    await flushPromises()
    const result = wrapper.get('[data-test="webhook-test-result-1"]')
    expect(result.attributes('data-ok')).toBe('true')
    expect(result.text()).toBe('已送达：接收方收下了测试告警')
  })

  it('says why a test alert was not taken, in the user\'s language', async () => {
    setLocale('en')
    const { calls } = server([WECOM], { ok: false, error: 'error 93000: invalid webhook url' })
    const { wrapper } = await mountPage('/alerts')
    await wrapper.get('[data-test="webhook-test-1"]').trigger('click')
    await flushPromises()
    const result = wrapper.get('[data-test="webhook-test-result-1"]')
    expect(result.attributes('data-ok')).toBe('false')
    expect(result.text()).toBe('Not delivered: the receiver refused it (error 93000: invalid webhook url)')
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/webhooks/1/test'])
  })
})

describe('the alerts page (others)', { timeout: 60_000 }, () => {
  it('is in the menu of admins only', async () => {
    server([])
    const admin = await mountPage('/alerts', 'admin')
    expect(admin.wrapper.find('[data-test="nav-alerts"]').exists()).toBe(true)
    admin.wrapper.unmount()
    const operator = await mountPage('/alerts', 'operator')
    expect(operator.wrapper.find('[data-test="nav-users"]').exists()).toBe(false)
    expect(operator.wrapper.find('[data-test="nav-alerts"]').exists()).toBe(false)
    await settle()
  })

  it('sends an operator who opens it to the overview, and asks the API nothing', async () => {
    const { calls } = server([])
    localStorage.setItem('livehost.access', 'tok')
    setActivePinia(createPinia())
    useAuthStore().user = { id: 2, username: 'olga', role: 'operator', disabled: false, created_at: '2030-01-01T00:00:00Z' }
    const router = createAppRouter()
    await router.push('/alerts')
    expect(router.currentRoute.value.name).toBe('overview')
    expect(router.currentRoute.value.query.denied).toBe('alerts')
    expect(calls.some((c) => c.path === '/api/webhooks')).toBe(false)
  })
})
