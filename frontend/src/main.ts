import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createAppRouter } from './router'
import { useAuthStore } from './stores/auth'
import { reportUnexpected } from './lib/unexpected'
import { setLocale, locale } from './i18n'
import './styles.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const router = createAppRouter()
app.use(router)

const auth = useAuthStore()
auth.onExpired(() => {
  const here = router.currentRoute.value
  if (here.name !== 'login') router.push({ name: 'login', query: { next: here.fullPath, expired: '1' } })
})

app.config.errorHandler = (err) => reportUnexpected(err)
window.addEventListener('unhandledrejection', (e) => reportUnexpected(e.reason))
setLocale(locale.value)

app.mount('#app')
