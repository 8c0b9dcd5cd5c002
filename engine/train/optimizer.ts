// Parameter updates: SGD with (Nesterov) momentum and AdamW, with decoupled weight decay applied to
// weights of rank >= 2 only (biases and normalisation parameters are not decayed). State is plain
// Float32Arrays so that checkpoints can store and restore it exactly.
import { HalocError } from '../errors';

/** SGD with momentum (PyTorch's form: v = mu v + g; p -= lr v, or lr (g + mu v) with Nesterov). */
export interface SgdSettings {
  readonly kind: 'sgd';
  readonly learningRate: number;
  readonly momentum: number;
  readonly nesterov?: boolean;
  readonly weightDecay: number;
}

/** AdamW (Loshchilov & Hutter): Adam moments plus decoupled weight decay lr * wd * p. */
export interface AdamWSettings {
  readonly kind: 'adamw';
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/** Settings of either optimizer. */
export type OptimizerSettings = SgdSettings | AdamWSettings;

/** A parameter's shape, to decide whether it is decayed. */
export type ParameterRanks = ReadonlyMap<string, number>;

/** Updates parameters in place from their gradients. */
export class Optimizer {
  /** Per-parameter state arrays: momentum (SGD) or first and second moments (AdamW). */
  readonly state = new Map<string, Float32Array[]>();
  /** Updates applied so far (AdamW's bias correction). */
  steps = 0;

  constructor(readonly settings: OptimizerSettings, private readonly ranks: ParameterRanks) {
    const s = settings;
    const bad = !(s.learningRate > 0) || !(s.weightDecay >= 0) || (s.kind === 'sgd' ? !(s.momentum >= 0 && s.momentum < 1) : !(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1 && s.epsilon > 0));
    if (bad) throw new HalocError('BAD_ARGUMENT', `invalid ${s.kind} settings: ${JSON.stringify(s)}`);
  }

  /** One update of every parameter with a gradient, at learning rate `lr`. */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    this.steps++;
    for (const [name, grad] of grads) {
      const p = params.get(name);
      if (!p) continue;
      const decay = (this.ranks.get(name) ?? 1) >= 2 ? this.settings.weightDecay : 0;
      if (this.settings.kind === 'sgd') this.sgd(name, p, grad, lr, decay, this.settings);
      else this.adamw(name, p, grad, lr, decay, this.settings);
    }
  }

  private buffers(name: string, count: number, length: number): Float32Array[] {
    let s = this.state.get(name);
    if (!s) {
      s = Array.from({ length: count }, () => new Float32Array(length));
      this.state.set(name, s);
    }
    return s;
  }

  private sgd(name: string, p: Float32Array, g: Float32Array, lr: number, decay: number, s: SgdSettings): void {
    const [v] = this.buffers(name, 1, p.length) as [Float32Array];
    const mu = s.momentum;
    const nesterov = s.nesterov === true;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! + decay * p[i]!;
      const vi = mu * v[i]! + gi;
      v[i] = vi;
      p[i]! -= lr * (nesterov ? gi + mu * vi : vi);
    }
  }

  private adamw(name: string, p: Float32Array, g: Float32Array, lr: number, decay: number, s: AdamWSettings): void {
    const [m, v] = this.buffers(name, 2, p.length) as [Float32Array, Float32Array];
    const { beta1, beta2, epsilon } = s;
    const c1 = 1 - beta1 ** this.steps;
    const c2 = 1 - beta2 ** this.steps;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i]! -= lr * (mi / c1 / (Math.sqrt(vi / c2) + epsilon) + decay * p[i]!);
    }
  }
}
