import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { nextTick } from 'vue'
import SegmentEditor from '@/components/SegmentEditor.vue'
import type { Segment } from '@/api/types'
import { estimateSegments, estimateText, formatDuration } from '@/lib/scriptEstimate'

function mountEditor(segments: Segment[], loop = 1) {
  const wrapper = mount(SegmentEditor, {
    props: {
      modelValue: segments,
      loop,
      'onUpdate:modelValue': (v: Segment[]) => wrapper.setProps({ modelValue: v }),
    },
    attachTo: document.body,
  })
  return wrapper
}

const last = (w: ReturnType<typeof mountEditor>) => w.props('modelValue') as Segment[]
const kinds = (w: ReturnType<typeof mountEditor>) =>
  w.findAll('[data-test^="segment-"][data-kind]').map((el) => el.attributes('data-kind'))

describe('the duration estimate', () => {
  it('counts 0.22 s per CJK character and 0.38 s per English word', () => {
    expect(estimateText('大家好').seconds).toBeCloseTo(0.66)
    expect(estimateText('Hello everyone, welcome!').seconds).toBeCloseTo(3 * 0.38)
    const mixed = estimateText('欢迎 to the 直播间')
    expect(mixed.cjk).toBe(5)
    expect(mixed.words).toBe(2)
    expect(mixed.seconds).toBeCloseTo(5 * 0.22 + 2 * 0.38)
  })

  it('adds the pauses, counts characters as the server does, and leaves actions out', () => {
    const e = estimateSegments([{ say: ' 大家好 ' }, { pause: 1500 }, { action: 'nod' }, { say: 'Hello world' }])
    expect(e.chars).toBe(3 + 11)
    expect(e.seconds).toBeCloseTo(0.66 + 1.5 + 0.76)
    expect(e.actions).toBe(1)
    expect(formatDuration(75.4)).toBe('1:15')
    expect(formatDuration(3725)).toBe('1:02:05')
  })
})

describe('SegmentEditor', () => {
  it('adds say, pause and action segments and reports them through v-model', async () => {
    const w = mountEditor([])
    await w.get('[data-test="segment-add-say"]').trigger('click')
    await w.get('[data-test="segment-add-pause"]').trigger('click')
    await w.get('[data-test="segment-add-action"]').trigger('click')
    expect(kinds(w)).toEqual(['say', 'pause', 'action'])
    await w.get('[data-test="segment-text-0"]').setValue('大家好，欢迎来到直播间')
    expect(last(w)).toEqual([{ say: '大家好，欢迎来到直播间' }, { pause: 800 }, { action: '' }])
  })

  it('shows the character count and the estimated duration, per pass and for all loops', async () => {
    const text = '大'.repeat(100) // 22 s
    const w = mountEditor([{ say: text }, { pause: 8000 }], 3)
    expect(w.get('[data-test="script-chars"]').text()).toBe('100')
    expect(w.get('[data-test="script-duration"]').text()).toBe('0:30')
    expect(w.get('[data-test="script-total"]').text()).toBe('1:30')
    await w.get('[data-test="segment-text-0"]').setValue('Hello there')
    expect(w.get('[data-test="script-chars"]').text()).toBe('11')
    expect(w.get('[data-test="script-duration"]').text()).toBe('0:09') // 0.76 + 8
  })

  it('says "forever" for a script that loops for ever', () => {
    const w = mountEditor([{ say: 'hi' }], 0)
    expect(w.get('[data-test="script-total"]').text()).toBe('无限循环')
  })

  it('moves segments up and down, and removes them', async () => {
    const w = mountEditor([{ say: 'one' }, { pause: 500 }, { action: 'nod' }])
    await w.get('[data-test="segment-down-0"]').trigger('click')
    expect(last(w)).toEqual([{ pause: 500 }, { say: 'one' }, { action: 'nod' }])
    await w.get('[data-test="segment-up-2"]').trigger('click')
    expect(last(w)).toEqual([{ pause: 500 }, { action: 'nod' }, { say: 'one' }])
    await w.get('[data-test="segment-remove-0"]').trigger('click')
    expect(last(w)).toEqual([{ action: 'nod' }, { say: 'one' }])
    expect(w.get('[data-test="segment-up-0"]').attributes('disabled')).toBeDefined()
  })

  it('reorders by drag and drop of a row onto another row', async () => {
    const w = mountEditor([{ say: 'first' }, { say: 'second' }, { say: 'third' }])
    await w.get('[data-test="segment-handle-0"]').trigger('dragstart')
    await w.get('[data-test="segment-2"]').trigger('dragover')
    expect(w.get('[data-test="segment-2"]').classes()).toContain('over')
    await w.get('[data-test="segment-2"]').trigger('drop')
    await nextTick()
    expect(last(w)).toEqual([{ say: 'second' }, { say: 'third' }, { say: 'first' }])
    expect(w.get('[data-test="segment-text-2"]').element).toHaveProperty('value', 'first')
  })

  it('shows a server message at the segment it is about', () => {
    const w = mount(SegmentEditor, {
      props: { modelValue: [{ say: 'ok' }, { say: 'bad' }], errors: { 'segments.1.say': 'say needs non-empty text' } },
    })
    expect(w.get('[data-test="segment-1"]').text()).toContain('say needs non-empty text')
    expect(w.get('[data-test="segment-0"]').text()).not.toContain('say needs')
  })
})
