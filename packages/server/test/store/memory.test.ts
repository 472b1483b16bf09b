import { MemoryStore } from '../../src/store/memory.js'
import { describeStoreConformance } from './conformance.js'

describeStoreConformance('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, cleanup: () => store.close() }
})
