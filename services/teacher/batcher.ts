// Micro-batching: concurrent callers each submit one item; items queued in the same tick are processed in one
// call (one batched forward pass for the teacher), and each caller gets its own result back.
export class MicroBatcher<In, Out> {
  private queue: Array<{ item: In; resolve: (o: Out) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(private readonly process: (items: In[]) => Out[], private readonly maxBatch = 64) {}

  submit(item: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const out = this.process(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (e) {
        // One bad item must not fail its neighbours: retry them one by one.
        for (const b of batch) {
          try { b.resolve(this.process([b.item])[0]!); } catch (e1) { b.reject(e1); }
        }
        void e;
      }
    }
  }
}
