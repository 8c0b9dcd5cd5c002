// What a training backend computes for one batch, whichever runtime does it: the loss, the logits and
// the gradient of every trainable parameter, plus the new BatchNormalization running statistics.
import type { BatchNormMode } from './trainingGraph';

/** What a backend is built for. */
export interface BackendSpec {
  /** Images per step (the step graph has static shapes). */
  readonly batch: number;
  /** Initializer names that are trained; every other weight is frozen. */
  readonly trainable: ReadonlySet<string>;
  readonly batchNorm: BatchNormMode;
  /** Scalar tensors of the graph added to the loss with these weights (e.g. HALOC's feature-map term). */
  readonly auxiliaryLosses?: ReadonlyMap<string, number>;
}

/** The inputs of one step. */
export interface StepInputs {
  /** [batch, ...input dims] in the model's layout. */
  readonly images: Float32Array;
  /** One-hot (or smoothed) labels [batch, classes]; all zeros with labelWeight 0 when there are none. */
  readonly hardTargets: Float32Array;
  /** The teacher's softmax(logits / temperature) [batch, classes]; zeros when not distilling. */
  readonly softTargets: Float32Array;
  /** Weight of the distillation term (alpha); the cross-entropy to hardTargets has 1 - alpha. */
  readonly distillWeight: number;
  readonly temperature: number;
  /** Current values of the trainable parameters. */
  readonly params: ReadonlyMap<string, Float32Array>;
  /** Current BatchNormalization running statistics (mean and variance inputs). */
  readonly running: ReadonlyMap<string, Float32Array>;
}

/** The outputs of one step. */
export interface StepOutputs {
  /** Mean cross-entropy to hardTargets. */
  readonly crossEntropy: number;
  /** Mean temperature^2 * cross-entropy of softmax(logits / T) to softTargets (add the targets' entropy for the KL divergence). */
  readonly distillCrossEntropy: number;
  /** [batch, classes]. */
  readonly logits: Float32Array;
  /** d loss / d parameter, loss = (1 - alpha) * crossEntropy + alpha * KL + sum of weighted auxiliary losses. */
  readonly grads: ReadonlyMap<string, Float32Array>;
  /** New running statistics (batch-statistics mode), by input name. */
  readonly running: ReadonlyMap<string, Float32Array>;
  /** The value of each auxiliary loss tensor (unweighted). */
  readonly auxiliary: ReadonlyMap<string, number>;
}

/** A runtime that computes training steps for one model and spec. */
export interface TrainingBackend {
  /** Shown to the user: e.g. "onnxruntime-node graphs (2 threads)". */
  readonly description: string;
  /** The trainable parameters that receive a gradient (spec.trainable minus those off the path to the logits). */
  readonly parameters: readonly string[];
  /** Number of classes (logits per image). */
  readonly classes: number;
  /** Runs one forward and backward pass. */
  step(inputs: StepInputs): Promise<StepOutputs>;
  /** Frees the runtime's resources. */
  dispose(): Promise<void>;
}
