/**
 * The avatars page: a Live2D model is listed as one (a Live2D tag, drawn on the server, its
 * expressions and motions as its actions) beside a photo avatar, and the upload takes a model's zip.
 */
import { describe, expect, it, vi } from 'vitest'
import { installFakeFetch, page } from './fakeFetch'
import { mountPage } from './mountPage'
import { setLocale } from '@/i18n'

function avatar(id: number, over: Record<string, unknown> = {}) {
  return {
    id, slug: `a${id}`, name: `avatar ${id}`, kind: 'photo', status: 'ready', progress: 1, error: null,
    source: 'portrait.png', frames: 75, actions: [], created_at: '2030-01-01T00:00:00Z', ...over,
  }
}

const HARU = avatar(2, { name: 'Haru', kind: 'live2d', source: 'haru.zip', frames: 1, actions: ['f01', 'f02', 'tap_body'] })
const text = (name: string) => document.querySelector(`[data-test="${name}"]`)?.textContent?.trim()
// an avatar's card (the first one: the layout can hold the page twice here)
const card = (id: number) => document.querySelector(`[data-test="avatar-${id}"]`) as HTMLElement

describe('the avatars page', { timeout: 30_000 }, () => {  // the first mount imports Element Plus
  it.each([['en', 'Live2D, drawn on the server', 'chosen by the worker'], ['zh-CN', 'Live2D，服务器端渲染', '由工作节点决定']])(
    'shows a Live2D model as one, with its expressions and motions as actions (%s)', async (locale, live2d, photo) => {
      setLocale(locale as 'en' | 'zh-CN')
      installFakeFetch({
        'GET /api/avatars': () => ({ body: page([avatar(1), HARU]) }),
        'GET /api/avatars/1/thumbnail': () => ({ status: 404, body: { error: { code: 'not_found', message: 'none' } } }),
        'GET /api/avatars/2/thumbnail': () => ({ status: 404, body: { error: { code: 'not_found', message: 'none' } } }),
      })
      await mountPage('/avatars')
      expect(text('avatar-kind-2')).toBe('Live2D')
      expect(document.querySelector('[data-test="avatar-kind-1"]')).toBeNull()
      expect(text('avatar-engine-2')).toBe(live2d)
      expect(text('avatar-engine-1')).toBe(photo)
      expect([...card(2).querySelectorAll('[data-test="avatar-action-2"]')].map((e) => e.textContent?.trim()))
        .toEqual(['f01', 'f02', 'tap_body'])
      document.body.innerHTML = ''
    })

  it('lets the operator choose a model zip to upload', async () => {
    setLocale('en')
    installFakeFetch({ 'GET /api/avatars': () => ({ body: page([]) }) })
    vi.stubGlobal('scrollTo', () => undefined)
    await mountPage('/avatars')
    ;(document.querySelector('[data-test="avatar-create"]') as HTMLElement).click()
    await new Promise((r) => setTimeout(r, 0))
    const file = document.querySelector('[data-test="avatar-file"] input[type=file]') as HTMLInputElement
    expect(file.accept.split(',')).toContain('.zip')
    expect(document.querySelector('[data-test="avatar-dialog"]')?.textContent).toContain('Live2D model in a .zip')
    document.body.innerHTML = ''
  })
})
