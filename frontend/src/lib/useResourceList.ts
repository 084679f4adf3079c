/**
 * What every list page does with its collection: load it when the page opens, a dialog to create
 * or edit one item (its field errors, its busy save button), and delete after asking. Every
 * failure is said once, in words: under the field it is about, or else in a toast.
 *
 * The collection is a resource store (the whole list, see stores/resources) or `usePagedList`
 * (one page of the list at a time, reloaded after a change).
 */
import { onMounted, reactive, ref, shallowRef } from 'vue'
import type { Page } from '@/api/types'
import { confirmDanger, fieldErrors, showError, showSuccess } from '@/lib/feedback'
import { t } from '@/i18n'

/** What a list page needs of its collection; `In` is what the dialog sends. */
export interface Collection<T extends { id: number }, In> {
  readonly items: T[]
  readonly loading: boolean
  /** the list from the server (`force`: even when it is loaded already) */
  load(force?: boolean): Promise<unknown>
  create(body: In): Promise<T>
  update(id: number, body: In): Promise<T>
  remove(id: number): Promise<unknown>
}

export interface ResourceListOptions<T, In> {
  /** put `item` in the form, or an empty form for a new one (null) */
  fill?: (item: T | null) => void
  /** the form's mistakes by field, before anything is sent; empty when it may be sent */
  validate?: () => Record<string, string>
  /** what to send, or null when the form refuses (it says why at its fields) */
  body: () => In | null
  /** send it; by default create, or update of the item being edited */
  submit?: (body: In, editing: T | null) => Promise<unknown>
  /** the field under which a conflict (409) is said */
  conflictField?: string
  /** the form's errors after a failed save; by default the API's field errors */
  errorsOf?: (e: unknown) => Record<string, string>
  /** the toast after a save (default: "saved") */
  savedText?: () => string
  /** the question asked before deleting `item` */
  confirmDelete: (item: T) => string
  /** what loads when the page opens (default: the collection, even when loaded already) */
  load?: () => Promise<unknown>
}

export function useResourceList<T extends { id: number }, In>(
  collection: Collection<T, In>, options: ResourceListOptions<T, In>,
) {
  const dialog = ref(false)
  const editing = shallowRef<T | null>(null)
  const errors = ref<Record<string, string>>({})
  /** the last save's failure (null after a successful one, or when the dialog opens) */
  const failure = shallowRef<unknown>(null)
  const saving = ref(false)

  /** load again; a failure is shown, not thrown */
  function reload(): Promise<void> {
    return (options.load ?? (() => collection.load(true)))().then(() => undefined, showError)
  }
  onMounted(reload)

  function open(item: T | null): void {
    editing.value = item
    errors.value = {}
    failure.value = null
    options.fill?.(item)
    dialog.value = true
  }

  async function save(): Promise<void> {
    if (options.validate) {
      errors.value = options.validate()
      if (Object.keys(errors.value).length) return
    }
    const body = options.body()
    if (body === null) return
    errors.value = {}
    failure.value = null
    saving.value = true
    try {
      const item = editing.value
      if (options.submit) await options.submit(body, item)
      else if (item) await collection.update(item.id, body)
      else await collection.create(body)
      showSuccess(options.savedText?.() ?? t('common.saved'))
      dialog.value = false
    } catch (e) {
      failure.value = e
      // said once: under the fields it is about, else in a toast
      errors.value = options.errorsOf?.(e) ?? fieldErrors(e, options.conflictField)
      if (!Object.keys(errors.value).length) showError(e)
    } finally {
      saving.value = false
    }
  }

  async function remove(item: T): Promise<void> {
    if (!(await confirmDanger(options.confirmDelete(item)))) return
    try {
      await collection.remove(item.id)
      dialog.value = false
      showSuccess(t('common.deleted'))
    } catch (e) {
      showError(e)
    }
  }

  return {
    dialog, editing, errors, failure, saving, reload, save, remove,
    openCreate: () => open(null),
    openEdit: (item: T) => open(item),
  }
}

/** The calls of one collection of the API that a paged list uses. */
export interface PagedApi<T, In, Patch> {
  list: (args: { page: number; per_page: number } & Record<string, string | number | undefined>) => Promise<Page<T>>
  create: (body: In) => Promise<T>
  update: (id: number, body: Patch) => Promise<T>
  remove: (id: number) => Promise<unknown>
}

/**
 * One page of a collection at a time (`page` is 1-based; `load` fetches it, with what `filter`
 * gives, e.g. a search). A change made here replaces its row in place, or (create, remove) reloads
 * the page; a failed reload is shown.
 */
export function usePagedList<T extends { id: number }, In, Patch = Partial<In>>(
  api: PagedApi<T, In, Patch>, perPage = 20, filter: () => Record<string, string | number | undefined> = () => ({}),
) {
  const list = reactive({
    items: [] as T[],
    total: 0,
    page: 1,
    perPage,
    loading: false,
    load,
    create,
    update,
    remove,
  })

  let asked = 0 // the latest load wins (a search typed fast)
  async function load(): Promise<void> {
    const mine = ++asked
    list.loading = true
    try {
      const res = await api.list({ ...filter(), page: list.page, per_page: list.perPage })
      if (mine !== asked) return
      list.items = res.items as typeof list.items
      list.total = res.total
    } finally {
      if (mine === asked) list.loading = false
    }
  }

  async function create(body: In): Promise<T> {
    const item = await api.create(body)
    await load().catch(showError)
    return item
  }

  async function update(id: number, body: Patch): Promise<T> {
    const item = await api.update(id, body)
    const i = list.items.findIndex((x) => x.id === id)
    if (i >= 0) list.items.splice(i, 1, item as (typeof list.items)[number])
    return item
  }

  async function remove(id: number): Promise<void> {
    await api.remove(id)
    await load().catch(showError)
  }

  return list
}
