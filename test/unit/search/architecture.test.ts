// The architecture-parameter math of the HALOC search: Gumbel-softmax weights, their gradient with
// respect to alpha (against central differences), the expected-latency term and its gradient, the
// temperature schedule.
import * as assert from 'node:assert/strict';
import { annealedTemperature, argmax, expectedCost, gumbelSoftmax, gumbelSoftmaxBackward, softmax } from '../../../engine/search/architecture';
import { seededUniform } from '../../../engine/random';

describe('search: architecture parameters', () => {
  it('Gumbel-softmax weights sum to 1 and follow alpha on average', () => {
    const random = seededUniform(3);
    const alpha = [0, 1, 2];
    const mean = [0, 0, 0];
    for (let s = 0; s < 4000; s++) {
      const { weights } = gumbelSoftmax(alpha, 1, random);
      assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      weights.forEach((w, i) => (mean[i]! += w / 4000));
    }
    assert.ok(mean[2]! > mean[1]! && mean[1]! > mean[0]!, `mean weights ${mean.join(', ')}`);
    // a low temperature gives nearly one-hot samples
    const { weights } = gumbelSoftmax(alpha, 0.01, seededUniform(5));
    assert.ok(Math.max(...weights) > 0.99);
  });

  it('the gradient through softmax((alpha + g) / tau) matches central differences', () => {
    const alpha = [0.3, -0.2, 0.9, 0.1];
    const noise = [0.5, -0.1, 0.2, 0.7];
    const tau = 0.7;
    const dm = [1.5, -2, 0.3, 0.8]; // loss = <dm, m>
    const weightsAt = (a: number[]): Float64Array => softmax(a.map((v, i) => v + noise[i]!), tau);
    const loss = (a: number[]): number => weightsAt(a).reduce((s, m, i) => s + m * dm[i]!, 0);
    const analytic = gumbelSoftmaxBackward(weightsAt(alpha), dm, tau);
    alpha.forEach((_, i) => {
      const h = 1e-5;
      const up = alpha.map((v, j) => (j === i ? v + h : v));
      const down = alpha.map((v, j) => (j === i ? v - h : v));
      const numeric = (loss(up) - loss(down)) / (2 * h);
      assert.ok(Math.abs(numeric - analytic[i]!) < 1e-7, `alpha ${i}: ${numeric} vs ${analytic[i]}`);
    });
  });

  it('the expected cost and its gradient match the definition and central differences', () => {
    const alpha = [0.1, 0.4, -0.3];
    const cost = [3, 2, 1];
    const { value, gradient } = expectedCost(alpha, cost);
    const p = softmax(alpha);
    assert.ok(Math.abs(value - (p[0]! * 3 + p[1]! * 2 + p[2]!)) < 1e-12);
    alpha.forEach((_, i) => {
      const h = 1e-6;
      const at = (d: number): number => expectedCost(alpha.map((v, j) => (j === i ? v + d : v)), cost).value;
      assert.ok(Math.abs((at(h) - at(-h)) / (2 * h) - gradient[i]!) < 1e-8);
    });
  });

  it('anneals tau geometrically from 5 to 0.1 and picks the argmax', () => {
    assert.equal(annealedTemperature(0, 11), 5);
    assert.ok(Math.abs(annealedTemperature(10, 11) - 0.1) < 1e-12);
    assert.ok(Math.abs(annealedTemperature(5, 11) - Math.sqrt(0.5)) < 1e-12);
    assert.equal(argmax([0.1, 0.7, 0.2]), 1);
  });
});
