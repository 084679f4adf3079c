/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Element Plus components are imported on demand (with their CSS) where a template uses them.
export default defineConfig({
  plugins: [
    vue(),
    Components({
      // unit tests render components without their CSS
      resolvers: [ElementPlusResolver({ importStyle: process.env.VITEST ? false : 'css' })],
      dts: 'components.d.ts',
    }),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: {
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false } },
  },
  build: {
    outDir: 'dist',
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      output: {
        // ECharts (only the live console uses it) in a chunk of its own, cached across deploys
        manualChunks: (id) => (/node_modules\/(echarts|zrender)\//.test(id) ? 'echarts' : undefined),
      },
    },
  },
  test: {
    environment: 'happy-dom',
    // every core: the form's specs mount Element Plus at length, and vitest leaves one core idle by default
    maxWorkers: '100%',
    include: ['tests/**/*.spec.ts'],
    setupFiles: ['tests/setup.ts'],
    server: { deps: { inline: ['element-plus'] } },
  },
})
