// LoRA adapters registered for chat: routes list and register them through here, never the store.
export { insertAdapter, listAdapters } from '../store/adapters.ts';
