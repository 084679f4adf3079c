import { describe, expect, it } from 'vitest'
import { DEFAULT_SCENE, boxProblem, musicText, placeBox, sceneDraft, scenePayload, sceneProblems } from '@/lib/scene'
import { duration, fileSize, kindOfFile, nameOfFile } from '@/lib/media'

describe('a room\'s scene in the form', () => {
  it('a room without a scene gets the API\'s defaults, sent back unchanged', () => {
    expect(scenePayload(sceneDraft(undefined))).toEqual(DEFAULT_SCENE)
  })

  it('leaves out a logo switched off and a background with no file, and says why before a save', () => {
    const d = sceneDraft({ logo: { media: 3, box: { x: 0.03, y: 0.03, w: 0.2, h: 0.08 } } })
    d.logo.on = false
    d.background = { type: 'video', media: null }
    expect(scenePayload(d)).toMatchObject({ logo: null, background: { type: 'blur' } })
    expect(Object.keys(sceneProblems(d))).toEqual(['settings.scene.background.media'])
  })

  it('refuses boxes outside the picture or too small, at their field', () => {
    expect(boxProblem({ x: 0.5, y: 0, w: 0.6, h: 0.1 })).not.toBeNull()
    expect(boxProblem({ x: 0, y: 0, w: 0.01, h: 0.1 })).not.toBeNull()
    expect(boxProblem({ x: 0.98, y: 0.98, w: 0.02, h: 0.02 })).toBeNull()
    const d = sceneDraft()
    d.caption_box = { x: 0.5, y: 0.9, w: 0.5, h: 0.2 }
    expect(Object.keys(sceneProblems(d))).toEqual(['settings.scene.caption_box'])
  })

  it('moves a box to a corner keeping its size', () => {
    expect(placeBox({ x: 0.1, y: 0.1, w: 0.2, h: 0.1 }, 'bottom-right')).toEqual({ x: 0.77, y: 0.87, w: 0.2, h: 0.1 })
  })
})

describe('the heartbeat\'s music in words', () => {
  it('names the file playing, the playlist and the ducking; a stopped playlist says so', () => {
    expect(musicText(null)).toBeNull()
    expect(musicText({ track: '/var/media/7.mp3', tracks: 3, playing: true, ducked: false, errors: 0 })).toBe('7.mp3 · 共 3 首')
    expect(musicText({ track: null, tracks: 1, playing: false, errors: 2 })).toBe('已停止：没有可播放的曲目 · 共 1 首 · 2 次播放失败')
  })
})

describe('media files in words', () => {
  it('sizes, durations, kinds and names', () => {
    expect(fileSize(1536000)).toBe('1.5 MB')
    expect(fileSize(null)).toBe('—')
    expect(duration(65.4)).toBe('1:05')
    expect(duration(3725)).toBe('1:02:05')
    expect(kindOfFile(new File([], 'a.pdf', { type: 'application/pdf' }))).toBeNull()
    expect(kindOfFile(new File([], 'a.webm', { type: 'video/webm' }))).toBe('video')
    expect(nameOfFile(new File([], 'spring.loop.mp3'))).toBe('spring.loop')
  })
})
