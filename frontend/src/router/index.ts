/**
 * Pages, each loaded on first visit (lazy chunks), in history mode: the server answers
 * index.html for any path outside /api. Signed-out users are sent to /login; admin-only pages
 * send others to the overview.
 */
import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import { useAuthStore } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    admin?: boolean
    title?: import('@/i18n').MessageKey
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/pages/LoginPage.vue'), meta: { public: true, title: 'login.title' } },
  {
    path: '/',
    component: () => import('@/layouts/MainLayout.vue'),
    children: [
      { path: '', name: 'overview', component: () => import('@/pages/OverviewPage.vue'), meta: { title: 'nav.overview' } },
      { path: 'rooms', name: 'rooms', component: () => import('@/pages/RoomsPage.vue'), meta: { title: 'nav.rooms' } },
      { path: 'avatars', name: 'avatars', component: () => import('@/pages/AvatarsPage.vue'), meta: { title: 'nav.avatars' } },
      { path: 'voices', name: 'voices', component: () => import('@/pages/VoicesPage.vue'), meta: { title: 'nav.voices' } },
      { path: 'products', name: 'products', component: () => import('@/pages/ProductsPage.vue'), meta: { title: 'nav.products' } },
      { path: 'media', name: 'media', component: () => import('@/pages/MediaPage.vue'), meta: { title: 'nav.media' } },
      { path: 'scripts', name: 'scripts', component: () => import('@/pages/ScriptsPage.vue'), meta: { title: 'nav.scripts' } },
      { path: 'scripts/new', name: 'script-new', component: () => import('@/pages/ScriptEditPage.vue'), meta: { title: 'scripts.new' } },
      { path: 'scripts/:id(\\d+)', name: 'script-edit', component: () => import('@/pages/ScriptEditPage.vue'), meta: { title: 'scripts.edit' } },
      { path: 'schedules', name: 'schedules', component: () => import('@/pages/SchedulesPage.vue'), meta: { title: 'nav.schedules' } },
      { path: 'sessions', name: 'sessions', component: () => import('@/pages/SessionsPage.vue'), meta: { title: 'nav.sessions' } },
      { path: 'sessions/:id(\\d+)', name: 'console', component: () => import('@/pages/LiveConsolePage.vue'), meta: { title: 'console.title' } },
      { path: 'users', name: 'users', component: () => import('@/pages/UsersPage.vue'), meta: { admin: true, title: 'nav.users' } },
      { path: 'alerts', name: 'alerts', component: () => import('@/pages/AlertsPage.vue'), meta: { admin: true, title: 'nav.alerts' } },
      { path: 'audit', name: 'audit', component: () => import('@/pages/AuditPage.vue'), meta: { admin: true, title: 'nav.audit' } },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue'), meta: { title: 'notFound.title' } },
    ],
  },
]

export function createAppRouter(): Router {
  const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes })

  router.beforeEach(async (to) => {
    const auth = useAuthStore()
    if (to.meta.public) {
      if (to.name === 'login' && auth.signedIn && auth.user) return { name: 'overview' }
      return true
    }
    if (!auth.signedIn) return { name: 'login', query: { next: to.fullPath } }
    if (!auth.user) {
      try {
        if (!(await auth.restore())) return { name: 'login', query: { next: to.fullPath } }
      } catch {
        // the server is unreachable: let the page load and say so when it calls the API
        return true
      }
    }
    if (to.meta.admin && !auth.isAdmin) return { name: 'overview', query: { denied: to.name as string } }
    return true
  })

  router.onError((err, to) => {
    // a lazy chunk that fails to load after a new deploy: a full load of the target fixes it
    if (/Failed to fetch dynamically imported module|Importing a module script failed/.test(String(err))) {
      window.location.assign(to.fullPath)
    }
  })

  return router
}
