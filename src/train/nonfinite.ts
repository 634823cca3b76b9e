/**
 * What a non-finite training loss does to a run. In fp32 and bf16 the first one stops the run with
 * a message naming the step and the fix. Under fp16's loss scaler it is a skipped step, as under
 * torch.cuda.amp.GradScaler: its gradients come out non-finite, the scaler skips the optimizer step
 * and halves the scale. A smaller scale cures overflowing gradients, not an overflowing forward
 * pass, so `maxInARow` non-finite losses in a row stop the run too.
 */
export class NonFiniteLosses {
  /** Non-finite losses so far (skipped steps under loss scaling). */
  count = 0;
  #inARow = 0;

  constructor(readonly scaling: boolean, readonly maxInARow = 25) {}

  /**
   * Whether the step's loss counts in the epoch's metrics: true when finite; false for a non-finite
   * one under loss scaling (the step goes on, and the scaler skips it). Throws otherwise.
   * `where` names the step, e.g. "epoch 3, step 5 (method joint, lr 0.001)".
   */
  check(value: number, where: string): boolean {
    if (Number.isFinite(value)) {
      this.#inARow = 0;
      return true;
    }
    if (!this.scaling) throw new Error(`loss is ${value} at ${where}; lower --lr, or check the data with \`mmgap data verify\``);
    this.count++;
    if (++this.#inARow >= this.maxInARow) {
      throw new Error(`loss is ${value} at ${where}: ${this.maxInARow} non-finite losses in a row under fp16 loss scaling ` +
        '(each step skipped): the forward pass overflows float16, which a smaller loss scale does not cure; use --precision bf16, or lower --lr');
    }
    return false;
  }
}
